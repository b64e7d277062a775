/**
 * `coffer encrypt --replace FILE`: the supported way back after `coffer decrypt FILE.coffer` and an edit.
 * FILE is encrypted to a Coffer temp name beside FILE.coffer (verified by reading it back, as every write),
 * renamed over the old FILE.coffer, and only then is FILE removed, unless it changed meanwhile. A crash
 * leaves the old or the new FILE.coffer plus FILE, never neither; the temp is removed by the next run.
 */
import { lstatSync, renameSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { CofferError } from '../crypto/errors.js';
import type { FileMetadata } from '../crypto/metadata.js';
import type { EncryptInPlaceOptions, SafeFiles } from '../electron/services/safe-file.js';
import { fsyncDir } from '../electron/services/safe-file/durable.js';
import { tempPathFor } from '../electron/services/safe-file/names.js';
import { sameFile } from '../electron/services/safe-file/open.js';

export function encryptReplacing(
  safeFiles: SafeFiles,
  path: string,
  target: string,
  options: EncryptInPlaceOptions,
): { target: string; metadata: FileMetadata } {
  const before = lstatSync(path);
  const staged = tempPathFor(target);
  const { metadata } = safeFiles.encryptInPlace(path, { ...options, keep: true, output: staged });
  renameSync(staged, target);
  fsyncDir(dirname(target));
  if (options.keep) return { target, metadata };
  if (!sameFile(lstatSync(path), before)) {
    throw new CofferError(
      'STILL_CHANGING',
      `${path}: changed while it was being protected; ${target} holds the version read, ${path} is kept`,
      'Run the same command again once the program writing it is done.',
    );
  }
  unlinkSync(path);
  fsyncDir(dirname(path));
  return { target, metadata };
}
