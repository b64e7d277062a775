/**
 * The journal of temporary files Coffer made (issue 10 item 8): a file named like a Coffer temp file is
 * deleted only when a journal proves Coffer made it — same path, same device and inode — and only once
 * the process that made it is gone. A user's own file that merely looks like one is left alone and
 * reported. One journal per process, `<app data>/temps/<pid>-<random>.log`, lines `dev ino path`; written
 * without fsync on purpose: an entry lost in a crash only means a leftover is reported instead of removed.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errnoOf } from '../fs-errors.js';
import { isTempName } from './names.js';
import { VerifiedDir } from './dir.js';
import { READ_NOFOLLOW } from './open.js';

/** `<app data>/temps`. */
export function tempJournalDirIn(home: string): string {
  return join(home, 'temps');
}

/** A recorded temp file; dev/ino null: only announced (see `intend`). */
interface Entry {
  readonly dev: number | null;
  readonly ino: number | null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === 'EPERM';
  }
}

export interface TempCleanup {
  /** Leftovers proven ours and removed. */
  readonly removed: string[];
  /** Named like a temp file but not proven ours (or still in use by a live run): left alone. */
  readonly kept: string[];
}

/** The line of a temp known to be gone (see `gone`). */
const GONE = '';

export class TempJournal {
  private fd: number | null = null;
  private readonly own: string;
  /** The lines in the journal now, by path (compact rewrites those whose temp is still there). */
  private lines = new Map<string, string>();

  constructor(private readonly dir: string) {
    this.own = join(dir, `${process.pid}-${randomBytes(4).toString('hex')}.log`);
  }

  /**
   * Announces a temp file about to be created (O_EXCL, under a fresh random name): a kill between its
   * creation and `record` left an empty temp no journal named, reported forever (R6 review, the kill test:
   * the first record of a process also creates the journal, a window a kill hits). Nobody else can have
   * made a file of that name (48 random bits), and until `record` it is empty: an announced name found
   * empty is ours.
   */
  intend(real: string): void {
    this.write(real, `- - ${real}\n`);
  }

  /** Records a temp file just created (`fd` open on it, `real` its real path). */
  record(real: string, fd: number): void {
    this.recordIds(real, fstatSync(fd));
  }

  /** Records a temp file by the device and inode it has (from a stat the caller already made). */
  recordIds(real: string, { dev, ino }: { readonly dev: number; readonly ino: number }): void {
    this.write(real, `${dev} ${ino} ${real}\n`);
  }

  /**
   * The temp at `real` is certainly gone (the caller just renamed or removed it): the next compact drops its
   * line without looking (a stat per temp, two per unprotected file, issue 10 unprotect target).
   */
  gone(real: string): void {
    // Kept as a marker, not deleted: compact must still truncate the journal when every line is gone.
    if (this.lines.has(real)) this.lines.set(real, GONE);
  }

  /**
   * Drops the lines of temps that are gone (renamed into place or removed), keeping the others. Without
   * it a folder run of 100,000 files left some 200,000 lines, which the next start checked one by one (a
   * folder opened and a stat each) and held in memory: an unprotect right after a protect paid seconds
   * for them (issue 10 scale target). Folder workers call it after each batch, when every temp of the
   * batch has its final name or is removed. A crash between the truncation and the rewrite loses only the
   * lines of temps still there: reported at the next start instead of removed (see the top of this file).
   */
  compact(): void {
    if (this.fd === null || this.lines.size === 0) return;
    const live = [...this.lines].filter(([path, line]) => line !== GONE && stillThere(path));
    ftruncateSync(this.fd, 0); // opened for appending: the next write goes to the new end
    this.lines = new Map();
    for (const [path, line] of live) this.write(path, line);
  }

  private write(path: string, line: string): void {
    if (this.fd === null) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.fd = openSync(this.own, 'a', 0o600);
    }
    writeSync(this.fd, line);
    this.lines.set(path, line);
  }

  /** Temp files made by processes that are gone, by real path. */
  private leftovers(): { entries: Map<string, Entry>; journals: string[] } {
    const entries = new Map<string, Entry>();
    const journals: string[] = [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return { entries, journals };
      throw error;
    }
    for (const name of names) {
      const pid = Number(/^(\d+)-[0-9a-f]+\.log$/.exec(name)?.[1]);
      const path = join(this.dir, name);
      if (!Number.isInteger(pid) || path === this.own || alive(pid)) continue;
      const text = readJournal(path);
      if (text === null) continue;
      journals.push(path);
      for (const line of text.split('\n')) {
        const match = /^(\d+|-) (\d+|-) (.+)$/.exec(line);
        // Lines come in order: a record follows its announcement and replaces it.
        if (match?.[3])
          entries.set(
            match[3],
            match[1] === '-' ? { dev: null, ino: null } : { dev: Number(match[1]), ino: Number(match[2]) },
          );
      }
    }
    return { entries, journals };
  }

  /**
   * Decides about temp-named files found in a folder (`paths`, real paths): the proven ones are removed,
   * the rest kept. Journals are not consumed here (cleanLeftovers does that).
   */
  resolve(paths: readonly string[]): TempCleanup {
    const { entries } = this.leftovers();
    const result: TempCleanup = { removed: [], kept: [] };
    for (const path of paths) {
      const entry = entries.get(path);
      if (entry && removeIfSame(path, entry)) result.removed.push(path);
      else result.kept.push(path);
    }
    return result;
  }

  /**
   * At start: removes every proven leftover of processes that are gone (wherever it lies: a protected
   * folder, or the folder of a `decrypt -o`), then their journals.
   */
  cleanLeftovers(): TempCleanup {
    const { entries, journals } = this.leftovers();
    const result: TempCleanup = { removed: [], kept: [] };
    for (const [path, entry] of entries) {
      try {
        if (removeIfSame(path, entry)) result.removed.push(path);
      } catch {
        result.kept.push(path);
      }
    }
    // A journal is dropped only when none of its leftovers could not be handled.
    if (result.kept.length === 0)
      for (const journal of journals) {
        try {
          unlinkSync(journal);
        } catch {
          // next start tries again
        }
      }
    return result;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * A journal's text, or null when it is not one this user's Coffer wrote: only a regular file owned by
 * this user is proof (R6 review: a journal another user planted, through an app data folder linked to a
 * shared one, made Coffer delete this user's file; a FIFO named like a journal hung every start). Opened
 * without following a link and without waiting on a FIFO.
 */
function readJournal(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, READ_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const stats = fstatSync(fd);
    const uid = process.getuid?.();
    if (!stats.isFile() || (uid !== undefined && stats.uid !== uid)) return null;
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** False only when `path` is certainly gone (any other answer keeps its journal line). */
function stillThere(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    return errnoOf(error) !== 'ENOENT';
  }
}

/** Removes `path` when it is still the very file recorded (a name reused since is someone else's). */
function removeIfSame(path: string, entry: Entry): boolean {
  if (!isTempName(basename(path))) return false;
  let dir: VerifiedDir;
  try {
    dir = VerifiedDir.open(dirname(path), null);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
  try {
    // Only a directory whose real path is the recorded one: the name is looked up there and nowhere else.
    if (dir.real !== dirname(path)) return false;
    const stats = lstatSync(dir.at(basename(path)));
    if (!stats.isFile()) return false;
    if (entry.dev === null ? stats.size !== 0 : stats.dev !== entry.dev || stats.ino !== entry.ino)
      return false;
    unlinkSync(dir.at(basename(path)));
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  } finally {
    dir.release();
  }
}
