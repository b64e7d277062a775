/**
 * The one composition root: builds every service from app paths and injected platform pieces (dialogs,
 * shell, keychain, policy source), adapts them to the ports, and returns the handler table. No Electron
 * import: main.ts passes Electron's dialog and shell in, and the e2e tests build the very same app with
 * scripted dialogs, a private keychain and a test policy file.
 */
import os from 'node:os';
import path from 'node:path';
import { CofferError } from '../../crypto/errors.js';
import { formatKeyId, recoveryKeyId } from '../../crypto/keys.js';
import { defaultBackend, type SodiumBackend } from '../../crypto/sodium.js';
import { DeviceKeyService } from '../services/keys/device-key.js';
import { OsKeyStore, keychainService, type KeyStore } from '../services/keys/key-store.js';
import type { KeychainHelperLauncher } from '../services/keys/keychain-helper.js';
import { parsePublicKey } from '../services/keys/public-key-text.js';
import { RecoveryService } from '../services/keys/recovery-service.js';
import { FolderEscrowCopies } from '../services/keys/folder-escrow.js';
import { TrustedRecoveryKeys, userKeyRule } from '../services/keys/trusted-keys.js';
import { WriteKeys } from '../services/keys/write-keys.js';
import { RekeyService } from '../services/keys/rekey.js';
import { SettlingWorkerPool } from '../services/keys/settling-pool.js';
import {
  RotationService,
  currentRecoveryKeyIds,
  headerJournalDir,
  listProtected,
} from '../services/keys/rotation.js';
import { deviceKeyUsage } from '../services/keys/key-usage.js';
import { CoverageCounter } from '../services/keys/coverage-counter.js';
import { HeaderRewriter } from '../services/headers/header-rewriter.js';
import { policySourceFor } from '../services/policy/platform.js';
import { PolicyService } from '../services/policy/policy-service.js';
import { runCommand } from '../services/policy/run-command.js';
import type { PolicySource } from '../services/policy/sources.js';
import { FolderService, lockDirIn } from '../services/folders/folder-service.js';
import { WorkerPool } from '../services/folders/pool.js';
import { FolderRegistry } from '../services/folders/registry.js';
import { EditWorkspace } from '../services/folders/workspace.js';
import { guardRailsFor, realOrSelf } from '../services/folders/guard-rails.js';
import { SafeFiles, TempJournal, tempJournalDirIn } from '../services/safe-file.js';
import { JsonSettingsStore } from '../services/settings.js';
import { StateFiles, stateFilesIn } from '../services/state/state-files.js';
import type { CofferEvent, ManagedSetting } from '../shared/contract.js';
import { ActivityLog } from './activity.js';
import { AuditLog, auditDirIn } from '../services/audit-log/audit-log.js';
import { AuditTrail } from '../services/audit-log/security-events.js';
import { AuditedActivity, recordRunProblems } from '../services/audit-log/activity-events.js';
import { AuditForwarder } from '../services/audit-log/forwarder.js';
import { ReadableActivity } from './adapters/activity-view.js';
import { AuditAdapter } from './adapters/audit.js';
import { DeviceRestoreAdapter } from './adapters/device-restore.js';
import { HelpdeskAdapter } from './adapters/helpdesk.js';
import { KeysAdapter } from './adapters/keys.js';
import { StateAdapter } from './adapters/state.js';
import { FoldersAdapter, WorkspaceAdapter } from './adapters/folders.js';
import { FolderPresence } from './folder-presence.js';
import { MountsSeenFile } from './mounts-seen.js';
import { StatusCache } from '../services/folders/status-cache.js';
import { AutoProtect } from './auto-protect.js';
import { AuditService } from '../services/audit/scanner.js';
import { AuditCacheKey } from '../services/audit/cache-key.js';
import type { HandlerTable } from './handle.js';
import { createHandlers } from './handlers.js';
import { aboutInfo, appVersion, libsodiumVersion } from './about.js';
import type {
  DialogPort,
  FilesPort,
  PolicyPort,
  Ports,
  SettingsPort,
  ShellPort,
  UpdatesPort,
} from './ports.js';
import { OpenedFiles } from './open-file.js';
import { PreferencesFile } from './preferences.js';
import { Updater, type UpdaterEngine } from './updater.js';
import { RunTracker } from './runs.js';
import { ChangeNotingEvents } from '../services/report/change-events.js';
import { ReportPublisher } from '../services/report/publisher.js';
import { ReportSchedule, makeSignedReport } from '../services/report/schedule.js';
import { ReportSigningKey } from '../services/report/signing-key.js';
import { lastAttestedScan } from '../services/audit/attested-scan.js';

