/**
 * `coffer encrypt --replace FILE`: the supported way back after `coffer decrypt FILE.coffer` and an edit.
 * FILE is encrypted to a Coffer temp name beside FILE.coffer (verified by reading it back, as every write),
 * renamed over the old FILE.coffer, and only then is FILE removed, unless it changed meanwhile. A crash
 * leaves the old or the new FILE.coffer plus FILE, never neither; the temp is removed by the next run.
 */
import { lstatSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FileMetadata } from '../crypto/metadata.js';
import type { EncryptInPlaceOptions, SafeFiles } from '../electron/services/safe-file.js';
import { fsyncDir } from '../electron/services/safe-file/durable.js';
import { tempPathFor } from '../electron/services/safe-file/names.js';

export function encryptReplacing(
  safeFiles: SafeFiles,
  path: string,
  target: string,
  options: EncryptInPlaceOptions,
): { target: string; metadata: FileMetadata } {
  const before = lstatSync(path);
  const staged = tempPathFor(target);
  const { metadata, written } = safeFiles.encryptInPlace(path, { ...options, keep: true, output: staged });
  renameSync(staged, target);
  fsyncDir(dirname(target));
  if (options.keep) return { target, metadata };
  // As every removal (issue 10 item 2): not while another process has it open, only if unchanged, and
  // held for the grace period (the command's settle() brings a late write back as a conflict copy).
  if (!written) throw new Error('encryptInPlace did not say which file it wrote');
  // FILE goes only while FILE.coffer is the very file written and read back (a link keeps the inode).
  safeFiles.removeProtectedPlaintext(path, before, { path: target, written }, options.roots);
  return { target, metadata };
}
