/**
 * What the tray says (issue 12 item 6): one state, its icon, a tooltip and the menu's status lines, from the
 * folder list, the policy, the signed state files, the keychain and the running work. Pure, so it is tested
 * in plain Node; main.ts only reads the inputs and hands the result to Electron's Tray.
 *
 * The counts are the folder list's (FolderView.inTheClearFiles, the one definition of "in the clear" in
 * clear-state.ts): the tray says "protected" only when that count is 0 everywhere and nothing else needs the
 * user, the same rule as the Overview's "Everything is protected" for the files part.
 */
import type { FolderView, PolicyView, Progress } from '../shared/contract.js';
import { printable } from '../shared/printable.js';

export type TrayState = 'protected' | 'working' | 'attention' | 'unavailable' | 'none';
export const TRAY_STATES: readonly TrayState[] = ['protected', 'working', 'attention', 'unavailable', 'none'];

/** The code clear-state.ts gives a plaintext that no run has reached yet (the watcher protects it by itself). */
const WAITING = 'WAITING';

export type TrayFolder = Pick<
  FolderView,
  'id' | 'path' | 'inTheClearFiles' | 'inTheClear' | 'runningRunId' | 'lastRun' | 'mandatory'
>;
export type TrayRun = Pick<Progress, 'kind' | 'folderId' | 'state' | 'filesDone' | 'filesTotal'>;

export interface TrayInput {
  /** The folder list, or null when it could not be read (nothing can be said about the files then). */
  folders: readonly TrayFolder[] | null;
  /** The machine policy; an unreadable one stops new files from being encrypted (Overview's red banner). */
  policy?: Pick<PolicyView, 'status' | 'problems'> | null;
  /** Signed state files that do not verify: Coffer encrypts nothing until the user confirms (StateBanner). */
  stateTampered?: boolean;
  /** Why the device key cannot be read, or null/absent when it can. */
  keychainProblem?: string | null;
  runs?: readonly TrayRun[];
  /**
   * Folders whose files have stayed in the clear past the notifier's threshold (ClearNotifier.stuck()): new
   * files waiting for their grace period are work in progress, the same files still there minutes later are not.
   */
  stuck?: ReadonlySet<string>;
}

export interface TrayView {
  state: TrayState;
  /** The icon's base name: build/tray-<state>.png (tray-<state>Template.png on macOS). */
  icon: `tray-${TrayState}`;
  /** One line; Windows cuts tray tooltips at 127 characters, so it is kept shorter. */
  tooltip: string;
  /** The menu's first, disabled line. */
  status: string;
  /** Further disabled menu lines: the other things that need the user, at most MAX_DETAIL. */
  detail: string[];
  /** The folder a click on "Show…" should open: the first that needs the user, else null. */
  folderId: string | null;
}

export const TOOLTIP_MAX = 127;
const MAX_DETAIL = 3;
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

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** "in Invoices" for one folder, "in 2 folders" for more. */
function where(folders: readonly TrayFolder[]): string {
  const [only] = folders;
  return folders.length === 1 && only
    ? `in ${folderName(only.path)}`
    : `in ${plural(folders.length, 'folder')}`;
}

/**
 * Whether the watcher protects new files in the folder by itself: auto-protect.ts watchedFolders watches a
 * folder once protected, unless the user cancelled its last run (a mandatory one always). A folder only
 * added, or whose run was cancelled, keeps its files in the clear until the user acts: not "being protected".
 * (The watcher also keeps a folder holding a mandatory one; FolderView.mandatory does not say so, and the
 * tray then errs towards "needs you".)
 */
function watched(f: TrayFolder): boolean {
  return f.mandatory || (f.lastRun !== null && f.lastRun.outcome !== 'cancelled');
}

/** Every file in the clear is one the watcher will protect by itself once its grace period is over. */
function onlyWaiting(f: TrayFolder): boolean {
  if (!watched(f)) return false;
  // The list holds the first files only: with some unlisted, their reasons are unknown, so not "just waiting".
  return f.inTheClear.length >= f.inTheClearFiles && f.inTheClear.every((i) => i.code === WAITING);
}

const RUN_VERB: Record<TrayRun['kind'], string> = {
  protect: 'Protecting',
  unprotect: 'Decrypting',
  restore: 'Restoring files',
  rekey: 'Updating the keys of files',
};

