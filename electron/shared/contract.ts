/**
 * The IPC contract between the renderer and the main process: every method's channel, its request schema
 * (validated in main, never trusted) and its response type. Main, preload and renderer all import this one
 * table, so a channel string is written exactly once. No Node or Electron imports here (lint enforces it).
 *
 * Secrets never travel renderer-ward: responses carry paths, key IDs, counts and progress. The two
 * exceptions are deliberate and one-way: the helpdesk passphrase goes renderer → main once, and the
 * personal recovery code goes main → renderer exactly once, when it is made, to be shown.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------
// Shared shapes

const id = z.string().min(1).max(200);
/** A path inside a protected folder, relative, with `/` separators; never absolute, never `..`. */
export const relPath = z
  .string()
  .max(4096)
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p) && !p.split(/[\\/]/).includes('..'), {
    error: 'must be a relative path inside the folder',
  });

export type ErrorInfo = { code: string; message: string; hint?: string };

/** Every handler answers with this envelope; a thrown error never crosses the IPC boundary raw. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

/** Error codes the IPC layer itself produces (services add their own, e.g. BAD_PASSPHRASE, NO_DEVICE_KEY). */
export const IpcErrorCode = {
  INVALID_REQUEST: 'INVALID_REQUEST',
  FORBIDDEN_SENDER: 'FORBIDDEN_SENDER',
  UNKNOWN_CHANNEL: 'UNKNOWN_CHANNEL',
  CANCELLED: 'CANCELLED',
  NOT_FOUND: 'NOT_FOUND',
  INTERNAL: 'INTERNAL',
} as const;

export type KeyIdText = string; // "3f9a-12bc-0e77-a1d4"

export interface KeychainStatus {
  ok: boolean;
  /** Why not, in plain language, when `ok` is false. */
  problem?: string;
  deviceKeyId?: KeyIdText;
}

export interface RecoveryStatus {
  deviceKeyId: KeyIdText | null;
  trustedRecoveryKeys: { keyId: KeyIdText; label: string; source: 'policy' | 'user' }[];
  personalCode: { state: 'none' | 'unconfirmed' | 'confirmed'; keyId?: KeyIdText; madeAt?: number };
}

/**
 * The signed state files in app data (settings, folder registry, escrow record) and whether each verifies
 * (issue 9 item 1). A `tampered` file is not used until the user confirms it; `lines` say what it holds,
 * with recovery key IDs recomputed from the keys.
 */
export interface StateReview {
  tampered: number;
  /** A digest of the files that do not verify, as shown: confirmState signs them only if still so. */
  reviewed: string;
  files: {
    kind: 'settings' | 'folders' | 'escrow';
    file: string;
    status: 'ok' | 'absent' | 'tampered';
    detail?: string;
    lines: string[];
  }[];
}

/** A pasted recovery public key (FORMAT.md §11.2), checked in main and told back by key ID before trusting. */
export interface RecoveryKeyPreview {
  keyId: KeyIdText;
  /** Whether it is trusted already: by the user, by the organization's policy, or not yet. */
  trusted: 'no' | 'user' | 'policy';
}

export interface IssuedCodeView {
  groups: string[];
  keyId: KeyIdText;
  /** One line each, shown after the code; empty when every copy of the escrow record was written. */
  warnings: string[];
}

/** A key record picked in main for a device restore (issue 12 item 5): what it restores, never its path. */
export interface EscrowRecordView {
  /** This account's own record, a record file, or the one in a (backup) protected folder. */
  source: 'app' | 'file' | 'folder';
  /** "this computer", or the name of the folder the record file is in. */
  name: string;
  deviceKeyId: KeyIdText;
  /** The ID of the recovery code that opens it (written beside the code). */
  codeKeyId: KeyIdText;
  createdAt: string;
  /** Organization recovery keys that open it. */
  sealedTo: KeyIdText[];
  /** Protected files in this account's folders, and how many of them the record's key opens. */
  filesTotal: number;
  filesUsingKey: number;
}

/** What a device restore did; `newCode` is shown once (the used code was read out, so it is replaced). */
export interface DeviceRestoreView {
  restoredKeyId: KeyIdText;
  deviceKeyId: KeyIdText;
  replacedKeyId: KeyIdText | null;
  rewrap: { filesTotal: number; rewrapped: number; failed: number } | null;
  newCode?: IssuedCodeView;
  warnings: string[];
  /** Procedure E: the protect run of the backup folder, started after the restore. */
  protectRunId?: string;
}

