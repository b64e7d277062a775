/**
 * OS and editor litter: files that are not the user's data, or that belong to an app that holds a document
 * open. They are left alone (neither encrypted nor reported as waiting). The list is configurable; patterns
 * are whole base names with `*` wildcards.
 *
 * Editors' lock files are litter only while they are what they look like: the lock of a document beside
 * them, written less than LOCK_FRESH_MS ago. A file that merely matches `~$*` (a stale lock, or a user's
 * own file) is data like any other, and a stale lock never keeps its document in the clear.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { PROTECTED_SUFFIX } from '../safe-file.js';

export const DEFAULT_IGNORE: readonly string[] = [
  '.DS_Store',
  '.localized',
  'Icon\r',
  'Thumbs.db',
  'ehthumbs.db',
  'desktop.ini',
  '~$*', // Microsoft Office owner/lock files (~$Report.docx)
  '.~lock.*#', // LibreOffice lock files
];

/**
 * Coffer's own files, ignored whatever the configured list says: the key escrow record beside the folder
 * (keys/folder-escrow.ts) and its temp file must stay readable, or the code could not restore the key.
 */
const ALWAYS_IGNORED: readonly string[] = ['.coffer-escrow.json*'];

/**
 * How long a lock file keeps its document in the clear. Office and LibreOffice write it when a document is
 * opened and remove it on close; one left by a crash would otherwise keep the document readable forever.
 * A document open longer than this is protected under its editor, which at worst saves a new plaintext
 * that the next run protects.
 */
export const LOCK_FRESH_MS = 12 * 60 * 60 * 1000;

/**
 * The most a lock file holds: Word's owner file is 162 bytes, LibreOffice's lock one line of user name,
 * host and time. A bigger file under a lock's name is someone's data, and is protected like any other.
 */
export const LOCK_MAX_BYTES = 4096;

function toRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  // Case-insensitive: Windows and macOS file systems are, and `THUMBS.DB` is the same litter.
  return new RegExp(`^${body}$`, 'is');
}

/**
 * The owner file Word writes beside `name`: `~$` replaces the first characters so that the stem keeps
 * at most 8 characters' worth of room: stems of up to 6 characters keep all of them (`Report.docx` →
 * `~$Report.docx`), a 7-character stem loses one, longer stems lose two (`Quarterly.xlsx` → `~$arterly.xlsx`).
 */
export function officeOwnerName(name: string): string {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? dot : name.length;
  const drop = stem <= 6 ? 0 : stem === 7 ? 1 : 2;
  return `~$${name.slice(drop)}`;
}

/** The lock files an editor keeps beside `name` while it has it open (Excel and PowerPoint keep the whole name). */
export function lockNamesOf(name: string): string[] {
  return [`~$${name}`, officeOwnerName(name), `.~lock.${name}#`];
}

/** Named like an editor's lock file (`~$…`, `.~lock.…#`), protected ones (`~$x.coffer`) included. */
function looksLikeLock(name: string): boolean {
  const bare = name.endsWith(PROTECTED_SUFFIX) ? name.slice(0, -PROTECTED_SUFFIX.length) : name;
  return bare.startsWith('~$') || (bare.startsWith('.~lock.') && bare.endsWith('#'));
}

/** A protected file (`~$x.coffer`) is data whatever its name says: never a lock, never a document open in an editor. */
function isLockName(name: string): boolean {
  return !name.endsWith(PROTECTED_SUFFIX) && looksLikeLock(name);
}

/** A lock file as editors write them: small, and written less than LOCK_FRESH_MS ago. */
function liveLockFile(path: string, now: number): boolean {
  try {
    const stats = statSync(path);
    return stats.isFile() && stats.size <= LOCK_MAX_BYTES && now - stats.mtimeMs < LOCK_FRESH_MS;
  } catch {
    return false; // gone: its editor closed the document
  }
}

/** One directory's litter, decided from its whole listing (a lock file counts only beside its document). */
export interface DirectoryLitter {
  isLitter(name: string): boolean;
  /** True when an editor holds `name` open: a fresh lock file of exactly this name is beside it. */
  isOpenInEditor(name: string): boolean;
}

export class LitterFilter {
  private readonly patterns: readonly RegExp[];

  constructor(patterns: readonly string[] = DEFAULT_IGNORE) {
    this.patterns = [...ALWAYS_IGNORED, ...patterns].map(toRegExp);
  }

  /** Matches the name alone: right for OS litter, too broad for lock files (use `inDirectory`). */
  isLitter(name: string): boolean {
    return this.patterns.some((p) => p.test(name));
  }

  /**
   * The litter of directory `dir` holding `names`; `documents`, when given, are the names among them that
   * are regular files (a folder named `Report.docx` is open in no editor, and keeps no lock beside it).
   */
  inDirectory(
    dir: string,
    names: Iterable<string>,
    now = Date.now(),
    documents?: ReadonlySet<string>,
  ): DirectoryLitter {
    const all = new Set(names);
    // Lock file → whether it is a fresh lock of a document beside it; computed once per directory.
    const liveLocks = new Set<string>();
    for (const name of documents ?? all) {
      if (isLockName(name) || name.endsWith(PROTECTED_SUFFIX)) continue;
      for (const lock of lockNamesOf(name))
        if (all.has(lock) && !liveLocks.has(lock) && liveLockFile(join(dir, lock), now)) liveLocks.add(lock);
    }
    return {
      // A lock-like name is litter only as the live lock of a document beside it: otherwise it is data.
      isLitter: (name) => (looksLikeLock(name) ? liveLocks.has(name) : this.isLitter(name)),
      isOpenInEditor: (name) => !isLockName(name) && lockNamesOf(name).some((lock) => liveLocks.has(lock)),
    };
  }
}

/**
 * True when an editor holds `name` open, judged by its lock file beside it (exact lock names only; see
 * `LitterFilter.inDirectory`, which also bounds a lock's age).
 */
export function isOpenInEditor(name: string, siblings: ReadonlySet<string>): boolean {
  return !isLockName(name) && lockNamesOf(name).some((lock) => siblings.has(lock));
}
