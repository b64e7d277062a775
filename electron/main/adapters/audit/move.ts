/**
 * Moving a finding into a protected folder (the data audit's "Move…"): never replaces a file, never
 * follows a link swapped in, and across disks keeps the original until a verified copy is whole.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CofferError } from '../../../../crypto/errors.js';
import { toCofferError } from '../../../services/fs-errors.js';

/** Moves `source` into `dir` under `name` or a free variant of it (a name taken meanwhile: the next). */
export function moveInto(source: string, dir: string, name: string, expected: fs.Stats): string {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const destination = freeName(dir, name);
    try {
      moveNoClobber(source, destination, expected);
      return destination;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw toCofferError(error, source);
    }
  }
  throw new CofferError('ALREADY_EXISTS', 'Too many files of that name in the folder.', 'Rename the file.');
}

function taken(p: string): boolean {
  try {
    fs.lstatSync(p); // a dangling link takes the name too: never write through it
    return true;
  } catch {
    return false;
  }
}

/** `name`, or `name (2)`… when it or its `.coffer` is taken in `dir` (by anything, a link included). */
export function freeName(dir: string, name: string): string {
  const ext = path.extname(name);
  const stem = ext ? name.slice(0, -ext.length) : name;
  for (let n = 1; n < 1000; n += 1) {
    const candidate = path.join(dir, n === 1 ? name : `${stem} (${n})${ext}`);
    if (!taken(candidate) && !taken(`${candidate}.coffer`)) return candidate;
  }
  throw new CofferError('ALREADY_EXISTS', 'Too many files of that name in the folder.', 'Rename the file.');
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Not every platform opens a folder (Windows): the file itself was synced.
  }
}

const same = (a: fs.Stats, b: fs.Stats): boolean =>
  a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

function sourceChanged(source: string): CofferError {
  return new CofferError(
    'SOURCE_CHANGED',
    `${source} changed while Coffer moved it; it was left where it was.`,
    'Close the app that writes it, run the audit again, then move it.',
  );
}

/**
 * Moves a file without ever replacing one: a hard link then unlink on the same disk (link fails if the
 * name is taken); across disks, an exclusive copy that is fsynced, read back and compared with the source,
 * which must not have changed meanwhile, before the source is unlinked. The original stays until the copy
 * is whole; a failed copy is removed (it is ours: created exclusively, same inode). `expected`: the
 * source as it was checked, so a file swapped in meanwhile is not moved.
 */
export function moveNoClobber(source: string, destination: string, expected?: fs.Stats): void {
  const before = fs.lstatSync(source);
  if (!before.isFile() || (expected && !same(before, expected))) throw sourceChanged(source);
  try {
    fs.linkSync(source, destination);
    // link() names whatever is at `source` now: it must still be the file that was checked.
    if (!same(fs.lstatSync(destination), before)) {
      fs.unlinkSync(destination);
      throw sourceChanged(source);
    }
    fs.unlinkSync(source);
    fsyncDir(path.dirname(destination));
    fsyncDir(path.dirname(source));
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error;
  }
  copyVerified(source, destination, before);
  fs.unlinkSync(source);
  fsyncDir(path.dirname(source));
}

function copyVerified(source: string, destination: string, before: fs.Stats): void {
  // O_NOFOLLOW: a link swapped in for the source is refused, not followed (0 where the platform lacks it).
  const input = fs.openSync(
    source,
    fs.constants.O_RDONLY | (process.platform === 'win32' ? 0 : fs.constants.O_NOFOLLOW),
  );
  let output: number | null = null;
  let ours: fs.Stats | null = null;
  try {
    if (!same(fs.fstatSync(input), before)) throw sourceChanged(source);
    output = fs.openSync(destination, 'wx+', 0o600);
    ours = fs.fstatSync(output);
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    const written = createHash('sha256');
    for (let at = 0; ;) {
      const n = fs.readSync(input, buffer, 0, buffer.length, at);
      if (n === 0) break;
      written.update(buffer.subarray(0, n));
      for (let off = 0; off < n;) off += fs.writeSync(output, buffer, off, n - off, at + off);
      at += n;
    }
    fs.fsyncSync(output);
    // Read the copy back (what the destination file system holds), and check the source did not change.
    const readBack = createHash('sha256');
    for (let at = 0; ;) {
      const n = fs.readSync(output, buffer, 0, buffer.length, at);
      if (n === 0) break;
      readBack.update(buffer.subarray(0, n));
      at += n;
    }
    if (!same(fs.fstatSync(input), before) || !same(fs.lstatSync(source), before))
      throw sourceChanged(source);
    if (!readBack.digest().equals(written.digest()) || fs.fstatSync(output).size !== before.size) {
      throw new CofferError(
        'IO_ERROR',
        `The copy of ${source} on the other disk does not read back the same; the file was left where it was.`,
        'Check the disk, then try again.',
      );
    }
    fs.closeSync(output);
    output = null;
    fsyncDir(path.dirname(destination));
  } catch (error) {
    if (output !== null) fs.closeSync(output);
    // Remove our partial copy only: the name is ours if it is still the inode we created.
    if (ours !== null) {
      try {
        const now = fs.lstatSync(destination);
        if (now.dev === ours.dev && now.ino === ours.ino) fs.unlinkSync(destination);
      } catch {
        // gone already
      }
    }
    throw error;
  } finally {
    fs.closeSync(input);
  }
}
