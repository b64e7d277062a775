/** Opening files without following links, writing through a temporary file, and telling if a file changed. */
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, openSync, type Stats } from 'node:fs';
import { CofferError } from '../../../crypto/errors.js';
import { removeQuietly } from './durable.js';
import type { VerifiedDir } from './dir.js';
import { tempNameFor, tempPathFor } from './names.js';
import type { TempJournal } from './temp-journal.js';

// Windows has no O_NOFOLLOW; there lstat checks and reparse-point semantics apply instead.
export const NOFOLLOW = (constants as { O_NOFOLLOW?: number }).O_NOFOLLOW ?? 0;
/**
 * Every open of a name that may have been swapped for a FIFO (between the walk and the open, or before a
 * removal) is non-blocking: opening a FIFO for reading otherwise waits for a writer forever, and the whole
 * run (a worker thread, the CLI) with it. On a regular file it changes nothing (Linux and macOS ignore it
 * for reads and writes of regular files); the fstat that follows refuses anything else.
 */
export const NONBLOCK = (constants as { O_NONBLOCK?: number }).O_NONBLOCK ?? 0;

/** O_RDONLY, never following a link, never waiting on a FIFO. */
export const READ_NOFOLLOW = constants.O_RDONLY | NOFOLLOW | NONBLOCK;

export function sameFile(a: Stats, b: Stats): boolean {
  // ctime too: a same-size rewrite that restores the mtime (touch -r, rsync -t) still moves the ctime.
  return (
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs
  );
}

export function openRegularForRead(path: string): { fd: number; stats: Stats } {
  const fd = openSync(path, READ_NOFOLLOW);
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw new CofferError(
      'NOT_A_FILE',
      `${path}: not a regular file`,
      'Only regular files can be protected.',
    );
  }
  return { fd, stats };
}

/** Opens `name` in a verified directory, never following a link, and checks it is a regular file. */
export function openRegularIn(dir: VerifiedDir, name: string): { fd: number; stats: Stats } {
  const fd = openSync(dir.at(name), READ_NOFOLLOW);
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw new CofferError(
      'NOT_A_FILE',
      `${dir.display(name)}: not a regular file`,
      'Only regular files can be protected.',
    );
  }
  return { fd, stats };
}

/**
 * Creates a temporary file (mode 0600 while it is written) beside `targetName` in `dir`, records it in
 * the temp journal, and lets `fill` write it; returns the temp's name and what `fill` returned. The mode
 * given is applied before it is closed (null: the caller applies one after the rename).
 */
export function writeTempIn<T>(
  dir: VerifiedDir,
  targetName: string,
  mode: number | null,
  journal: TempJournal | null,
  fill: (fd: number, tempPath: string) => T,
  { durable, keepOpen = false }: { durable: boolean; keepOpen?: boolean } = { durable: true },
): { result: T; temp: string; fd: number | null } {
  const temp = tempNameFor(targetName);
  const at = dir.at(temp);
  journal?.intend(`${dir.real}/${temp}`);
  const fd = openSync(at, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
  try {
    journal?.record(`${dir.real}/${temp}`, fd);
    const result = fill(fd, at);
    if (mode !== null) fchmodSync(fd, mode);
    if (durable) fsyncSync(fd);
    // keepOpen: the caller closes it (decrypt-in-place.ts applies the mode through it after the rename).
    if (keepOpen) return { result, temp, fd };
    closeSync(fd);
    return { result, temp, fd: null };
  } catch (error) {
    closeSync(fd);
    removeQuietly(at);
    throw error;
  }
}

/** Writes `target` through a temporary file that `fill` writes into; returns what `fill` returned. */
export function writeThroughTemp<T>(
  target: string,
  mode: number | null,
  fill: (fd: number, tempPath: string) => T,
  { durable }: { durable: boolean } = { durable: true },
): { result: T; temp: string } {
  const temp = tempPathFor(target);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
  try {
    const result = fill(fd, temp);
    if (mode !== null) fchmodSync(fd, mode);
    if (durable) fsyncSync(fd);
    closeSync(fd);
    return { result, temp };
  } catch (error) {
    closeSync(fd);
    removeQuietly(temp);
    throw error;
  }
}
