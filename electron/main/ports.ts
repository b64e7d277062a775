/**
 * What the IPC handlers need from the services, as small interfaces. The composition root adapts the real
 * services (electron/services/*) to these; tests pass fakes for the IPC layer alone and the real services for
 * e2e. Secrets stay behind these ports: nothing here returns a key, only key IDs.
 */
import type {
  ActivityEntry,
  ActivityFilter,
  AppSettings,
  AuditView,
  DeviceRestoreView,
  EditSession,
  EscrowRecordView,
  FileEntry,
  FileInspection,
  FolderView,
  IssuedCodeView,
  OpenedFileView,
  KeychainStatus,
  PolicyView,
  Progress,
  RecoveryKeyPreview,
  RecoveryStatus,
  StateReview,
  TrailCheck,
  UpdateStatus,
} from '../shared/contract.js';

export interface KeysPort {
  keychainStatus(): Promise<KeychainStatus>;
  recoveryStatus(): Promise<RecoveryStatus>;
  /** Makes a new personal recovery code and its escrow record; the groups are shown once. */
  makeRecoveryCode(): Promise<IssuedCodeView>;
  /** Throws CofferError (e.g. BAD_RECOVERY_CODE) when the groups typed back do not match. */
  confirmRecoveryCode(groups: string[]): Promise<void>;
  exportEscrow(toPath: string): Promise<void>;
  /** Parses a §11.2 line (BAD_PUBLIC_KEY) and says whether it is trusted already; changes nothing. */
  previewRecoveryKey(line: string): Promise<RecoveryKeyPreview>;
  trustRecoveryKey(line: string, label?: string): Promise<{ keyId: string; added: boolean }>;
  /** Throws POLICY_LOCKED for a key the policy sets, NOT_TRUSTED / BAD_KEY_ID otherwise. */
  untrustRecoveryKey(keyId: string): Promise<{ keyId: string }>;
}

export interface FoldersPort {
  /**
   * `notRecoverable: false` leaves notRecoverableFiles out: counting it opens every .coffer header (in a
   * worker that remembers them, CoverageCounter), which the tray, listing every minute, does not show.
   */
  list(options?: { notRecoverable?: boolean }): Promise<FolderView[]>;
  add(path: string): Promise<FolderView>;
  remove(folderId: string): Promise<void>;
  protect(folderId: string): Promise<{ runId: string }>;
  unprotect(folderId: string): Promise<{ runId: string }>;
  cancel(runId: string): boolean;
  runs(): Progress[];
  listFiles(folderId: string, dir: string): Promise<FileEntry[]>;
  /** The absolute path of a file inside a folder; throws when it would leave the folder. */
  resolve(folderId: string, relPath: string): Promise<string>;
  onProgress(listener: (progress: Progress) => void): () => void;
}

export interface WorkspacePort {
  /** Decrypts into the private edit workspace; returns the session and the path to hand to the OS. */
  open(folderId: string, relPath: string): Promise<EditSession & { editPath: string; runnable: boolean }>;
  list(): EditSession[];
  close(editId: string): Promise<{ saved: boolean }>;
  /** Saves pending edits back, then wipes the workspace; returns how many files were wiped. */
  lockAll(): Promise<number>;
}

export interface FilesPort {
  /** `destination` is one the user confirmed in the save dialog (which asks before replacing a file). */
  decryptTo(source: string, destination: string): Promise<void>;
  verify(path: string): Promise<{ name: string; size: number }>;
}

export interface HelpdeskPort {
  loadKey(keyFile: string, passphrase: string): Promise<{ keyId: string }>;
  unloadKey(): void;
  /** The loaded organization key's ID, or null. */
  loadedKeyId(): string | null;
  /** Finds `.coffer` files under the given paths (files or folders) and says which keys open each. */
  inspect(paths: string[]): Promise<FileInspection[]>;
  restore(paths: string[], mode: 'decrypt' | 'rekey', destination: string | null): Promise<{ runId: string }>;
  onProgress(listener: (progress: Progress) => void): () => void;
}