export interface FolderView {
  id: string;
  path: string;
  /** Set by the organization's policy: the user cannot remove or unprotect it. */
  mandatory: boolean;
  protectedFiles: number;
  plaintextFiles: number;
  protectedBytes: number;
  /**
   * Files left readable for any reason (waiting, in use, conflict, hard link…): the one count behind "all
   * files protected" (electron/services/folders/clear-state.ts). `inTheClear` lists the first of them.
   */
  inTheClearFiles: number;
  inTheClear: FileError[];
  /** Left out on purpose: OS litter, open documents' lock files, exclusions. */
  excludedFiles: number;
  /**
   * Protected files that no current organization recovery key opens ("not recoverable by IT"), by header
   * key IDs (RotationService.coverage, the CLI status's definition). Absent when not counted.
   */
  notRecoverableFiles?: number;
  lastRun: { at: number; outcome: 'ok' | 'partial' | 'failed' | 'cancelled' } | null;
  runningRunId: string | null;
  /**
   * Coffer cannot see the folder (electron/main/folder-presence.ts): `missing` (its path is gone: a drive
   * unplugged, a folder moved) or `not-mounted` (an empty mount point: its drive is not mounted). Its counts
   * then say nothing about its files: never "protected". Absent when the folder is there.
   */
  unavailable?: 'missing' | 'not-mounted';
}

/** The machine policy as the UI shows it: whether it applies, where it comes from, what is wrong with it. */
/** The About panel: what this machine runs (issue 12 item 3). null: not running in Electron (tests). */
export interface AboutInfo {
  app: string;
  electron: string | null;
  chromium: string | null;
  node: string;
  libsodium: string;
  policy: { status: PolicyView['status']; origin: string };
}

export interface PolicyView {
  status: 'none' | 'active' | 'invalid';
  /** Where Coffer read it (a file, a registry key, managed preferences). */
  origin: string;
  /** Why an invalid policy was refused, one line each; empty otherwise. */
  problems: string[];
  /** Every setting the policy manages, shown locked ("set by your organization"). */
  settings: ManagedSetting[];
  /** The Helpdesk page is shown only where the policy turns the helpdesk tools on. */
  helpdeskTools: boolean;
  /** Policy `helpdeskContact`: who employees contact, printed on the recovery kit; null when not set. */
  helpdeskContact: string | null;
}

/** What the printed recovery kit says besides the code (issue 12 item 6): this computer and who to call. */
export interface RecoveryKitInfo {
  /** This computer's name, as the helpdesk sees it (the host name). */
  device: string;
  /** Policy `helpdeskContact`, or null: the kit then says to ask the IT team. */
  helpdeskContact: string | null;
}

export interface AppSettings {
  /** Minutes of idle time before open files are saved and closed; null = never. */
  autoLock: { minutes: number | null; managed: boolean };
}

export type UpdateStatus =
  | { state: 'disabled'; reason: string }
  | { state: 'idle'; url: string; lastCheck: string | null }
  | { state: 'checking'; url: string }
  | { state: 'downloading'; url: string; version: string }
  | { state: 'ready'; url: string; version: string }
  | { state: 'error'; url: string; message: string };

export interface Overview {
  policy: { status: PolicyView['status']; origin: string; problems: string[] };
  folders: number;
  filesProtected: number;
  plaintextWaiting: number;
  /** Every file in the clear in protected folders, for any reason; 0 is "all files protected". */
  inTheClear: number;
  /**
   * Of `inTheClear`, the files Coffer is protecting by itself (waiting for their quiet period, or a run is
   * reaching them): the tray's "being protected", by the same rule (clear-split.ts). Absent: 0.
   */
  beingProtected?: number;
  /** Folders Coffer cannot see (FolderView.unavailable): their files are neither protected nor counted. */
  unavailable?: { path: string; reason: NonNullable<FolderView['unavailable']> }[];
  /**
   * Protected files no current organization recovery key opens (FolderView.notRecoverableFiles, summed);
   * null when a folder's count could not be made (never shown as 0: "all recoverable").
   */
  notRecoverable: number | null;
  lastRun: { at: number; outcome: 'ok' | 'partial' | 'failed' | 'cancelled' } | null;
  keychain: KeychainStatus;
  recovery: RecoveryStatus;
}

