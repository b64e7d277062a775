/**
 * Lists the files a data audit reads under its roots. Read-only, and the guard rails of DESIGN.md apply:
 * symlinks are never followed, Coffer's app data, the workspace and keyrings are never entered, dot-folders
 * are skipped (configuration, not documents). Each root and file is listed once even when roots overlap
 * (a protected folder inside Documents) or are spelled through a symlinked parent (walked under their real
 * paths). Every file carries the identity the cache and the worker check
 * (size, mtime, ctime, inode): a file that changes between this listing and its read is reported, not
 * silently scanned as something else.
 */
import { lstatSync, readdirSync, type Dirent, type Stats } from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import { GUARD_CODES, realOrSelf, type GuardRails } from '../folders/guard-rails.js';
import { hasCofferMagic } from '../folders/walk.js';
import { isWithin } from '../folders/registry.js';
import { toCofferError } from '../fs-errors.js';
import { isProtectedName, isTempName } from '../safe-file.js';
import type { SkippedFile } from './types.js';

export interface ListedFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
  readonly dev: number;
  /** Starts with Coffer's magic under a `.coffer` name: decrypted in memory to be read. */
  readonly protected: boolean;
  readonly inProtectedFolder: boolean;
}

export interface Listing {
  /** Empty when the files were handed to an `onFile` (listFilesAsync). */
  readonly files: ListedFile[];
  readonly skipped: SkippedFile[];
  /** Files listed, kept or handed over. */
  readonly listed: number;
}

export interface WalkRequest {
  readonly roots: readonly string[];
  /** The protected folders (real paths), to mark what lies inside one. */
  readonly protectedFolders: readonly string[];
  readonly guard: GuardRails;
}

/** Entries handled between two points where the async walk may give the event loop back. */
const STEP_ENTRIES = 256;

export function fileIdentity(stats: Stats): Omit<ListedFile, 'path' | 'protected' | 'inProtectedFolder'> {
  return {
    size: stats.size,
    mtimeMs: stats.mtimeMs,
    ctimeMs: stats.ctimeMs,
    ino: stats.ino,
    dev: stats.dev,
  };
}

/**
 * Folders inside system folders that are the user's to use (guard-rails.ts keeps the same list open): a root
 * under one is not judged by the system folder above it (macOS keeps temp files in /var/folders).
 */
const OPEN_DIRS = [realOrSelf(os.tmpdir()), '/var/tmp', '/run/media'];

/**
 * Why a root named by the user is refused: it is, or lies inside, a tree the guard rails forbid (Coffer's app
 * data, the workspace, a keyring, a system folder), judged by its real path so that a symlinked parent is no
 * way in. The walk below a root skips these trees; a root inside one would have entered it.
 */
function forbiddenRoot(guard: GuardRails, root: string): { code: string; message: string } | null {
  const real = realOrSelf(root);
  const tree = guard.forTree(real);
  for (let at = real; ; at = nodePath.dirname(at)) {
    if (OPEN_DIRS.includes(at)) return null;
    const rule = tree.dir(at);
    if (rule?.code === GUARD_CODES.forbidden)
      return { code: rule.code, message: at === real ? rule.message : `inside ${rule.message}` };
    if (nodePath.dirname(at) === at) return null;
  }
}

function skip(path: string, kind: SkippedFile['kind'], code: string, reason: string): SkippedFile {
  // The report names the path once; messages made for a log line start with it.
  const plain = reason.startsWith(`${path}: `) ? reason.slice(path.length + 2) : reason;
  return { path, kind, code, reason: plain, protected: false };
}

/**
 * The walk as steps (a yield after each folder read and every STEP_ENTRIES entries), so the app's main
 * thread can run it in slices (listFilesAsync) and stop it when the scan is cancelled.
 */
