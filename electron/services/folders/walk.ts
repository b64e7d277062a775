/**
 * Lists what a folder holds, for a run or a status: never follows symlinks (they are reported), skips
 * special files with a reason, ignores litter, and sorts regular files into plaintext, protected and
 * leftover temp files. Read-only: it decides nothing and changes nothing.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, readSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { MAGIC } from '../../../crypto/header.js';
import { toCofferError } from '../fs-errors.js';
import { isProtectedName, isTempName, NOFOLLOW, PROTECTED_SUFFIX } from '../safe-file.js';
import type { TreeGuard } from './guard-rails.js';
import type { LitterFilter } from './litter.js';
import type { FileIssue } from './types.js';

const NONBLOCK = (constants as { O_NONBLOCK?: number }).O_NONBLOCK ?? 0;

export interface WalkedFile {
  readonly path: string;
  readonly size: number;
}

export interface FolderListing {
  readonly plaintext: WalkedFile[];
  readonly protected: WalkedFile[];
  /** Temp files of an interrupted write (`*.coffer.tmp-*`): always garbage. */
  readonly temps: string[];
  /** Symlinks, special files, unreadable folders, files held open by an editor. */
  readonly skipped: FileIssue[];
  ignored: number;
}

function specialKind(entry: Dirent): string | null {
  if (entry.isFIFO()) return 'a named pipe';
  if (entry.isSocket()) return 'a socket';
  if (entry.isBlockDevice()) return 'a block device';
  if (entry.isCharacterDevice()) return 'a character device';
  return null;
}

/** Entries handled between two points where an async walk may give the event loop back. */
const STEP_ENTRIES = 256;

/** `guard` (guard-rails.ts): forbidden, hidden and excluded paths are skipped with their reason. */
export function walkFolder(root: string, litter: LitterFilter, guard?: TreeGuard): FolderListing {
  const steps = walkSteps(root, litter, guard);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * walkFolder that gives the event loop back every `sliceMs` of work, for the app's main thread: a status
 * of 100,000 files must never freeze the window (issue 10 item 9). Same listing as walkFolder.
 */
export async function walkFolderAsync(
  root: string,
  litter: LitterFilter,
  guard?: TreeGuard,
  sliceMs = 8,
): Promise<FolderListing> {
  const steps = walkSteps(root, litter, guard);
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}

/** The walk itself, pausing (yield) after each folder read and every STEP_ENTRIES entries. */
function* walkSteps(root: string, litter: LitterFilter, guard?: TreeGuard): Generator<void, FolderListing> {
  const listing: FolderListing = { plaintext: [], protected: [], temps: [], skipped: [], ignored: 0 };
  const pending = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      const e = toCofferError(error, dir);
      listing.skipped.push({ path: dir, code: e.code, message: e.message, hint: e.hint });
      continue;
    }
    yield;
    const names = new Set(entries.map((e) => e.name));
    // Only a regular file is a document an editor can hold open (and keep a lock file beside).
    const documents = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    const dirLitter = litter.inDirectory(dir, names, Date.now(), documents);
    let handled = 0;
    for (const entry of entries) {
      if (++handled % STEP_ENTRIES === 0) yield;
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        listing.skipped.push({
          path,
          code: 'SYMLINK',
          message: `${path}: a symbolic link, not followed`,
          hint: 'Coffer never follows links; protect the folder it points to instead.',
        });
      } else if (entry.isDirectory()) {
        const rule = guard?.dir(path);
        if (rule) listing.skipped.push(rule);
        else pending.push(path);
      } else if (entry.isFile()) {
        const rule = guard?.file(path) ?? null;
        if (isTempName(entry.name)) listing.temps.push(path);
        else if (dirLitter.isLitter(entry.name)) listing.ignored++;
        // A name proves nothing: only a file that starts with Coffer's magic (FORMAT.md §3) is ciphertext.
        else if (isProtectedName(entry.name) && hasCofferMagic(path))
          listing.protected.push({ path, size: sizeOf(path) });
        else if (rule) listing.skipped.push(rule);
        else if (isProtectedName(entry.name)) listing.skipped.push(notCoffer(path));
        else if (dirLitter.isOpenInEditor(entry.name) && !names.has(entry.name + PROTECTED_SUFFIX)) {
          listing.skipped.push({
            path,
            code: 'IN_USE',
            message: `${path}: open in an editor (its lock file is beside it)`,
            hint: 'It will be protected once the editor closes it.',
          });
        } else {
          const stats = statOf(path);
          // Another name keeps this content: encrypting this one would leave it readable there (issue 10 §4).
          if (stats && stats.nlink > 1) listing.skipped.push(hardLink(path, stats.nlink));
          else listing.plaintext.push({ path, size: stats?.size ?? 0 });
        }
      } else {
        const kind = specialKind(entry) ?? 'not a regular file';
        listing.skipped.push({
          path,
          code: 'SPECIAL_FILE',
          message: `${path}: ${kind}, skipped`,
          hint: 'Only regular files are protected; special files hold no data of their own.',
        });
      }
    }
  }
  return listing;
}

function statOf(path: string): { size: number; nlink: number } | null {
  try {
    return lstatSync(path);
  } catch {
    return null; // vanished since readdir: the run reports it when it gets there
  }
}

function hardLink(path: string, nlink: number): FileIssue {
  return {
    path,
    code: 'HARD_LINK',
    message: `${path}: ${nlink - 1} other hard link(s) share its content, which they would keep in the clear`,
    hint: 'Remove the other names (`find / -samefile FILE` lists them) or replace this one with a copy of itself, then protect again.',
  };
}

/** True when `path` begins with Coffer's magic; a file that cannot be read is not proved to be one either. */
export function hasCofferMagic(path: string): boolean {
  let fd: number;
  try {
    // Never through a link, and never waiting on a pipe swapped in since readdir.
    fd = openSync(path, constants.O_RDONLY | NOFOLLOW | NONBLOCK);
  } catch (error) {
    // Vanished since readdir: the run reports it when it gets there. Unreadable: not proved ciphertext.
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
  try {
    const head = Buffer.alloc(MAGIC.length);
    return readSync(fd, head, 0, head.length, 0) === MAGIC.length && head.equals(MAGIC);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

function notCoffer(path: string): FileIssue {
  return {
    path,
    code: 'BAD_MAGIC',
    message: `${path}: named like a protected file, but not a Coffer file (it is readable as it is)`,
    hint: 'Rename it without `.coffer` so it is protected, or delete it if it is not wanted.',
  };
}

function sizeOf(path: string): number {
  try {
    return lstatSync(path).size;
  } catch {
    return 0; // vanished since readdir: the run reports it when it gets there
  }
}
