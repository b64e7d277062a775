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
import { clearCount, cut, folderName, splitClear, unavailableLine } from '../shared/clear-split.js';

export { cut, folderName };

export type TrayState = 'protected' | 'working' | 'attention' | 'unavailable' | 'none';
export const TRAY_STATES: readonly TrayState[] = ['protected', 'working', 'attention', 'unavailable', 'none'];

export type TrayFolder = Pick<
  FolderView,
  'id' | 'path' | 'inTheClearFiles' | 'inTheClear' | 'runningRunId' | 'lastRun' | 'mandatory' | 'unavailable'
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

/** A folder Coffer cannot see, in words (clear-split.ts: `coffer status` says the same). */
export { unavailableLine };

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
  // The same split as the Overview's (clear-split.ts): what needs the user, what Coffer is protecting.
  const { unavailable, needYou, beingProtected } = splitClear(folders, running, input.stuck);
  // A folder Coffer cannot see says nothing of its files: never "protected", first of what needs the user.
  for (const f of unavailable.slice().reverse()) attention.unshift(unavailableLine(f));
  if (needYou.length > 0) {
    attention.unshift(`${plural(clearCount(needYou), 'file')} in the clear ${where(needYou)}`);
  }
  if (attention.length > 0) {
    const others = beingProtected;
    if (others.length > 0)
      attention.push(`${plural(clearCount(others), 'file')} in the clear ${where(others)}, being protected`);
    if (running.length > 0) attention.push(runLine(running, folders));
    return view('attention', attention, needYou[0]?.id ?? unavailable[0]?.id ?? null);
  }
  if (running.length > 0 || beingProtected.length > 0) {
    const lines: string[] = [];
    if (running.length > 0) lines.push(runLine(running, folders));
    if (beingProtected.length > 0)
      lines.push(
        `${plural(clearCount(beingProtected), 'file')} in the clear ${where(beingProtected)}, being protected`,
      );
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