export interface AppOptions {
  /** The app data folder (Electron's userData; COFFER_HOME in tests). */
  userData: string;
  dialog: DialogPort;
  shell: ShellPort;
  emit: (event: CofferEvent) => void;
  log: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Defaults to the OS keychain under service `Coffer` (COFFER_KEYCHAIN_SERVICE overrides the name). */
  keyStore?: KeyStore;
  /** How that keychain's helper starts: main passes the utilityProcess launcher (runAsNode is off). */
  keychainLauncher?: KeychainHelperLauncher;
  /** Defaults to the platform's policy source. */
  policySource?: PolicySource;
  /** Honour COFFER_POLICY_FILE (development and tests only; main passes !app.isPackaged). */
  allowPolicyOverride?: boolean;
  /** Update wiring from main (Electron's app facts); absent = not packaged, so updates are off. */
  updates?: {
    platform: NodeJS.Platform;
    isPackaged: boolean;
    resourcesPath: string;
    builtInUrl: string | undefined;
    macCodeSigned: boolean;
    loadEngine?: (platform: NodeJS.Platform) => Promise<UpdaterEngine>;
  };
  /** How long new plaintext must stay unchanged before the watcher protects it (default 1 s). */
  watchStableMs?: number;
  /** Worker threads for protect runs (default: one per core). */
  workers?: number;
}

export type LockReason = Extract<CofferEvent, { type: 'locked' }>['reason'];

export interface BuiltApp {
  ports: Ports;
  handlers: HandlerTable;
  runs: RunTracker;
  sodium: SodiumBackend;
  /** Called after any change that the tray status depends on. */
  onChange(listener: () => void): () => void;
  /** Saves and wipes every open file of the edit workspace (user, idle, suspend, lock screen, quit). */
  lock(reason: LockReason): Promise<number>;
  /** Files open for editing now (the auto-lock timer only locks when there are some). */
  openFiles(): number;
  /** The auto-lock delay in minutes that applies now (policy over the user's choice); null = never. */
  autoLockMinutes(): number | null;
  /** The folders the watcher protects new files in. */
  watchedFolders(): string[];
  /** The data audit (issue 11 item 1): scan, find, lastScan; the Audit screen's adapter and the report use it. */
  audit: AuditService;
  /** `.coffer` files the OS asked the app to open (argv, second-instance, macOS open-file): main adds them. */
  openedFiles: OpenedFiles;
  /**
   * Where the Overview learns which folders' files stayed in the clear past the tray's threshold (main.ts
   * passes its ClearNotifier.stuck), so it calls them what the tray does (electron/shared/clear-split.ts).
   */
  setStuckSource(source: () => ReadonlySet<string>): void;
  close(): Promise<void>;
}

const LABELS: Record<string, string> = {
  recoveryPublicKeys: 'Organization recovery keys',
  requireRecoveryKey: 'Recovery key required',
  mandatoryFolders: 'Folders that must be protected',
  allowUnprotect: 'Decrypting folders in place allowed',
  allowDecryptCopy: 'Saving decrypted copies allowed',
  exclude: 'Kept in the clear inside protected folders',
  allowUserRecoveryKeys: 'Recovery keys of your own allowed',
  autoLockMinutes: 'Lock open files after (minutes)',
  updateUrl: 'Update server',
  auditForward: 'Audit events sent to',
  helpdeskTools: 'Helpdesk tools on this computer',
  auditRoots: 'Folders the data audit scans',
  customerDataPatterns: 'Customer data patterns of your organization',
  retentionDays: 'Data kept at most (days)',
  reportDir: 'Reports for IT saved to',
  helpdeskContact: 'Helpdesk contact',
};

function displayValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(', ');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

