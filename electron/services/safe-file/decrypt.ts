/**
 * Decrypting to a plaintext file and authenticating a whole file. The plaintext goes through a temporary
 * file (mode 0600, journaled) renamed into place only after the whole stream authenticated (FORMAT.md
 * §5.3 rule 5); its mode is applied only after the rename, so no readable plaintext temp is ever left.
 */
import {
  closeSync,
  fchmodSync,
  futimesSync,
  lstatSync,
  openSync,
  renameSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { decryptFd, type Progress } from '../../../crypto/file.js';
import type { Identity } from '../../../crypto/keys.js';
import type { FileMetadata } from '../../../crypto/metadata.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError } from '../../../crypto/errors.js';
import { errnoOf, toCofferError } from '../fs-errors.js';
import { DirSet, rootResolver, type VerifiedDir } from './dir.js';
import { removeQuietly, renameNoClobber } from './durable.js';
import { PROTECTED_SUFFIX, tempNameFor } from './names.js';
import { openRegularForRead, openRegularIn, READ_NOFOLLOW, sameFile, writeTempIn } from './open.js';
import type { TempJournal } from './temp-journal.js';
import type { DecryptOptions } from './types.js';
import { assertMayReplace, restoredMode } from '../restore-rules.js';

/**
 * Decrypts `path` to the name stored in its metadata (or `output`). Never replaces an existing file unless
 * `force`.
 */
export function decryptTo(
  sodium: SodiumBackend,
  journal: TempJournal | null,
  path: string,
  options: DecryptOptions,
): { target: string; metadata: FileMetadata } {
  const dirs = new DirSet(rootResolver(options.roots));
  try {
    const src = dirs.get(dirname(path));
    const source = openRegularIn(src, basename(path));
    const outDir = options.output !== undefined ? dirname(options.output) : (options.outDir ?? dirname(path));
    const provisional =
      options.output !== undefined ? basename(options.output) : basename(path, PROTECTED_SUFFIX);
    let metadata: FileMetadata;
    let temp: string;
    let tgt: VerifiedDir;
    try {
      tgt = openOutDir(dirs, outDir);
      ({ result: metadata, temp } = writeTempIn(tgt, provisional, null, journal, (fd) => {
        const meta = decryptFd(sodium, source.fd, fd, options.identities, options);
        futimesSync(fd, new Date(), new Date(meta.mtimeMs));
        return meta;
      }));
    } finally {
      closeSync(source.fd);
    }
    const name = options.output !== undefined ? provisional : metadata.name;
    try {
      tgt.recheck();
      if (options.force) {
        // The name may come from the metadata: --force never replaces a .coffer file or an escrow copy.
        assertMayReplace(name);
        renameSync(tgt.at(temp), tgt.at(name));
      } else renameNoClobber(tgt.at(temp), tgt.at(name));
    } catch (error) {
      removeQuietly(tgt.at(temp));
      throw error;
    }
    // The temp stayed 0600; the stored mode applies now that the file has its name.
    const fd = openSync(tgt.at(name), READ_NOFOLLOW);
    try {
      fchmodSync(fd, restoredMode(metadata.mode)); // umask applied; never setuid/setgid/sticky
    } finally {
      closeSync(fd);
    }
    tgt.fsync();
    if (options.removeSource) {
      removeSourceIfSame(src, basename(path), source.stats, journal);
      src.fsync();
    }
    return { target: options.output ?? join(outDir, name), metadata };
  } catch (error) {
    throw toCofferError(error, path);
  } finally {
    dirs.close();
  }
}

/**
 * Removes the `.coffer` just decrypted only if it is still the file that was read: a sync client or a
 * second device that put a newer version there meanwhile (by rename, as they save) would otherwise lose
 * it (R6 review). The name is moved aside first, so what is checked is exactly what is removed; a
 * different file goes back and the plaintext stays beside it (SOURCE_CHANGED; the next run sees two
 * different copies and reports a conflict).
 */
export function removeSourceIfSame(
  src: VerifiedDir,
  name: string,
  read: Stats,
  journal: TempJournal | null,
): void {
  const changed = (): CofferError =>
    new CofferError(
      'SOURCE_CHANGED',
      `${src.display(name)}: replaced while it was being decrypted; both copies were kept`,
      'Compare the two copies and keep the one you want.',
    );
  // By name, without opening it (issue 10 unprotect target: an open, two fstats and a close per file): the
  // name must hold the very file that was read, unchanged, and still that inode once moved aside (the
  // rename moves its ctime, so the inode is what is compared there).
  const now = lstatSync(src.at(name));
  if (!sameFile(now, read)) throw changed();
  const aside = tempNameFor(name);
  journal?.recordIds(`${src.real}/${aside}`, now);
  src.recheck();
  renameSync(src.at(name), src.at(aside));
  const moved = lstatSync(src.at(aside));
  if (moved.dev !== read.dev || moved.ino !== read.ino) {
    renameNoClobber(src.at(aside), src.at(name));
    throw changed();
  }
  unlinkSync(src.at(aside));
  journal?.gone(`${src.real}/${aside}`);
}

/** The output folder, named as such when it is missing (not the input). */
function openOutDir(dirs: DirSet, outDir: string): VerifiedDir {
  try {
    return dirs.get(outDir);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR')
      throw new CofferError(
        'NOT_FOUND',
        `${outDir}: the output folder does not exist`,
        'Create the folder first, or choose another output.',
        { cause: error },
      );
    throw error;
  }
}

/**
 * Authenticates the whole file; returns its metadata. With `written`, the file found at `path` must be
 * that very file (same device and inode): a check that the file just written decrypts must not be
 * answered by another authentic file under the same key put at its name.
 */
export function verifyFile(
  sodium: SodiumBackend,
  path: string,
  identities: readonly Identity[],
  progress: Progress = {},
  written?: { readonly dev: number; readonly ino: number },
): FileMetadata {
  try {
    const { fd, stats } = openRegularForRead(path);
    try {
      if (written && (stats.dev !== written.dev || stats.ino !== written.ino)) {
        throw new CofferError(
          'VERIFY_FAILED',
          `${path}: the file read back is not the file that was written`,
          'Try again; the original was kept.',
        );
      }
      return decryptFd(sodium, fd, null, identities, progress);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw toCofferError(error, path);
  }
}
