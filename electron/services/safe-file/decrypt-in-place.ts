/**
 * Unprotecting files in place, in batches: the same steps and safety rules as decryptTo with
 * `removeSource` (decrypt.ts), but with one durability barrier per step for the whole batch instead of a
 * file fsync and two folder fsyncs per file, which dominate the unprotection of many small files. Each
 * plaintext goes to a journaled 0600 temp file beside its `.coffer` and takes its name only after its whole
 * stream authenticated (FORMAT.md §5.3 rule 5); then, for the whole batch: the temps are made durable,
 * renamed into place (never replacing a file), given their stored mode, the folders fsynced, and only then
 * is each `.coffer` removed — only if it is still the file that was read (decrypt.ts removeSourceIfSame).
 * Every open, rename and unlink goes through a folder verified inside the root (dir.ts). A crash at any
 * moment leaves the intact `.coffer` or an intact plaintext beside it (resolved by the next run), plus at
 * most a journaled temp file.
 */
import { closeSync, fchmodSync, futimesSync, openSync, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { decryptFd } from '../../../crypto/file.js';
import type { FileMetadata } from '../../../crypto/metadata.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { toCofferError } from '../fs-errors.js';
import { restoredMode } from '../restore-rules.js';
import { removeSourceIfSame } from './decrypt.js';
import { DirSet, rootResolver, type VerifiedDir } from './dir.js';
import { makeDurable, removeQuietly, renameNoClobber } from './durable.js';
import { openRegularIn, READ_NOFOLLOW, writeTempIn } from './open.js';
import type { TempJournal } from './temp-journal.js';
import type { BatchResult, DecryptManyOptions } from './types.js';

interface PendingPlain {
  readonly index: number;
  readonly path: string;
  /** The folder of both the `.coffer` and its plaintext. */
  readonly dir: VerifiedDir;
  readonly srcName: string;
  readonly plainName: string;
  readonly temp: string;
  readonly source: Stats;
  readonly metadata: FileMetadata;
  /** The temp's descriptor, kept to apply the stored mode after the rename (null: over HELD_FDS). */
  fd: number | null;
}

/**
 * Temps of one batch kept open from their write to their rename, so the stored mode is applied through the
 * descriptor instead of an open and a close of the new name (issue 10 unprotect target). Bounded: with two
 * workers this stays far under macOS's default limit of 256 descriptors; the rest reopen as before.
 */
const HELD_FDS = 64;

/**
 * `items[i].path` (a `.coffer`) → `items[i].target` (in the same folder). Returns one result per item, in
 * order; one file's problem never stops the others.
 */
export function decryptBatch(
  sodium: SodiumBackend,
  journal: TempJournal | null,
  items: readonly { path: string; target: string }[],
  options: DecryptManyOptions,
): BatchResult[] {
  const dirs = new DirSet(rootResolver(options.roots));
  try {
    return decryptIn(sodium, journal, dirs, items, options);
  } finally {
    dirs.close();
  }
}

function decryptIn(
  sodium: SodiumBackend,
  journal: TempJournal | null,
  dirs: DirSet,
  items: readonly { path: string; target: string }[],
  options: DecryptManyOptions,
): BatchResult[] {
  const results: BatchResult[] = [];
  const fail = (index: number, path: string, error: unknown): void => {
    results[index] = { ok: false, error: toCofferError(error, path) };
  };
  const written: PendingPlain[] = [];
  try {
    return stepsOf(sodium, journal, dirs, items, options, { results, fail, written });
  } finally {
    for (const w of written) closeHeld(w);
  }
}

function closeHeld(w: PendingPlain): void {
  if (w.fd === null) return;
  closeSync(w.fd);
  w.fd = null;
}

/** The steps of decryptIn; every temp descriptor it keeps is in `written`, which the caller closes. */
function stepsOf(
  sodium: SodiumBackend,
  journal: TempJournal | null,
  dirs: DirSet,
  items: readonly { path: string; target: string }[],
  options: DecryptManyOptions,
  {
    results,
    fail,
    written,
  }: {
    results: BatchResult[];
    fail: (index: number, path: string, error: unknown) => void;
    written: PendingPlain[];
  },
): BatchResult[] {
  let held = 0;
  items.forEach(({ path, target }, index) => {
    try {
      if (dirname(target) !== dirname(path))
        throw new Error('decryptManyInPlace: a plaintext goes beside its .coffer');
      const w = writePlainTemp(sodium, journal, dirs, path, target, options, held < HELD_FDS);
      if (w.fd !== null) held++;
      written.push({ index, ...w });
    } catch (error) {
      fail(index, path, error);
    }
  });

  // Barrier 1: every plaintext is durable before any takes its name (decryptTo: the temp's fsync).
  try {
    makeDurable(written.map((w) => ({ path: w.dir.at(w.temp), dev: w.source.dev })));
  } catch (error) {
    for (const w of written) {
      removeQuietly(w.dir.at(w.temp));
      fail(w.index, w.path, error);
    }
    return results;
  }
  const renamed = written.filter((w) => {
    try {
      w.dir.recheck();
      renameNoClobber(w.dir.at(w.temp), w.dir.at(w.plainName));
      journal?.gone(`${w.dir.real}/${w.temp}`);
    } catch (error) {
      removeQuietly(w.dir.at(w.temp));
      fail(w.index, w.path, error);
      return false;
    }
    try {
      // The temp stayed 0600; the stored mode applies now that the file has its name, through the temp's
      // own descriptor where it was kept (the same inode, whatever the name holds now).
      const mode = restoredMode(w.metadata.mode); // umask applied; never setuid/setgid/sticky
      if (w.fd !== null) {
        fchmodSync(w.fd, mode);
        closeHeld(w);
      } else {
        const fd = openSync(w.dir.at(w.plainName), READ_NOFOLLOW);
        try {
          fchmodSync(fd, mode);
        } finally {
          closeSync(fd);
        }
      }
      return true;
    } catch (error) {
      // The plaintext is in place (0600) and its .coffer stays: the next run sees two copies of one file.
      fail(w.index, w.path, error);
      return false;
    }
  });
  // Barrier 2: the new names are durable before any .coffer goes (decryptTo: the output folder's fsync).
  // If that cannot be promised, every .coffer stays: both copies are there, and the next run keeps one.
  try {
    for (const dir of new Set(renamed.map((w) => w.dir))) dir.fsync();
  } catch (error) {
    for (const w of renamed) fail(w.index, w.path, error);
    return results;
  }
  const removed = renamed.filter((w) => {
    try {
      removeSourceIfSame(w.dir, w.srcName, w.source, journal);
      results[w.index] = {
        ok: true,
        value: { target: w.dir.display(w.plainName), metadata: w.metadata },
      };
      return true;
    } catch (error) {
      fail(w.index, w.path, error);
      return false;
    }
  });
  // Barrier 3: the removals. Not a condition of safety (a crash before it leaves both copies, which the
  // next run resolves as a leftover), so a failure here must not turn unprotected files into failures.
  try {
    for (const dir of new Set(removed.map((w) => w.dir))) dir.fsync();
  } catch {
    // see above: nothing is lost, and the next run finishes the removal
  }
  return results;
}

/** Decrypts `path` into a 0600 journaled temp beside `target`; authenticated as a whole before returning. */
function writePlainTemp(
  sodium: SodiumBackend,
  journal: TempJournal | null,
  dirs: DirSet,
  path: string,
  target: string,
  options: DecryptManyOptions,
  keepOpen: boolean,
): Omit<PendingPlain, 'index'> {
  const dir = dirs.get(dirname(path));
  const srcName = basename(path);
  const plainName = basename(target);
  const progress = options.progressFor?.(path) ?? {};
  const source = openRegularIn(dir, srcName);
  try {
    const {
      result: metadata,
      temp,
      fd,
    } = writeTempIn(
      dir,
      plainName,
      null,
      journal,
      (fd) => {
        const meta = decryptFd(sodium, source.fd, fd, options.identities, progress);
        futimesSync(fd, new Date(), new Date(meta.mtimeMs));
        return meta;
      },
      { durable: false, keepOpen },
    );
    return { path, dir, srcName, plainName, temp, source: source.stats, metadata, fd };
  } finally {
    closeSync(source.fd);
  }
}
