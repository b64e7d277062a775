/**
 * Lists what a folder holds, for a run or a status: never follows symlinks (they are reported), skips
 * special files with a reason, ignores litter, and sorts regular files into plaintext, protected and
 * leftover temp files. Read-only: it decides nothing and changes nothing.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, readSync, type Dirent } from 'node:fs';
import { basename, join } from 'node:path';
import { MAGIC } from '../../../crypto/header.js';
import { toCofferError } from '../fs-errors.js';
import { isProtectedName, isTempName, NOFOLLOW, PROTECTED_SUFFIX } from '../safe-file.js';
import { VerifiedDir } from '../safe-file/dir.js';
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

/**
 * One thing the walk found. `paired`: the other copy of the same file is in the same folder too (`x` for
 * `x.coffer` and the reverse), each as what it is (a plaintext, a Coffer file): what an interrupted run
 * leaves between its rename and its removal.
 */
export type WalkItem =
  | { readonly kind: 'plaintext'; readonly path: string; readonly size: number; readonly paired: boolean }
  | { readonly kind: 'protected'; readonly path: string; readonly size: number; readonly paired: boolean }
  | { readonly kind: 'temp'; readonly path: string }
  | { readonly kind: 'skipped'; readonly issue: FileIssue }
  | { readonly kind: 'ignored' };

/** `guard` (guard-rails.ts): forbidden, hidden and excluded paths are skipped with their reason. */
export function walkFolder(root: string, litter: LitterFilter, guard?: TreeGuard): FolderListing {
  const listing = emptyListing();
  for (const item of walkItems(root, litter, guard)) if (item) addTo(listing, item);
  return listing;
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
  const listing = emptyListing();
  let sliceStart = performance.now();
  for (const item of walkItems(root, litter, guard)) {
    if (item) addTo(listing, item);
    else if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return listing;
}

function emptyListing(): FolderListing {
  return { plaintext: [], protected: [], temps: [], skipped: [], ignored: 0 };
}

function addTo(listing: FolderListing, item: WalkItem): void {
  switch (item.kind) {
    case 'plaintext':
      listing.plaintext.push({ path: item.path, size: item.size });
      break;
    case 'protected':
      listing.protected.push({ path: item.path, size: item.size });
      break;
    case 'temp':
      listing.temps.push(item.path);
      break;
    case 'skipped':
      listing.skipped.push(item.issue);
      break;
    case 'ignored':
      listing.ignored++;
      break;
  }
}

/**
 * The walk itself, lazily: what it finds, one folder at a time, so that a run holds a batch and never the
 * tree (issue 10 scale target: memory bounded by the batch, not by 1,000,000 files). Yields `undefined`
 * after each folder read and every STEP_ENTRIES entries: points where a caller may give the event loop
 * back. Memory: the folders still to visit, and the entries of one folder at a time.
 */
export function* walkItems(
  root: string,
  litter: LitterFilter,
  guard?: TreeGuard,
): Generator<WalkItem | undefined, void> {
  const pending = [root];
  // The root's real path, once: every folder below must still lie inside it when it is read.
  let inside: string | null = null;
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    let entries: Dirent[];
    try {
      // A folder seen by its parent's readdir may be a link to anywhere by the time it is read (a swap
      // mid-walk, issue 10 item 3): it is opened without following a link and read through that very
      // descriptor, and its real path must be inside the root's (safe-file/dir.ts). A readdir by path
      // followed the link, and a rotation then re-wrapped the Coffer files it found outside the folder.
      const opened = VerifiedDir.open(dir, inside);
      try {
        entries = readdirSync(opened.at('.'), { withFileTypes: true });
        inside ??= opened.real;
      } finally {
        opened.release();
      }
    } catch (error) {
      const e = toCofferError(error, dir);
      yield { kind: 'skipped', issue: { path: dir, code: e.code, message: e.message, hint: e.hint } };
      continue;
    }
    yield;
    const names = new Set(entries.map((e) => e.name));
    // Only a regular file is a document an editor can hold open (and keep a lock file beside).
    const documents = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    const dirLitter = litter.inDirectory(dir, names, Date.now(), documents);
    // Sorted first, then paired: `x` and `x.coffer` are a pair only when each is what its name says.
    const found: WalkItem[] = [];
    const plainNames = new Set<string>();
    const protectedNames = new Set<string>();
    let handled = 0;
    for (const entry of entries) {
      if (++handled % STEP_ENTRIES === 0) yield;
      const item = classify(dir, entry, names, dirLitter, guard);
      if (item === null) pending.push(join(dir, entry.name));
      else {
        if (item.kind === 'plaintext') plainNames.add(entry.name);
        else if (item.kind === 'protected') protectedNames.add(entry.name);
        found.push(item);
      }
    }
    for (const item of found) {
      if (item.kind === 'plaintext')
        yield { ...item, paired: protectedNames.has(basename(item.path) + PROTECTED_SUFFIX) };
      else if (item.kind === 'protected')
        yield { ...item, paired: plainNames.has(basename(item.path).slice(0, -PROTECTED_SUFFIX.length)) };
      else yield item;
    }
  }
}

/** What one entry of `dir` is; null for a folder to walk into. Pairs are settled by the caller. */
function classify(
  dir: string,
  entry: Dirent,
  names: ReadonlySet<string>,
  dirLitter: ReturnType<LitterFilter['inDirectory']>,
  guard: TreeGuard | undefined,
): WalkItem | null {
  const path = join(dir, entry.name);
  if (entry.isSymbolicLink()) {
    return {
      kind: 'skipped',
      issue: {
        path,
        code: 'SYMLINK',
        message: `${path}: a symbolic link, not followed`,
        hint: 'Coffer never follows links; protect the folder it points to instead.',
      },
    };
  }
  if (entry.isDirectory()) {
    const rule = guard?.dir(path);
    return rule ? { kind: 'skipped', issue: rule } : null;
  }
  if (entry.isFile()) {
    const rule = guard?.file(path) ?? null;
    if (isTempName(entry.name)) return { kind: 'temp', path };
    if (dirLitter.isLitter(entry.name)) return { kind: 'ignored' };
    // A name proves nothing: only a file that starts with Coffer's magic (FORMAT.md §3) is ciphertext.
    if (isProtectedName(entry.name) && hasCofferMagic(path))
      return { kind: 'protected', path, size: sizeOf(path), paired: false };
    if (rule) return { kind: 'skipped', issue: rule };
    if (isProtectedName(entry.name)) return { kind: 'skipped', issue: notCoffer(path) };
    if (dirLitter.isOpenInEditor(entry.name) && !names.has(entry.name + PROTECTED_SUFFIX)) {
      return {
        kind: 'skipped',
        issue: {
          path,
          code: 'IN_USE',
          message: `${path}: open in an editor (its lock file is beside it)`,
          hint: 'It will be protected once the editor closes it.',
        },
      };
    }
    const stats = statOf(path);
    // Another name keeps this content: encrypting this one would leave it readable there (issue 10 §4).
    if (stats && stats.nlink > 1) return { kind: 'skipped', issue: hardLink(path, stats.nlink) };
    return { kind: 'plaintext', path, size: stats?.size ?? 0, paired: false };
  }
  const kind = specialKind(entry) ?? 'not a regular file';
  return {
    kind: 'skipped',
    issue: {
      path,
      code: 'SPECIAL_FILE',
      message: `${path}: ${kind}, skipped`,
      hint: 'Only regular files are protected; special files hold no data of their own.',
    },
  };
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