function runLine(running: readonly TrayRun[], folders: readonly TrayFolder[]): string {
  const [first] = running;
  if (!first) return '';
  if (running.length > 1) return `${plural(running.length, 'task')} running`;
  const folder = folders.find((f) => f.id === first.folderId);
  const verb = RUN_VERB[first.kind];
  const subject =
    first.kind === 'protect' || first.kind === 'unprotect'
      ? `${verb} ${folder ? folderName(folder.path) : 'a folder'}`
      : `${verb}${folder ? ` in ${folderName(folder.path)}` : ''}`;
  return first.filesTotal > 0
    ? `${subject}: ${first.filesDone.toLocaleString('en-US')} of ${plural(first.filesTotal, 'file')}`
    : subject;
}

function tooltipOf(status: string): string {
  return cut(`Coffer: ${status}`, TOOLTIP_MAX);
}

function view(state: TrayState, lines: readonly string[], folderId: string | null): TrayView {
  const [status = '', ...rest] = lines;
  return {
    state,
    icon: `tray-${state}`,
    tooltip: tooltipOf(status),
    status,
    detail: rest.slice(0, MAX_DETAIL),
    folderId,
  };
}

/**
 * The tray's state, in this order: the status cannot be read (unavailable); something needs the user
 * (attention: files in the clear that need them or stayed past the threshold, a policy that cannot be read,
 * settings changed outside Coffer, no keychain); work in progress (working: a run, or new files waiting their
 * grace period); no folder (none); else every file is protected.
 */
export function trayView(input: TrayInput): TrayView {
  const attention: string[] = [];
  if (input.stateTampered === true)
    attention.push('Coffer’s settings were changed outside Coffer: new files are not encrypted');
  if (input.policy?.status === 'invalid')
    attention.push('Your organization’s policy cannot be read: new files are not encrypted');
  if (input.keychainProblem) attention.push('The keychain is not available: new files are not encrypted');

  const folders = input.folders;
  if (folders === null) return view('unavailable', ['Status unavailable: open Coffer', ...attention], null);

  const running = (input.runs ?? []).filter((r) => r.state === 'running');
  const busy = new Set([
    ...running.flatMap((r) => (r.folderId === null ? [] : [r.folderId])),
    ...folders.flatMap((f) => (f.runningRunId === null ? [] : [f.id])),
  ]);
  const inClear = folders.filter((f) => f.inTheClearFiles > 0);
  // In the clear and needing the user: a reason other than "waiting" (in use, conflict, hard link…), or files
  // that stayed past the threshold. Waiting files in a folder a run is working on are that run's work.
  const needYou = inClear.filter(
    (f) => input.stuck?.has(f.id) === true || (!onlyWaiting(f) && !busy.has(f.id)),
  );
  const clearCount = (list: readonly TrayFolder[]): number => list.reduce((n, f) => n + f.inTheClearFiles, 0);

  if (needYou.length > 0) {
    attention.unshift(`${plural(clearCount(needYou), 'file')} in the clear ${where(needYou)}`);
  }
  if (attention.length > 0) {
    const others = inClear.filter((f) => !needYou.includes(f));
    if (others.length > 0)
      attention.push(`${plural(clearCount(others), 'file')} in the clear ${where(others)}, being protected`);
    if (running.length > 0) attention.push(runLine(running, folders));
    return view('attention', attention, needYou[0]?.id ?? null);
  }
  if (running.length > 0 || inClear.length > 0) {
    const lines: string[] = [];
    if (running.length > 0) lines.push(runLine(running, folders));
    if (inClear.length > 0)
      lines.push(`${plural(clearCount(inClear), 'file')} in the clear ${where(inClear)}, being protected`);
    return view('working', lines, null);
  }
  if (folders.length === 0) return view('none', ['No protected folders: add one in Coffer'], null);
  return view('protected', [`All files protected ${where(folders)}`], null);
}

/**
 * The icon files to try for a state, best first. macOS gets template images (black and alpha; the menu bar
 * colours them for light and dark), the others colour images; the @2x files are found by nativeImage itself.
 */
export function trayIconFiles(state: TrayState, platform: NodeJS.Platform): string[] {
  return platform === 'darwin' ? [`tray-${state}Template.png`, `tray-${state}.png`] : [`tray-${state}.png`];
}

/**
 * A menu line as written. Electron reads `&` in a menu label as the shortcut marker on every platform, not
 * only Windows ("R&D" shows "RD"; on Linux Chromium's dbusmenu makes it the GTK mnemonic `_D`; on macOS it is
 * dropped: electron/electron#25028, #9978); `&&` is the documented escape.
 */
export function menuLabel(text: string): string {
  return text.replaceAll('&', '&&');
}