export interface FileEntry {
  name: string;
  relPath: string;
  kind: 'dir' | 'protected' | 'plaintext' | 'other';
  size: number;
  mtimeMs: number;
}

export interface FileError {
  path: string;
  code: string;
  message: string;
  hint?: string;
}

export interface Progress {
  runId: string;
  kind: 'protect' | 'unprotect' | 'restore' | 'rekey';
  folderId: string | null;
  state: 'running' | 'done' | 'cancelled' | 'failed';
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Milliseconds left, estimated from throughput so far; null until there is enough to estimate. */
  etaMs: number | null;
  errors: FileError[];
}

export interface FileInspection {
  path: string;
  name: string;
  /** `thisDevice`: a device key slot for this laptop's own key (the helpdesk's table says so). */
  stanzas: { kind: 'device' | 'recovery' | 'unknown'; keyId: KeyIdText; thisDevice?: boolean }[];
  /** True when the loaded organization key (helpdesk) or this device's key opens it. */
  opensWithLoadedKey: boolean;
  opensOnThisDevice: boolean;
  error?: ErrorInfo;
}

export interface ActivityEntry {
  id: string;
  at: number;
  action: string;
  target: string;
  outcome: 'ok' | 'error' | 'cancelled';
  detail?: string;
  /** A security event the audit trail does not hold (the Activity file is plain; the trail is signed). */
  unverified?: boolean;
}

/**
 * The Activity screen's filters (issue 12 item 6), applied alike by the screen and by main's export
 * (electron/shared/activity-view.ts). `from`/`to` are epoch ms, inclusive; `text` matches any column.
 */
export interface ActivityFilter {
  category?: ActivityCategory | undefined;
  from?: number | undefined;
  to?: number | undefined;
  text?: string | undefined;
}
export type ActivityCategory =
  'protection' | 'files' | 'keys' | 'helpdesk' | 'settings' | 'audit' | 'security' | 'other';

/** Whether the tamper-evident audit trail (issue 11 item 2) verifies; `problem` names the first bad record. */
export interface TrailCheck {
  ok: boolean;
  records: number;
  problem?: string;
}

/** One file of a data audit (issue 11 item 1): counts per detector only, never a matched value. */
export interface AuditFileView {
  path: string;
  /** The folder it is in (shown as the folder's name, the path on hover). */
  folder: string;
  protected: boolean;
  findings: Record<string, number>;
  modified: number;
  stale: boolean;
}

/** What one scan found, kept per scan for the trend (electron/main/adapters/audit.ts). */
export interface AuditSummaryView {
  at: number;
  filesScanned: number;
  /** Files with at least one finding. */
  filesWithData: number;
  /** Of those, how many are not protected. */
  unprotectedWithData: number;
  staleFiles: number;
  skipped: number;
  /** Findings per detector, summed over files. */
  byDetector: Record<string, number>;
}

export interface AuditView {
  last: AuditSummaryView | null;
  /** Files with findings or stale, most findings first (at most 1,000; `filesNotListed` says how many more). */
  files: AuditFileView[];
  filesNotListed: number;
  /** Files the scan could not read, with the reason in plain language (at most 200). */
  skipped: { path: string; reason: string }[];
  /** One summary per scan, oldest first (the last 60). */
  history: AuditSummaryView[];
  retentionDays: number | null;
  running: boolean;
  /** Findings in the clear whose protect run was started (Protect folder, Move): listed until protected. */
  protecting: number;
}

export interface AuditProgress {
  filesDone: number;
  filesTotal: number | null;
  bytesDone: number;
}

export interface ManagedSetting {
  key: string;
  label: string;
  value: string;
  /** "set by your organization": shown locked in the UI. */
  locked: boolean;
}

export interface EditSession {
  id: string;
  folderId: string;
  relPath: string;
  name: string;
  openedAt: number;
  /** A program or script: shown in the file manager, never handed to the OS to run (workspace.ts). */
  revealed?: boolean;
}

export type CofferEvent =
  | { type: 'progress'; progress: Progress }
  | {
      type: 'changed';
      what: 'folders' | 'recovery' | 'activity' | 'edits' | 'helpdesk' | 'settings' | 'audit';
    }
  | { type: 'audit-progress'; progress: AuditProgress }
  | { type: 'locked'; reason: 'user' | 'idle' | 'suspend' | 'lock-screen' | 'quit' }
  /** The OS asked Coffer to open `.coffer` files (file association): the window takes them (takeOpenedFiles). */
  | { type: 'file-opened' };

