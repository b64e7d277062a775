/**
 * One directory of a protected folder, classified the way walk.ts classifies it (same rules, same codes),
 * but shallow: its files, and the subfolders to look into. The status cache (status-index.ts) keeps one of
 * these per directory and classifies a directory again when the watcher says it changed. walk.ts stays
 * the reference (the CLI's status and every run use it); status-index.test.ts checks that both agree.
 */
import { lstatSync, readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { toCofferError } from '../fs-errors.js';
import { isProtectedName, isTempName, PROTECTED_SUFFIX } from '../safe-file.js';
import { GUARD_CODES, type TreeGuard } from './guard-rails.js';
import { LOCK_FRESH_MS, LOCK_MAX_BYTES, type LitterFilter } from './litter.js';
import type { FileIssue } from './types.js';
import { hasCofferMagic } from './walk.js';

/**
 * A file as it was when classified. Its ctime moves on every write, every link added or removed and every
 * `utimes`, and cannot be set back: a later difference means the file changed since, even when no event
 * came to the directory's watcher (a write through a hard link outside the folder, an mmap write, a lost
 * event) and no directory time moved.
 */
export interface FileStamp {
  readonly ino: number;
  readonly ctimeMs: number;
  readonly size: number;
  /** When what the file counts as changes by time alone (an editor's lock file going stale), if it does. */
  readonly expiresAt?: number;
}

/** What one entry of a directory counts as in a status. */
export type DirEntry =
  | { readonly kind: 'protected'; readonly size: number; readonly stamp: FileStamp | null }
  | { readonly kind: 'plaintext'; readonly size: number }
  | { readonly kind: 'temp' }
  | { readonly kind: 'ignored'; readonly stamp?: FileStamp | null }
  | { readonly kind: 'skipped'; readonly issue: FileIssue; readonly stamp?: FileStamp | null };

export interface DirListing {
  /** The directory's identity and times when it was read: a later difference means it changed since. */
  readonly ino: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly entries: Map<string, DirEntry>;
  /** Subfolders to look into (not symlinks, not excluded by the guard rails). */
  readonly subdirs: string[];
  /** Set when the directory could not be read (its files are unknown): reported as walk.ts reports it. */
  readonly error: FileIssue | null;
}

function specialKind(entry: Dirent): string {
  if (entry.isFIFO()) return 'a named pipe';
  if (entry.isSocket()) return 'a socket';
  if (entry.isBlockDevice()) return 'a block device';
  if (entry.isCharacterDevice()) return 'a character device';
  return 'not a regular file';
}

/**
 * Reads `dir` once. Its times are taken before the listing, so a change made while it is read leaves the
 * directory newer than recorded, and the next check reads it again.
 */
export function classifyDirectory(dir: string, litter: LitterFilter, guard?: TreeGuard): DirListing {
  let ino = 0;
  let mtimeMs = 0;
  let ctimeMs = 0;
  let dirents: Dirent[];
  try {
    const stats = lstatSync(dir);
    ({ ino, mtimeMs, ctimeMs } = stats);
    dirents = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    const e = toCofferError(error, dir);
    return {
      ino,
      mtimeMs,
      ctimeMs,
      entries: new Map(),
      subdirs: [],
      error: { path: dir, code: e.code, message: e.message, hint: e.hint },
    };
  }
  const entries = new Map<string, DirEntry>();
  const subdirs: string[] = [];
  const names = new Set(dirents.map((e) => e.name));
  const documents = new Set(dirents.filter((e) => e.isFile()).map((e) => e.name));
  const dirLitter = litter.inDirectory(dir, names, Date.now(), documents);
  for (const entry of dirents) {
    const path = join(dir, entry.name);
    const skip = (issue: FileIssue): void => {
      entries.set(entry.name, { kind: 'skipped', issue });
    };
    if (entry.isSymbolicLink()) {
      skip({
        path,
        code: 'SYMLINK',
        message: `${path}: a symbolic link, not followed`,
        hint: 'Coffer never follows links; protect the folder it points to instead.',
      });
    } else if (entry.isDirectory()) {
      // Taken first, as for files: a change after it leaves a newer ctime than the one kept.
      const stamp = stampOf(path);
      const rule = guard?.dir(path);
      // A folder never touched for what it holds (a keyring folder by its files) or what it is (a bind
      // mount of one): unwatched, so its own times are checked; once it changes its parent is read again
      // and the rule asked again (guard-rails.ts secretStoreAt, sameAsForbidden).
      if (rule?.code === GUARD_CODES.forbidden)
        entries.set(entry.name, { kind: 'skipped', issue: rule, stamp });
      else if (rule) skip(rule);
      else subdirs.push(path);
    } else if (entry.isFile()) {
      const rule = guard?.file(path) ?? null;
      // Taken before the content is read: a write after it leaves a newer ctime than the one kept.
      const stamp = isProtectedName(entry.name) || isLockName(entry.name) ? stampOf(path) : null;
      if (isTempName(entry.name)) entries.set(entry.name, { kind: 'temp' });
      else if (dirLitter.isLitter(entry.name))
        // A lock file is litter only while small and fresh (litter.ts): watched for both.
        entries.set(
          entry.name,
          isLockName(entry.name)
            ? {
                kind: 'ignored',
                // Judged live from a stat made before this one: a lock grown past a lock's size since is
                // looked at again at once (a null stamp), as the walk would count it then.
                stamp:
                  stamp && stamp.size <= LOCK_MAX_BYTES
                    ? { ...stamp, expiresAt: stamp.mtimeMs + LOCK_FRESH_MS }
                    : null,
              }
            : { kind: 'ignored' },
        );
      // A name proves nothing: only a file that starts with Coffer's magic (FORMAT.md §3) is ciphertext.
      else if (isProtectedName(entry.name) && hasCofferMagic(path))
        entries.set(entry.name, {
          kind: 'protected',
          size: stamp?.size ?? 0,
          stamp: stamp && { ino: stamp.ino, ctimeMs: stamp.ctimeMs, size: stamp.size },
        });
      else if (rule) skip(rule);
      else if (isProtectedName(entry.name))
        skip({
          path,
          code: 'BAD_MAGIC',
          message: `${path}: named like a protected file, but not a Coffer file (it is readable as it is)`,
          hint: 'Rename it without `.coffer` so it is protected, or delete it if it is not wanted.',
        });
      else if (dirLitter.isOpenInEditor(entry.name) && !names.has(entry.name + PROTECTED_SUFFIX))
        skip({
          path,
          code: 'IN_USE',
          message: `${path}: open in an editor (its lock file is beside it)`,
          hint: 'It will be protected once the editor closes it.',
        });
      else {
        const stats = statOf(path);
        // Another name keeps this content in the clear (issue 10 §4): reported, never claimed protected.
        if (stats && stats.nlink > 1)
          skip({
            path,
            code: 'HARD_LINK',
            message: `${path}: ${stats.nlink - 1} other hard link(s) share its content, which they would keep in the clear`,
            hint: 'Remove the other names (`find / -samefile FILE` lists them) or replace this one with a copy of itself, then protect again.',
          });
        else entries.set(entry.name, { kind: 'plaintext', size: stats?.size ?? 0 });
      }
    } else {
      skip({
        path,
        code: 'SPECIAL_FILE',
        message: `${path}: ${specialKind(entry)}, skipped`,
        hint: 'Only regular files are protected; special files hold no data of their own.',
      });
    }
  }
  return { ino, mtimeMs, ctimeMs, entries, subdirs, error: null };
}

/** Named like an editor's lock file (litter.ts decides whether it is a live one). */
function isLockName(name: string): boolean {
  return name.startsWith('~$') || (name.startsWith('.~lock.') && name.endsWith('#'));
}

function stampOf(path: string): (FileStamp & { readonly mtimeMs: number }) | null {
  const stats = statOf(path);
  return stats && { ino: stats.ino, ctimeMs: stats.ctimeMs, size: stats.size, mtimeMs: stats.mtimeMs };
}

/** Whether the file at `path` is still as `stamp` saw it, and `now` is before what it counts as expires. */
export function unchangedSince(path: string, stamp: FileStamp, now: number): boolean {
  if (stamp.expiresAt !== undefined && now >= stamp.expiresAt) return false;
  const stats = statOf(path);
  return (
    stats !== null && stats.ino === stamp.ino && stats.ctimeMs === stamp.ctimeMs && stats.size === stamp.size
  );
}

function statOf(
  path: string,
): { size: number; nlink: number; ino: number; ctimeMs: number; mtimeMs: number } | null {
  try {
    return lstatSync(path);
  } catch {
    return null; // vanished since readdir: the next look at this directory drops it
  }
}