function* walkSteps(
  request: WalkRequest,
  signal?: AbortSignal,
  onFile?: (file: ListedFile) => void,
): Generator<number, Listing> {
  const files: ListedFile[] = [];
  let listed = 0;
  const skipped: SkippedFile[] = [];
  const seen = new Set<string>();
  // Real paths, as the walk lists files under (the registry keeps them so; a folder given otherwise matches too).
  const protectedFolders = request.protectedFolders.map((f) => realOrSelf(f));
  const inProtected = (path: string): boolean => protectedFolders.some((f) => isWithin(path, f));

  // Folders and files named as roots are remembered by device and inode, not by path: one folder may have
  // two paths (a bind mount: a data disk bound into home, a container's volume) and was walked, its files
  // counted, under each. A file is listed twice only when named as a root and also met in a folder walked:
  // only those files are remembered (a set of every path kept the whole listing's names alive).
  const folders = new Set<string>();
  const rootFiles = new Set<string>();
  const idOf = (stats: Stats): string => `${stats.dev}:${stats.ino}`;
  const walked = (dir: string): boolean => {
    try {
      return folders.has(idOf(lstatSync(dir)));
    } catch {
      return false;
    }
  };
  const addFile = (path: string, stats: Stats, name: string, isRoot: boolean): void => {
    if (rootFiles.size > 0 && rootFiles.has(idOf(stats))) return;
    if (isRoot) {
      if (walked(nodePath.dirname(path))) return;
      rootFiles.add(idOf(stats));
    }
    if (isTempName(name)) {
      skipped.push(skip(path, 'rule', 'TEMP_FILE', 'a temporary file of an unfinished Coffer write'));
      return;
    }
    if (stats.nlink > 1 && seen.has(`${stats.dev}:${stats.ino}`)) {
      skipped.push(skip(path, 'rule', 'HARD_LINK', 'another name of a file already scanned (a hard link)'));
      return;
    }
    if (stats.nlink > 1) seen.add(`${stats.dev}:${stats.ino}`);
    // A name proves nothing: only a file that starts with Coffer's magic (FORMAT.md §3) is ciphertext.
    const isProtected = isProtectedName(name) && hasCofferMagic(path);
    const file: ListedFile = {
      path,
      ...fileIdentity(stats),
      protected: isProtected,
      inProtectedFolder: inProtected(path),
    };
    listed++;
    if (onFile) onFile(file);
    else files.push(file);
  };

  for (const given of request.roots) {
    const named = nodePath.resolve(given);
    let stats: Stats;
    try {
      stats = lstatSync(named);
    } catch (error) {
      const e = toCofferError(error, named);
      skipped.push(skip(named, 'error', e.code, e.message));
      continue;
    }
    if (stats.isSymbolicLink()) {
      skipped.push(skip(named, 'rule', 'SYMLINK', 'a symbolic link, not followed'));
      continue;
    }
    const forbidden = forbiddenRoot(request.guard, named);
    if (forbidden) {
      skipped.push(skip(named, 'rule', forbidden.code, forbidden.message));
      continue;
    }
    // Walked under its real path: a root spelled through a symlinked parent (/home -> /data/home, macOS
    // /var -> /private/var) is the same folder as a protected folder (registered by its real path) or another
    // root spelled the other way. Under two spellings each file was listed and counted twice, and the
    // protected folder inside it not recognized (inProtectedFolder). The root itself is no link (above).
    const root = realOrSelf(named);
    if (stats.isFile()) {
      addFile(root, stats, nodePath.basename(root), true);
      continue;
    }
    if (!stats.isDirectory()) {
      skipped.push(skip(named, 'rule', 'SPECIAL_FILE', 'not a regular file or folder'));
      continue;
    }
    // A root the user names is scanned even when hidden; never one the machine or Coffer needs in the clear
    // (forbiddenRoot above).
    const guard = request.guard.forTree(root);
    const pending = [root];
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      let dirStats: Stats | null = null;
      try {
        dirStats = dir === root ? stats : lstatSync(dir);
      } catch {
        // Gone or unreadable: readdir below says which.
      }
      if (dirStats) {
        if (folders.has(idOf(dirStats))) continue;
        folders.add(idOf(dirStats));
      }
      if (signal?.aborted) return { files, skipped, listed };
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch (error) {
        const e = toCofferError(error, dir);
        skipped.push(skip(dir, 'error', e.code, e.message));
        continue;
      }
      yield listed;
      let handled = 0;
      for (const entry of entries) {
        if (++handled % STEP_ENTRIES === 0) yield listed;
        const path = nodePath.join(dir, entry.name);
        if (entry.isSymbolicLink()) {
          skipped.push(skip(path, 'rule', 'SYMLINK', 'a symbolic link, not followed'));
        } else if (entry.isDirectory()) {
          const rule = guard.dir(path);
          if (rule) skipped.push(skip(path, 'rule', rule.code, rule.message));
          else pending.push(path);
        } else if (entry.isFile()) {
          let fileStats: Stats;
          try {
            fileStats = lstatSync(path);
          } catch (error) {
            const e = toCofferError(error, path);
            // Gone since the listing: nothing to scan, nothing to report.
            if (e.code !== 'NOT_FOUND') skipped.push(skip(path, 'error', e.code, e.message));
            continue;
          }
          if (fileStats.isFile()) addFile(path, fileStats, entry.name, false);
        } else {
          skipped.push(skip(path, 'rule', 'SPECIAL_FILE', 'not a regular file (a pipe, socket or device)'));
        }
      }
    }
  }
  return { files, skipped, listed };
}

export function listFiles(request: WalkRequest): Listing {
  const steps = walkSteps(request);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * listFiles giving the event loop back every `sliceMs` (the app's main thread must never freeze). With
 * `onFile`, each file is handed over as it is found and not kept (`files` stays empty): a caller that needs
 * only some of them holds no listing of all (issue 11: memory whatever the file count).
 */
export async function listFilesAsync(
  request: WalkRequest,
  signal?: AbortSignal,
  onStep?: (filesSoFar: number) => void,
  sliceMs = 8,
  onFile?: (file: ListedFile) => void,
): Promise<Listing> {
  const steps = walkSteps(request, signal, onFile);
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      onStep?.(step.value);
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}

export { contentName } from './content-name.js';