/**
 * A `.coffer` file the OS asked Coffer to open (issue 12 item 6), as inspected in main without writing
 * anything (electron/main/open-file.ts). The renderer knows it by `token` only, never by path.
 */
export interface OpenedFileView {
  token: string;
  /** The file's name on disk. */
  name: string;
  /** The protected folder it sits in (relPath for openForEdit / showInFileManager), or null. */
  folder: { id: string; name: string; path: string; relPath: string } | null;
  /** The size of the original, from the file's length (FORMAT.md §5.2); null when the length is impossible. */
  originalSize: number | null;
  /** The keys the file was protected for, and whether this device holds each. */
  keyIds: { kind: 'device' | 'recovery' | 'unknown'; keyId: KeyIdText; onThisDevice: boolean }[];
  opensOnThisDevice: boolean;
  /** `verified`: every byte authenticated; `not-checked`: too large to check here, or it does not open. */
  integrity: 'verified' | 'not-checked';
  /** Why it cannot be opened (damaged, another key, not a Coffer file...), with its stable code. */
  problem?: ErrorInfo;
}

// ---------------------------------------------------------------------------------------------------------
// The method table

const empty = z.strictObject({});
/** The `reviewed` digest of the StateReview the user confirmed (the banner's dialog). */
const stateConfirm = z.strictObject({ reviewed: z.string().regex(/^[0-9a-f]{64}$/) });
const folderRef = z.strictObject({ folderId: id });
const fileRef = z.strictObject({ folderId: id, relPath });
const runRef = z.strictObject({ runId: id });
const dirRef = z.strictObject({ folderId: id, dir: relPath });
const editRef = z.strictObject({ editId: id });
/** A file the OS asked Coffer to open, by the token main gave it (open-file.ts): never a path. */
const openedRef = z.strictObject({ token: z.string().regex(/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/) });
/** Eight groups of six digits (DESIGN.md "Personal recovery code"); checked for typos in main. */
const codeGroups = z.strictObject({ groups: z.array(z.string().max(12)).length(8) });
/** One §11.2 line ("coffer-recovery-1:" + 48 characters), with room for pasted whitespace; parsed in main. */
const publicKeyText = z.string().min(1).max(512);
const keyLine = z.strictObject({ line: publicKeyText });
const trustKey = z.strictObject({ line: publicKeyText, label: z.string().trim().max(80).optional() });
const keyIdRef = z.strictObject({ keyId: z.string().min(1).max(64) });
const passphrase = z.strictObject({ passphrase: z.string().min(1).max(1024) });
const pickWhat = z.strictObject({ what: z.enum(['files', 'folder']) });
/** Where the record to restore from is: this account's own, or one chosen in main's native dialog. */
const recordPick = z.strictObject({ from: z.enum(['app', 'file']) });
const backupPick = empty;
/** Whole minutes, as the policy's autoLockMinutes (1..1440); null turns auto-lock off. */
const autoLock = z.strictObject({ minutes: z.number().int().min(1).max(1440).nullable() });
const restore = z.strictObject({
  paths: z.array(z.string().min(1).max(4096)).min(1).max(100_000),
  mode: z.enum(['decrypt', 'rekey']),
});

const activityFilter = z.strictObject({
  category: z
    .enum(['protection', 'files', 'keys', 'helpdesk', 'settings', 'audit', 'security', 'other'])
    .optional(),
  from: z.number().int().nonnegative().optional(),
  to: z.number().int().nonnegative().optional(),
  text: z.string().max(200).optional(),
});
const exportActivity = z.strictObject({ format: z.enum(['jsonl', 'csv']), filter: activityFilter });
/** `pick`: ask for one folder to scan; otherwise the policy's audit roots and every protected folder. */
const auditScan = z.strictObject({ pick: z.boolean() });
/** An absolute path from the last scan's findings; main refuses any other (adapters/audit.ts). */
const auditAct = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('protect-folder'), path: z.string().min(1).max(4096) }),
  z.strictObject({ action: z.literal('move'), path: z.string().min(1).max(4096), folderId: id }),
  z.strictObject({ action: z.literal('delete'), path: z.string().min(1).max(4096) }),
]);