/** A device key restore (adapters/device-restore.ts): the record is picked and remembered in main. */
export interface DeviceRestorePort {
  /** `file` from main's dialog (null: this account's own record); `folder` for procedure E. */
  pick(file: string | null, folder?: string | null): EscrowRecordView;
  pickedFolder(): string | null;
  forget(): void;
  startWithCode(groups: string[]): Promise<{ runId: string }>;
  /** With the helpdesk's loaded organization key (NO_RECOVERY_KEY_LOADED when none). */
  startWithKey(): Promise<{ runId: string }>;
  /** Once per run; `folder` is the backup folder of procedure E (main only: protected again after). */
  result(runId: string): Promise<{ view: DeviceRestoreView; folder: string | null }>;
}

export interface PolicyPort {
  /** Status, origin, problems and managed settings: what the UI shows, an invalid policy included. */
  view(): PolicyView;
  /** Each throws CofferError (POLICY_INVALID, POLICY_FORBIDS) when the organization forbids the operation. */
  assertCanRemoveFolder(folder: string): void;
  assertCanUnprotect(): void;
  assertCanDecryptCopy(): void;
  assertHelpdeskTools(): void;
}

export interface SettingsPort {
  get(): AppSettings;
  /** Throws POLICY_LOCKED while the policy sets the delay. */
  setAutoLock(minutes: number | null): AppSettings;
}

export interface UpdatesPort {
  current(): UpdateStatus;
  checkNow(): Promise<UpdateStatus>;
}

export interface ActivityPort {
  list(): ActivityEntry[];
  record(entry: Omit<ActivityEntry, 'id' | 'at'>): void;
}

/** The Activity screen's export (adapters/activity-view.ts). */
export interface ActivityExportPort {
  /** Writes the entries the filter keeps to `destination` (from the save dialog); returns how many. */
  exportTo(destination: string, format: 'jsonl' | 'csv', filter: ActivityFilter): number;
  /** The audit trail's check (chain and MACs). */
  verify(): Promise<TrailCheck>;
}

/** An action on a file of the last data audit (electron/main/adapters/audit.ts checks the path). */
export type AuditAction =
  | { action: 'protect-folder'; path: string }
  | { action: 'move'; path: string; folderId: string }
  | { action: 'delete'; path: string };

/** The app's data audit (issue 11 item 4): scans, the trend of past scans, actions on findings. */
export interface AuditPort {
  view(): AuditView;
  /** Scans `paths`, or the policy's audit roots and every protected folder when undefined. */
  scan(paths: string[] | undefined): Promise<AuditView>;
  cancel(): boolean;
  act(request: AuditAction): Promise<{ done: string; runId?: string }>;
}

export interface DialogPort {
  pickFolder(title: string): Promise<string | null>;
  pickFiles(title: string, filters?: { name: string; extensions: string[] }[]): Promise<string[] | null>;
  pickSavePath(title: string, defaultName: string): Promise<string | null>;
}

export interface ShellPort {
  /** Opens a file with the OS default app; resolves to an error message, or '' on success. */
  openPath(path: string): Promise<string>;
  /** Shows the file selected in the file manager, without opening it. */
  showItemInFolder(path: string): void;
}

/** The signed state files (issue 9 item 1): what they hold, and confirming them after a change. */
export interface StatePort {
  review(): StateReview;
  /** Signs the files as `reviewed` (StateReview.reviewed) says they were shown; refused if changed since. */
  confirm(reviewed: string): Promise<StateReview>;
}

export interface Ports {
  keys: KeysPort;
  folders: FoldersPort;
  workspace: WorkspacePort;
  files: FilesPort;
  helpdesk: HelpdeskPort;
  deviceRestore: DeviceRestorePort;
  policy: PolicyPort;
  settings: SettingsPort;
  updates: UpdatesPort;
  activity: ActivityPort & ActivityExportPort;
  audit: AuditPort;
  dialog: DialogPort;
  shell: ShellPort;
  state: StatePort;
  openedFiles: OpenedFilesPort;
}

/** `.coffer` files the OS asked Coffer to open (open-file.ts): known to the renderer by token only. */
export interface OpenedFilesPort {
  take(): { files: { token: string; name: string }[]; dropped: number };
  /** Never writes; a damaged file or one for another key is a view with a `problem`. */
  inspect(token: string): Promise<OpenedFileView>;
  /** NOT_FOUND for a token main did not hand out. */
  pathOf(token: string): string;
}