export async function buildApp(options: AppOptions): Promise<BuiltApp> {
  const env = options.env ?? process.env;
  const sodium = await defaultBackend();
  const keyStore =
    options.keyStore ??
    new OsKeyStore({
      service: keychainService(env),
      env,
      ...(options.keychainLauncher && { launcher: options.keychainLauncher }),
    });
  // The signed state files (issue 9 item 1): the state key is loaded once here, then used synchronously.
  const state = await StateFiles.openOrDefer({
    sodium,
    keyStore,
    lockDir: lockDirIn(options.userData),
    files: stateFilesIn(options.userData),
  });
  const settings = new JsonSettingsStore(path.join(options.userData, 'settings.json'), state.auth);
  const trustedKeys = new TrustedRecoveryKeys(sodium, settings, () => userKeyRule(policyService.state));
  const deviceKeys = new DeviceKeyService({
    sodium,
    keyStore,
    settings,
    trustedKeys,
    lockDir: lockDirIn(options.userData),
  });
  const describe = (pk: Uint8Array) => formatKeyId(recoveryKeyId(sodium, pk));
  const policyService = new PolicyService({
    source:
      options.policySource ??
      policySourceFor({
        platform: process.platform,
        env,
        userName: os.userInfo().username,
        run: runCommand,
        allowEnvOverride: options.allowPolicyOverride ?? false,
      }),
    caseInsensitivePaths: process.platform === 'win32' || process.platform === 'darwin',
    parseRecoveryPublicKey: (text) => parsePublicKey(sodium, text),
    homeDir: os.homedir(),
    describeRecoveryKey: describe,
    log: { info: options.log, error: options.log },
  });
  await policyService.start();
  const recovery = new RecoveryService({
    sodium,
    deviceKeys,
    trustedKeys,
    settings,
    escrowFile: path.join(options.userData, 'escrow.json'),
    stateAuth: state.auth,
    policyRecipients: () => policyService.recoveryRecipients(),
  });
  const registry = FolderRegistry.inHome(options.userData, state.auth);
  // A copy of the escrow record beside each protected folder (backups carry it), replaced on a new code.
  const escrowCopies = new FolderEscrowCopies({
    records: recovery,
    folders: () => registry.list().map((f) => f.path),
  });
  recovery.onEscrowChanged((record) => escrowCopies.refreshAll(record));

  /** This device, every trusted recovery key and every policy recovery key; checked against the policy. */
  const writeKeys = new WriteKeys({ sodium, deviceKeys, policy: policyService });
  const recipients = () => writeKeys.recipients();

  /** Headers rewritten in place, journalled in app data (shared with the CLI's rewrap). */
  const headerRewriter = new HeaderRewriter({ sodium, journalDir: headerJournalDir(options.userData) });
  const recoveryKeyIds = () =>
    currentRecoveryKeyIds(sodium, trustedKeys.publicKeys(), policyService.recoveryRecipients());
  /** Escrow record, folder copies and every file's header follow the recovery key set. */
  const rotation = new RotationService({
    sodium,
    recipients,
    identities: () => deviceKeys.identities(),
    recoveryKeyIds,
    escrow: recovery,
    copies: escrowCopies,
    folders: () => registry.list().map((f) => f.path),
    rewriter: headerRewriter,
    stateDir: options.userData,
  });
  /** The one rekey, shared with `coffer rekey`. */
  const rekey = new RekeyService({
    sodium,
    recipients: (extra) => writeKeys.recipients(extra),
    rewriter: headerRewriter,
  });
  let rotatedFor: string | null = null;
  /** Runs a rotation in the background when the key set changed (or one did not finish); logged. */
  const rotateIfChanged = (): void => {
    let ids: string;
    try {
      ids = recoveryKeyIds().sort().join(',');
    } catch (error) {
      options.log(`recovery keys unreadable: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (ids === rotatedFor && !rotation.pending()) return;
    rotatedFor = ids;
    rotation
      .run()
      .then((report) => {
        activity.record({
          action: 'Re-wrap to recovery keys',
          target: report.recoveryKeyIds.join(', ') || 'no organization recovery key',
          outcome: report.failed.length === 0 ? 'ok' : 'error',
          detail: `${report.inPlace + report.copied} of ${report.filesTotal} files re-wrapped; escrow ${report.escrow}${report.failed.length ? `; ${report.failed.length} problem(s): ${report.failed.map((f) => `${f.path}: ${f.code}`).join('; ')}` : ''}`,
        });
        emit({ type: 'changed', what: 'activity' });
        emit({ type: 'changed', what: 'folders' });
      })
      .catch((error: unknown) => {
        rotatedFor = null; // try again on the next change
        options.log(`rotation failed: ${error instanceof Error ? error.message : String(error)}`);
      });
  };

  const changeListeners = new Set<() => void>();
  /** Set once the watcher exists: any change to the folders may change what it should watch. */
  let refreshWatcher = (): void => undefined;
  const emit = (event: CofferEvent) => {
    options.emit(event);
    if (event.type === 'changed' && event.what === 'folders') refreshWatcher();
    // Trust, untrust and policy changes all announce 'recovery': a changed key set is rotated (issue 9 item 2).
    if (event.type === 'changed' && event.what === 'recovery') rotateIfChanged();
    if (event.type === 'changed' || (event.type === 'progress' && event.progress.state !== 'running')) {
      for (const l of changeListeners) l();
    }
  };
  // Temp files are journaled in app data, so only those Coffer can prove it made are ever deleted.
  const tempJournal = new TempJournal(tempJournalDirIn(options.userData));
  const safeFiles = new SafeFiles(sodium, { tempJournal });
  /** The user's own auto-lock delay (minutes); the policy's wins when set. */
  const userAutoLock = (): number | null => preferences.read().autoLockMinutes;
  const runs = new RunTracker();
  const activityLog = new ActivityLog(path.join(options.userData, 'activity.jsonl'));
  // The audit trail (issue 11 item 2): each security event of the Activity log is also appended there; a
  // failed append is logged and shown as an Activity error, never thrown into the action that caused it.
  const auditLog = new AuditLog({
    sodium,
    keyStore,
    lockDir: lockDirIn(options.userData),
    dir: auditDirIn(options.userData),
    cacheKey: true,
  });
  // Policy auditForward: sent on after each event, retried with backoff while the collector is away.
  const forwarder = new AuditForwarder({
    log: auditLog,
    url: () => policyService.auditForward(),
    source: os.hostname(),
  });
  // Each recorded event is also a change that policy reportDir hears about (report/schedule.ts, set below).
  let onSecurityChange = (): void => undefined;
  const events = new ChangeNotingEvents(
    new AuditTrail(
      auditLog,
      (message) => {
        options.log(message);
        activityLog.record({
          action: 'Audit log',
          target: auditLog.logFile,
          outcome: 'error',
          detail: message,
        });
      },
      () => {
        forwarder.poke();
      },
    ),
    () => {
      onSecurityChange();
    },
  );
  forwarder.start();
  const activity = new AuditedActivity(
    activityLog,
    events,
    (id) => registry.list().find((f) => f.id === id)?.path,
  );
  const policy: PolicyPort = {
    view: () => {
      const state = policyService.state;
      return {
        status: state.status,
        origin: state.origin,
        problems: state.status === 'invalid' ? [...state.problems] : [],
        settings: policyService.managedSettings().map((s): ManagedSetting => ({
          key: s.key,
          label: LABELS[s.key] ?? s.key,
          value: displayValue(s.value),
          locked: true,
        })),
        helpdeskTools: policyService.helpdeskTools(),
        helpdeskContact: policyService.helpdeskContact() ?? null,
      };
    },
    assertHelpdeskTools: () => {
      policyService.assertHelpdeskTools();
    },
    assertCanRemoveFolder: (folder) => {
      policyService.assertCanRemoveFolder(folder);
    },
    assertCanUnprotect: () => {
      policyService.assertCanUnprotect();
    },
    assertCanDecryptCopy: () => {
      policyService.assertCanDecryptCopy();
    },
  };
  const preferences = new PreferencesFile(path.join(options.userData, 'app-preferences.json'));
  const settingsPort: SettingsPort = {
    get: () => ({ autoLock: policyService.autoLockMinutes(preferences.read().autoLockMinutes) }),
    setAutoLock(minutes) {
      if (policyService.autoLockMinutes(null).managed) {
        throw new CofferError(
          'POLICY_LOCKED',
          'Your organization sets how soon open files are closed.',
          'Ask IT if it should be different.',
        );
      }
      preferences.update({ autoLockMinutes: minutes });
      return settingsPort.get();
    },
  };
  const updater = new Updater({
    platform: options.updates?.platform ?? process.platform,
    isPackaged: options.updates?.isPackaged ?? false,
    resourcesPath: options.updates?.resourcesPath ?? '',
    builtInUrl: options.updates?.builtInUrl,
    macCodeSigned: options.updates?.macCodeSigned ?? false,
    policy: policyService,
    log: { info: options.log, error: options.log },
    ...(options.updates?.loadEngine ? { loadEngine: options.updates.loadEngine } : {}),
  });
  const updates: UpdatesPort = {
    current: () => updater.current(),
    checkNow: () => updater.checkNow(),
  };
  const keyProvider = writeKeys;
  let pool: WorkerPool | null = null;
  const folderService = new FolderService({
    registry,
    keys: keyProvider,
    // Each protect run is settled against the key set once written (a concurrent untrust, issue 9 item 2).
    pool: () =>
      (pool ??= new SettlingWorkerPool(
        { backend: sodium.name, ...(options.workers !== undefined ? { size: options.workers } : {}) },
        rotation,
        (issues) => {
          options.log(`re-wrap after protect: ${issues.map((i) => `${i.path}: ${i.code}`).join('; ')}`);
        },
      )),
    lockDir: lockDirIn(options.userData),
    policy: policyService,
    escrow: escrowCopies,
    // The app's own data and workspace (userData), with the environment it runs in (guard-rails.ts).
    guard: guardRailsFor(options.userData, env),
  });
  // Folder status from memory, scanned and watched in a worker (issue 10 item 9; status-cache.ts).
  const statusCache = new StatusCache({
    appHome: options.userData,
    env,
    policyExclusions: () => policyService.exclusions(),
    ignorePatterns: () => registry.ignorePatterns(),
    onRescan: (root, reason) => {
      options.log(`status cache: scanning ${root} (${reason})`);
    },
  });
  const coverageCounter = new CoverageCounter();
  // One look at the folders for the Overview, the tray and the reports: they name the same folders unavailable.
  const presence = new FolderPresence({
    // Shared with every `coffer` command (mounts-seen.ts): a drive one of them saw, the other tells too.
    memory: MountsSeenFile.inHome(options.userData, () => registry.list().map((f) => f.path)),
  });
  const folders = new FoldersAdapter({
    presence,
    service: folderService,
    runs,
    keys: keyProvider,
    policy: policyService,
    ignorePatterns: () => registry.ignorePatterns(),
    escrow: escrowCopies,
    // Counted in a worker that remembers headers (coverage-counter.ts), never on this thread.
    notRecoverable: (folder) => coverageCounter.notRecoverable(folder, recoveryKeyIds()),
    statusCache,
  });
  const editWorkspace = new EditWorkspace({
    sodium,
    keys: keyProvider,
    dir: path.join(options.userData, 'workspace'),
    onSaved: () => {
      emit({ type: 'changed', what: 'edits' });
    },
    onError: (_session, error) => {
      activity.record({
        action: 'Save edits',
        target: 'open file',
        outcome: 'error',
        detail: error instanceof Error ? error.message : String(error),
      });
      emit({ type: 'changed', what: 'activity' });
    },
  });
  const workspace = new WorkspaceAdapter({ workspace: editWorkspace, folders });
  const files: FilesPort = {
    async decryptTo(source, destination) {
      // The destination comes from the native save dialog, which already asked before replacing a file.
      safeFiles.decryptTo(source, {
        identities: await deviceKeys.identities(),
        output: destination,
        force: true,
      });
    },
    async verify(source) {
      const meta = safeFiles.verify(source, await deviceKeys.identities());
      return { name: meta.name, size: meta.size };
    },
  };
  const keys = new KeysAdapter({
    sodium,
    deviceKeys,
    recovery,
    trustedKeys,
    stateFile: path.join(options.userData, 'recovery-code-state.json'),
    policyRecoveryKeys: () =>
      policyService
        .recoveryRecipients()
        .flatMap((r) =>
          r.kind === 'recovery' ? [{ keyId: describe(r.publicKey), label: 'Deployed by IT' }] : [],
        ),
  });
  const helpdesk = new HelpdeskAdapter({ sodium, safeFiles, deviceKeys, runs, rekey });
  // Restoring a device key (issue 12 item 5): the same RecoveryService.restoreDevice as `coffer restore-device`.
  const deviceRestore = new DeviceRestoreAdapter({
    sodium,
    recovery,
    runs,
    escrowFile: path.join(options.userData, 'escrow.json'),
    rewrap: (o) => rotation.run(o),
    keyUsage: () =>
      deviceKeyUsage(
        listProtected(
          registry.list().map((f) => f.path),
          registry.ignorePatterns(),
        ).files.map((f) => f.path),
      ),
    loadedIdentity: () => helpdesk.loadedIdentity(),
  });

  // The Audit screen (issue 11 item 4): scans through the audit scanner, acts through the folders port.
  // The same AuditService as `coffer audit scan` (cli/context.ts): one cache and one scan history.
  const auditService = new AuditService({
    backend: sodium.name,
    appHome: options.userData,
    policy: () => (policyService.state.status === 'active' ? policyService.state.policy : {}),
    protectedFolders: () => registry.list().map((f) => f.path),
    identities: () => deviceKeys.identities(),
    guard: guardRailsFor(options.userData, env),
    events,
    cacheKey: () => new AuditCacheKey({ sodium, keyStore, lockDir: lockDirIn(options.userData) }).get(),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
  });
  // Breach-readiness reports to policy reportDir (issue 11 item 3, docs/REPORT.md §7): after changes, daily.
  const reportKey = new ReportSigningKey({ sodium, keyStore, lockDir: lockDirIn(options.userData) });
  const reports = new ReportSchedule(
    new ReportPublisher({
      reportDir: () => policyService.reportDir(),
      make: (reason) =>
        makeSignedReport(
          {
            sodium,
            appVersion: appVersion(),
            hostname: os.hostname(),
            user: os.userInfo().username,
            platform: process.platform,
            deviceKeys,
            trustedKeys,
            policy: policyService,
            folders: () => folderService.statusAsync(),
            coverage: (folder) => rotation.coverage(folder),
            isProtected: (folder) => registry.covering(folder) !== undefined,
            auditTrail: async () => {
              const v = await auditLog.verify();
              return { records: v.records, verified: v.ok };
            },
            lastScan: () => lastAttestedScan(auditLog, auditService.requiredRoots()),
            presence: (folder) => presence.check(folder),
          },
          reportKey,
          reason,
        ),
      events,
      stateDir: path.join(options.userData, 'report'),
    }),
    { log: options.log },
  );
  onSecurityChange = () => {
    reports.noteChange();
  };
  reports.start();
  const audit = new AuditAdapter({
    scanner: auditService,
    folders,
    file: path.join(options.userData, 'audit-screen.json'),
    onProgress: (progress) => {
      emit({ type: 'audit-progress', progress });
    },
  });

  // `.coffer` files the OS hands the app (file association, issue 12 item 6): main.ts adds them.
  const openedFiles = new OpenedFiles({
    sodium,
    identities: () => deviceKeys.identities(),
    folders: () => registry.list().map((f) => ({ id: f.id, path: f.path, state: f.state })),
    notify: () => {
      emit({ type: 'file-opened' });
    },
  });
  const ports: Ports = {
    keys,
    folders,
    workspace,
    files,
    helpdesk,
    deviceRestore,
    policy,
    settings: settingsPort,
    updates,
    // Listed and exported in plain language: folder paths, not IDs; words, not errno (issue 12 item 6).
    activity: new ReadableActivity(
      activity,
      (id) => registry.list().find((f) => f.id === id)?.path,
      auditLog,
    ),
    audit,
    dialog: options.dialog,
    shell: options.shell,
    state: new StateAdapter({ sodium, state, trustedKeys }),
    openedFiles,
  };
  runs.onProgress((progress) => {
    emit({ type: 'progress', progress });
    if (progress.state !== 'running') {
      void recordRunProblems(
        events,
        progress,
        () => registry.list().find((f) => f.id === progress.folderId)?.path,
      );
      activity.record({
        action:
          {
            protect: 'Protect',
            unprotect: 'Unprotect',
            restore: 'Helpdesk restore',
            rekey: 'Helpdesk rekey',
          }[progress.kind] + ' finished',
        target: progress.folderId ?? `${progress.filesTotal} file(s)`,
        outcome:
          progress.state === 'done' && progress.errors.length === 0
            ? 'ok'
            : progress.state === 'cancelled'
              ? 'cancelled'
              : 'error',
        detail: `${progress.filesDone}/${progress.filesTotal} files${progress.errors.length ? `, ${progress.errors.length} problem(s)` : ''}`,
      });
      emit({ type: 'changed', what: 'activity' });
      emit({ type: 'changed', what: 'folders' });
    }
  });

  const autoProtect = new AutoProtect({
    list: () => folderService.list(),
    // A folder holding a mandatory one is watched whatever its last run (issue 10 item 5).
    mandatory: (folder) => policyService.mandatoryWithin(folder).length > 0,
    skip: () => folderService.watchFilter(),
    // The guard rails FolderService applies (guardRailsFor(userData, env) and each folder's exclusions).
    rules: () => ({
      appHome: options.userData,
      env,
      folders: folderService.list().map((e) => ({
        root: e.path,
        policyExclusions: [...policyService.exclusions()],
        folderExclusions: [...(e.exclude ?? [])],
      })),
    }),
    sink: folderService,
    ignore: () => registry.ignorePatterns(),
    ...(options.watchStableMs !== undefined ? { stableMs: options.watchStableMs } : {}),
    onOutcomes: (outcomes) => {
      statusCache.touched(outcomes.flatMap((o) => (o.kind === 'done' ? [o.path, o.target] : [o.path])));
      const done = outcomes.filter((o) => o.kind === 'done').length;
      const failed = outcomes.filter((o) => o.kind === 'failed');
      if (done === 0 && failed.length === 0) {
        // Files left as they were (a hard link, in use, changed while read) record no activity, yet they may
        // be in the clear now: the Overview and the tray must look again rather than stay "all protected".
        if (outcomes.length > 0) emit({ type: 'changed', what: 'folders' });
        return;
      }
      activity.record({
        action: 'Auto-protect',
        target: `${done + failed.length} new file(s)`,
        outcome: failed.length === 0 ? 'ok' : 'error',
        detail:
          failed.length === 0 ? `${done} protected` : failed.map((f) => `${f.path}: ${f.code}`).join('; '),
      });
      emit({ type: 'changed', what: 'activity' });
      emit({ type: 'changed', what: 'folders' });
    },
    onError: (error) => {
      options.log(`auto-protect: ${error instanceof Error ? error.message : String(error)}`);
    },
  });

  refreshWatcher = () => void autoProtect.refresh();

  /** Mandatory folders are protected automatically (DEPLOYMENT.md §5), at start and on a policy change. */
  const protectMandatory = async () => {
    for (const folder of policyService.mandatoryFolders()) {
      // By real path: the policy may name the folder through a symlink; the registry keeps real paths.
      if (registry.covering(realOrSelf(folder))) continue;
      try {
        const view = await folders.add(folder);
        await folders.protect(view.id);
        options.log(`protecting ${folder}: required by the organization policy`);
      } catch (error) {
        options.log(
          `cannot protect mandatory folder ${folder}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    emit({ type: 'changed', what: 'folders' });
  };
  policyService.onChange(() => {
    void events.record('policy-changed', {
      status: policyService.state.status,
      origin: policyService.state.origin,
    });
    emit({ type: 'changed', what: 'folders' });
    emit({ type: 'changed', what: 'recovery' });
    emit({ type: 'changed', what: 'settings' });
    void protectMandatory();
  });

  // Start: finish what a crash interrupted (folders first, then open files), then watch and protect.
  // A rotation a crash interrupted is run again (it also finishes journalled header rewrites), and so is one
  // whose escrow record or folder copies are not sealed to the current set (the policy changed while the app
  // was closed, or the marker was deleted); otherwise this is the key set everything was last brought to.
  if (rotation.needsRun()) rotateIfChanged();
  else {
    try {
      rotatedFor = recoveryKeyIds().sort().join(',');
    } catch {
      // unreadable now (tampered state is shown elsewhere): the next change rotates
    }
    // A header rewrite a crash cut that no rotation finishes (a helpdesk rekey's): its torn header opens
    // with no key until the journal is written (FORMAT.md §8.1). A rotation run recovers first itself.
    if (headerRewriter.pending()) {
      try {
        const done = await headerRewriter.recover(await deviceKeys.identities());
        options.log(
          `header journal: ${done.completed.length} rewrite(s) finished, ${done.refused.length} refused`,
        );
      } catch (error) {
        options.log(`header journal: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  try {
    // Temp files of runs a crash or kill interrupted (a `decrypt -o` too), proven ours by the journal.
    const temps = tempJournal.cleanLeftovers();
    if (temps.removed.length > 0)
      options.log(`removed ${temps.removed.length} temporary file(s) of an interrupted run`);
  } catch (error) {
    options.log(`cleaning temporary files failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    for (const report of await folderService.recoverAll()) {
      if (report.leftoversResolved > 0)
        options.log(
          `recovered ${report.folder}: ${report.leftoversResolved} leftover(s) of an interrupted run resolved`,
        );
    }
  } catch (error) {
    options.log(`recovering folders failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const recovered = await editWorkspace.recover();
    if (recovered.wiped > 0) {
      activity.record({
        action: 'Recover open files',
        target: 'edit workspace',
        outcome: 'ok',
        detail: `${recovered.saved.length} saved back, ${recovered.wiped} wiped`,
      });
    }
  } catch (error) {
    options.log(
      `recovering the edit workspace failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  await protectMandatory();
  await autoProtect.refresh();
  // The status cache scans the folders now (in its worker), not at the first folder list the window asks for.
  statusCache.status(folderService.list()).catch((error: unknown) => {
    options.log(`status cache: ${error instanceof Error ? error.message : String(error)}`);
  });
  updater.start();

  const lock = async (reason: LockReason): Promise<number> => {
    const wiped = await workspace.lockAll();
    activity.record({
      action: 'Lock',
      target: 'edit workspace',
      outcome: 'ok',
      detail: `${wiped} file(s) wiped (${reason})`,
    });
    emit({ type: 'locked', reason });
    emit({ type: 'changed', what: 'edits' });
    emit({ type: 'changed', what: 'activity' });
    return wiped;
  };

  let stuckSource: () => ReadonlySet<string> = () => new Set();
  return {
    ports,
    handlers: createHandlers(ports, emit, {
      lock,
      stuckFolders: () => stuckSource(),
      about: async () =>
        aboutInfo({
          app: appVersion(),
          versions: process.versions,
          libsodium: await libsodiumVersion(sodium.name),
          policy: policy.view(),
        }),
    }),
    runs,
    sodium,
    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    lock,
    openFiles: () => editWorkspace.sessions().length,
    autoLockMinutes: () => policyService.autoLockMinutes(userAutoLock()).minutes,
    watchedFolders: () => autoProtect.folders(),
    audit: auditService,
    openedFiles,
    setStuckSource(source) {
      stuckSource = source;
    },
    async close() {
      updater.stop();
      await autoProtect.close();
      await statusCache.close();
      await coverageCounter.close();
      for (const p of runs.list()) if (p.state === 'running') runs.cancel(p.runId);
      await Promise.all(
        runs
          .list()
          .filter((p) => p.state === 'running')
          .map((p) => runs.settled(p.runId)),
      );
      await editWorkspace.closeAll().catch((error: unknown) => {
        options.log(`closing open files failed: ${error instanceof Error ? error.message : String(error)}`);
      });
      await pool?.close();
      policyService.stop();
      helpdesk.unloadKey();
      deviceKeys.close();
      audit.cancel();
      await auditService.close();
      await reports.stop();
      forwarder.stop();
      await auditLog.close();
      await state.close();
    },
  };
}