// R is a phantom type parameter on purpose: it types the response without a runtime value.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
function method<S extends z.ZodType, R>(request: S): { request: S; response: R } {
  // `response` exists only at the type level; the runtime table needs the request schemas alone.
  return { request } as { request: S; response: R };
}

export const contract = {
  getOverview: method<typeof empty, Overview>(empty),
  getPolicy: method<typeof empty, PolicyView>(empty),
  getAbout: method<typeof empty, AboutInfo>(empty),
  getSettings: method<typeof empty, AppSettings>(empty),
  /** Refused with POLICY_LOCKED while the organization's policy sets the delay. */
  setAutoLock: method<typeof autoLock, AppSettings>(autoLock),
  getUpdateStatus: method<typeof empty, UpdateStatus>(empty),
  /** Checks the update feed now; no network request at all while updates are off (no URL). */
  checkForUpdates: method<typeof empty, UpdateStatus>(empty),
  /** Wipes the open-for-edit workspace (after saving edits back). */
  lock: method<typeof empty, { wiped: number }>(empty),

  listFolders: method<typeof empty, FolderView[]>(empty),
  /** Opens the native folder picker; null when the user cancelled it. */
  addFolder: method<typeof empty, FolderView | null>(empty),
  removeFolder: method<typeof folderRef, { removed: true }>(folderRef),
  protectFolder: method<typeof folderRef, { runId: string }>(folderRef),
  unprotectFolder: method<typeof folderRef, { runId: string }>(folderRef),
  cancelRun: method<typeof runRef, { cancelled: boolean }>(runRef),
  getRuns: method<typeof empty, Progress[]>(empty),

  listFiles: method<typeof dirRef, FileEntry[]>(dirRef),
  openForEdit: method<typeof fileRef, EditSession>(fileRef),
  listEdits: method<typeof empty, EditSession[]>(empty),
  /** Encrypts the edited copy back into the folder and wipes it from the workspace. */
  closeEdit: method<typeof editRef, { saved: boolean }>(editRef),
  /** Opens a save dialog; null when the user cancelled it. */
  decryptCopy: method<typeof fileRef, { savedTo: string } | null>(fileRef),
  verifyFile: method<typeof fileRef, { name: string; size: number }>(fileRef),
  /** Shows a file or folder of a protected folder (relPath '' = the folder) in the OS file manager. */
  showInFileManager: method<typeof fileRef, { shown: true }>(fileRef),
  /** The `.coffer` files the OS asked Coffer to open since last asked; `dropped`: past the queue's limit. */
  takeOpenedFiles: method<typeof empty, { files: { token: string; name: string }[]; dropped: number }>(empty),
  /** Inspects an opened file (header, keys, integrity) without writing anything; problems are in the view. */
  inspectOpenedFile: method<typeof openedRef, OpenedFileView>(openedRef),
  /** Shows an opened file in the OS file manager (nothing is opened or run). */
  showOpenedFile: method<typeof openedRef, { shown: true }>(openedRef),

  getRecovery: method<typeof empty, RecoveryStatus>(empty),
  /**
   * The one time the code leaves main: shown once, then only its key ID is ever told again. `warnings`
   * says what went wrong after the record was written (e.g. a copy beside a folder): the code works anyway.
   */
  makeRecoveryCode: method<typeof empty, IssuedCodeView>(empty),
  /** What the printed recovery kit shows besides the code: the computer's name and the helpdesk contact. */
  getRecoveryKit: method<typeof empty, RecoveryKitInfo>(empty),
  confirmRecoveryCode: method<typeof codeGroups, { confirmed: true }>(codeGroups),
  /** Opens a save dialog for the escrow record; null when cancelled. */
  exportEscrow: method<typeof empty, { savedTo: string } | null>(empty),
  /** Checks a pasted public key line (BAD_PUBLIC_KEY when mistyped) and names it by key ID; trusts nothing. */
  previewRecoveryKey: method<typeof keyLine, RecoveryKeyPreview>(keyLine),
  /** Every file written from now on also carries a stanza for this key; trusting one twice changes nothing. */
  trustRecoveryKey: method<typeof trustKey, { keyId: KeyIdText; added: boolean }>(trustKey),
  /** Stops adding a user-trusted key to new files; a key set by the policy is refused with POLICY_LOCKED. */
  untrustRecoveryKey: method<typeof keyIdRef, { keyId: KeyIdText }>(keyIdRef),

  /** Opens a file picker for the organization recovery key file and unlocks it; null when cancelled. */
  helpdeskLoadKey: method<typeof passphrase, { keyId: KeyIdText } | null>(passphrase),
  helpdeskUnloadKey: method<typeof empty, { unloaded: true }>(empty),
  /** The key ID of the organization key loaded in main (kept across pages until unloaded), or null. */
  helpdeskStatus: method<typeof empty, { keyId: KeyIdText | null }>(empty),
  /** Opens a picker (files or a folder) and inspects every `.coffer` file found; null when cancelled. */
  helpdeskPick: method<typeof pickWhat, FileInspection[] | null>(pickWhat),
  /**
   * Restores files with the loaded key: `decrypt` asks for a destination folder, `rekey` rewrites headers
   * for this device in place. Only paths returned by the last helpdeskPick are accepted.
   */
  helpdeskRestore: method<typeof restore, { runId: string } | null>(restore),

  /**
   * Picks the key record for a device restore (this account's, or a `.coffer-escrow.json` through the
   * native dialog; null when cancelled) and remembers it in main; the restore uses only that one.
   */
  pickRestoreRecord: method<typeof recordPick, EscrowRecordView | null>(recordPick),
  /**
   * The user's own restore with their recovery code (typed once; never sent back, logged or recorded).
   * Typos, a wrong or used code and an unreadable record are refused before anything is written.
   */
  restoreDeviceWithCode: method<typeof codeGroups, { runId: string }>(codeGroups),
  /** Waits for a device restore run and hands over its outcome once (with the new code, shown once). */
  deviceRestoreResult: method<typeof runRef, DeviceRestoreView>(runRef),
  /** Helpdesk: picks the folder of a backup; its `.coffer-escrow.json` is the record (procedure E). */
  helpdeskPickBackup: method<typeof backupPick, EscrowRecordView | null>(backupPick),
  /** Helpdesk: restores the picked record's device key with the loaded organization key. */
  helpdeskRestoreDevice: method<typeof empty, { runId: string }>(empty),

  listActivity: method<typeof empty, ActivityEntry[]>(empty),
  /** Checks the audit trail's chain and MACs (AuditLog.verify), for the Activity screen's line about it. */
  verifyActivity: method<typeof empty, TrailCheck>(empty),
  /** Writes the filtered entries through the save dialog; null when cancelled. */
  exportActivity: method<typeof exportActivity, { savedTo: string; entries: number } | null>(exportActivity),

  /** The last data audit, its findings and the trend of past scans (issue 11 item 4). */
  getAudit: method<typeof empty, AuditView>(empty),
  /** Runs a scan (progress as `audit-progress` events); null when the folder picker was cancelled. */
  runAudit: method<typeof auditScan, AuditView | null>(auditScan),
  cancelAudit: method<typeof empty, { cancelled: boolean }>(empty),
  /**
   * Acts on a file of the last scan: protect its folder (add + protect run), move it into a protected
   * folder (then that folder's protect run), or delete it (the screen confirms first). `runId` for runs.
   */
  auditAct: method<typeof auditAct, { done: string; runId?: string }>(auditAct),

  /** Never fails over tampered state (that is what it reports), so Overview can show it. */
  getStateReview: method<typeof empty, StateReview>(empty),
  /** Signs the current content of every state file that does not verify, after the user has seen it. */
  confirmState: method<typeof stateConfirm, StateReview>(stateConfirm),
} as const;

export type Contract = typeof contract;
export type MethodName = keyof Contract;
export type RequestOf<M extends MethodName> = z.infer<Contract[M]['request']>;
export type ResponseOf<M extends MethodName> = Contract[M]['response'];

export const methodNames = Object.keys(contract) as MethodName[];

/** The one place a channel string is made. */
export function channelOf(method: MethodName): string {
  return `coffer:${method}`;
}

/** Main → renderer events travel on this one channel, typed as CofferEvent. */
export const EVENT_CHANNEL = 'coffer:event';

/** What `window.coffer` is: one function per method, answering the envelope, and one subscription. */
export type CofferApi = {
  [M in MethodName]: (request: RequestOf<M>) => Promise<Result<ResponseOf<M>>>;
} & {
  onEvent(listener: (event: CofferEvent) => void): () => void;
};
