/**
 * Which files in the clear need the user and which Coffer is protecting by itself, said once for the tray
 * (electron/main/tray-state.ts) and the Overview (getOverview, renderer Overview.tsx), so the two never
 * disagree (issue 10 item 4: the Overview said "Action needed: in the clear" for files the tray called "being
 * protected"). Both are in the clear: neither is ever "protected". And the folders Coffer cannot see at all
 * (FolderView.unavailable: gone, or their drive not mounted), which are neither protected nor in the clear.
 */
import type { FolderView, Progress } from './contract.js';
import { printable } from './printable.js';

/** The code clear-state.ts gives a plaintext that no run has reached yet (the watcher protects it by itself). */
export const WAITING = 'WAITING';

export type SplitFolder = Pick<
  FolderView,
  'id' | 'inTheClearFiles' | 'inTheClear' | 'runningRunId' | 'lastRun' | 'mandatory' | 'unavailable'
>;
export type SplitRun = Pick<Progress, 'folderId' | 'state'>;

export interface ClearSplit<F extends SplitFolder> {
  /** Folders Coffer cannot see (their files are neither counted protected nor in the clear). */
  unavailable: F[];
  /** Folders with files in the clear that need the user: a reason other than waiting, or stayed too long. */
  needYou: F[];
  /** Folders whose files in the clear are waiting for their quiet period or for the run working on them. */
  beingProtected: F[];
}

/**
 * Whether the watcher protects new files in the folder by itself: auto-protect.ts watchedFolders watches a
 * folder once protected, unless the user cancelled its last run (a mandatory one always). A folder only
 * added, or whose run was cancelled, keeps its files in the clear until the user acts: not "being protected".
 * (The watcher also keeps a folder holding a mandatory one; FolderView.mandatory does not say so, and this
 * then errs towards "needs you".)
 */
function watched(f: SplitFolder): boolean {
  return f.mandatory || (f.lastRun !== null && f.lastRun.outcome !== 'cancelled');
}

/** Every file in the clear is one the watcher will protect by itself once its quiet period is over. */
function onlyWaiting(f: SplitFolder): boolean {
  if (!watched(f)) return false;
  // The list holds the first files only: with some unlisted, their reasons are unknown, so not "just waiting".
  return f.inTheClear.length >= f.inTheClearFiles && f.inTheClear.every((i) => i.code === WAITING);
}

/**
 * `stuck`: folders whose files stayed in the clear past the notifier's threshold (ClearNotifier.stuck()):
 * new files waiting for their quiet period are work in progress, the same files minutes later are not.
 */
export function splitClear<F extends SplitFolder>(
  folders: readonly F[],
  runs: readonly SplitRun[] = [],
  stuck: ReadonlySet<string> = new Set(),
): ClearSplit<F> {
  const busy = new Set([
    ...runs.flatMap((r) => (r.state === 'running' && r.folderId !== null ? [r.folderId] : [])),
    ...folders.flatMap((f) => (f.runningRunId === null ? [] : [f.id])),
  ]);
  const unavailable = folders.filter((f) => f.unavailable !== undefined);
  // A folder whose drive is not mounted (at it or in a subfolder) is readable: its files in the clear are
  // real and counted as well (FoldersAdapter leaves out its root's read error, and all of a gone folder's).
  const inClear = folders.filter((f) => f.unavailable !== 'missing' && f.inTheClearFiles > 0);
  // Waiting files in a folder a run is working on are that run's work.
  const needYou = inClear.filter((f) => stuck.has(f.id) || (!onlyWaiting(f) && !busy.has(f.id)));
  const beingProtected = inClear.filter((f) => !needYou.includes(f));
  return { unavailable, needYou, beingProtected };
}

export function clearCount(folders: readonly Pick<SplitFolder, 'inTheClearFiles'>[]): number {
  return folders.reduce((n, f) => n + f.inTheClearFiles, 0);
}

const NAME_MAX = 40;

/**
 * `text` cut to at most `max` UTF-16 units, with '…' when cut. Never between the two halves of a character
 * outside the BMP (an emoji in a folder name): a lone surrogate is not text, and becomes U+FFFD or breaks the
 * OS string (a Windows toast's XML, a D-Bus menu label) depending on who converts it.
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * The last part of a folder's path, made printable and kept short for menus. A POSIX path (it starts with
 * `/`) is split at `/` only: a backslash is a character of a name there (`Old\Invoices` is one folder).
 */
export function folderName(p: string): string {
  const separators = p.startsWith('/') ? /\/+/ : /[\\/]+/;
  const parts = p.split(separators).filter((part) => part !== '');
  return cut(printable(parts.pop() ?? p), NAME_MAX);
}

/** A folder Coffer cannot see, in the words the tray and the Overview both use. */
export function unavailableTitle(p: string, reason: NonNullable<FolderView['unavailable']>): string {
  return reason === 'not-mounted' ? `${folderName(p)} is not available` : `${folderName(p)} cannot be found`;
}

/** A folder Coffer cannot see, in a line: gone, or its drive not mounted (the tray's and `coffer status`'s). */
export function unavailableLine(f: { path: string; unavailable?: FolderView['unavailable'] }): string {
  const title = unavailableTitle(f.path, f.unavailable ?? 'missing');
  return f.unavailable === 'not-mounted' ? `${title}: its drive is not connected` : title;
}

/**
 * What of a folder's status count is the folder's own, by why it cannot be seen (the app's FolderView and
 * `coffer status` alike). A folder that is gone: its count is the status layer's unreadable root (swapped for
 * a symlink: another folder's files), none of it the folder's. One whose drive is not mounted (at it or in a
 * subfolder) is readable, and what it shows in the clear is (the rest of the folder, the disk beneath), but
 * for its own root's read error (EIO), which is no file.
 */
export function seenClear<I extends { path: string }>(
  folder: string,
  protection: { inTheClearFiles: number; inTheClear: readonly I[] },
  unavailable: FolderView['unavailable'] | null | undefined,
): { inTheClearFiles: number; inTheClear: I[] } {
  const shown = protection.inTheClear;
  if (unavailable === 'missing') return { inTheClearFiles: 0, inTheClear: [] };
  const issues = unavailable ? shown.filter((f) => f.path !== folder) : [...shown];
  return { inTheClearFiles: protection.inTheClearFiles - (shown.length - issues.length), inTheClear: issues };
}
