/**
 * Decrypting to a plaintext file and authenticating a whole file. The plaintext goes through a temporary
 * file renamed into place only after the whole stream authenticated (FORMAT.md §5.3 rule 5).
 */
import { closeSync, fchmodSync, futimesSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { decryptFd, type Progress } from '../../../crypto/file.js';
import type { Identity } from '../../../crypto/keys.js';
import type { FileMetadata } from '../../../crypto/metadata.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { toCofferError } from '../fs-errors.js';
import { fsyncDir, removeQuietly, renameNoClobber } from './durable.js';
import { PROTECTED_SUFFIX } from './names.js';
import { openRegularForRead, writeThroughTemp } from './open.js';
import type { DecryptOptions } from './types.js';

/**
 * Decrypts `path` to the name stored in its metadata (or `output`). Never replaces an existing file unless
 * `force`.
 */
export function decryptTo(
  sodium: SodiumBackend,
  path: string,
  options: DecryptOptions,
): { target: string; metadata: FileMetadata } {
  try {
    const source = openRegularForRead(path);
    let metadata: FileMetadata;
    let temp: string;
    const provisional =
      options.output ?? join(options.outDir ?? dirname(path), basename(path, PROTECTED_SUFFIX));
    try {
      ({ result: metadata, temp } = writeThroughTemp(provisional, null, (fd) => {
        const meta = decryptFd(sodium, source.fd, fd, options.identities, options);
        fchmodSync(fd, meta.mode & 0o777); // never restore setuid/setgid/sticky bits
        futimesSync(fd, new Date(), new Date(meta.mtimeMs));
        return meta;
      }));
    } finally {
      closeSync(source.fd);
    }
    const target = options.output ?? join(options.outDir ?? dirname(path), metadata.name);
    try {
      if (options.force) renameSync(temp, target);
      else renameNoClobber(temp, target);
    } catch (error) {
      removeQuietly(temp);
      throw error;
    }
    fsyncDir(dirname(target));
    if (options.removeSource) {
      unlinkSync(path);
      fsyncDir(dirname(path));
    }
    return { target, metadata };
  } catch (error) {
    throw toCofferError(error, path);
  }
}

/** Authenticates the whole file; returns its metadata. */
export function verifyFile(
  sodium: SodiumBackend,
  path: string,
  identities: readonly Identity[],
  progress: Progress = {},
): FileMetadata {
  try {
    const { fd } = openRegularForRead(path);
    try {
      return decryptFd(sodium, fd, null, identities, progress);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw toCofferError(error, path);
  }
}
