/**
 * The CLI's composition root: builds the services from the environment, lazily, so `coffer --help` and
 * commands that need no keychain never touch it.
 */
import os from 'node:os';
import { defaultBackend, type SodiumBackend } from '../crypto/sodium.js';
import { appPaths, type AppPaths } from '../electron/services/app-paths.js';
import { JsonSettingsStore, type SettingsStore } from '../electron/services/settings.js';
import { OsKeyStore, keychainService, type KeyStore } from '../electron/services/keys/key-store.js';
import { DeviceKeyService } from '../electron/services/keys/device-key.js';
import { TrustedRecoveryKeys } from '../electron/services/keys/trusted-keys.js';
import { RecoveryService } from '../electron/services/keys/recovery-service.js';
import { SafeFiles, TempJournal, tempJournalDirIn } from '../electron/services/safe-file.js';
import { WriteKeys } from '../electron/services/keys/write-keys.js';
import { FolderEscrowCopies } from '../electron/services/keys/folder-escrow.js';
import { FolderRegistry } from '../electron/services/folders/registry.js';
import { guardRailsFor, type GuardRails } from '../electron/services/folders/guard-rails.js';
import { createPolicyService } from '../electron/services/policy/create.js';
import { isPackagedRun } from '../electron/services/policy/platform.js';
import type { PolicyService } from '../electron/services/policy/policy-service.js';
import { Output } from './output.js';
import { HeaderRewriter } from '../electron/services/headers/header-rewriter.js';
import { headerJournalDir } from '../electron/services/keys/rotation.js';
import { StateFiles, stateFilesIn } from '../electron/services/state/state-files.js';
import { userKeyRule } from '../electron/services/keys/trusted-keys.js';
import { lockDirIn } from '../electron/services/folders/folder-service.js';
import { takeEnvPassphrase } from './passphrase.js';
import { AuditLog, auditDirIn } from '../electron/services/audit-log/audit-log.js';
import { AuditTrail, type SecurityEvents } from '../electron/services/audit-log/security-events.js';
import { ChangeNotingEvents } from '../electron/services/report/change-events.js';
import { AuditService } from '../electron/services/audit/scanner.js';
import { AuditCacheKey } from '../electron/services/audit/cache-key.js';

export interface Services {
  sodium: SodiumBackend;
  paths: AppPaths;
  settings: SettingsStore;
  keyStore: KeyStore;
  deviceKeys: DeviceKeyService;
  trustedKeys: TrustedRecoveryKeys;
  recovery: RecoveryService;
  safeFiles: SafeFiles;
  /** The machine-wide policy, read once per run (a CLI run is short; the app follows changes). */
  policy: PolicyService;
  /** Recipients for every write (device + trusted + policy keys), approved by the policy. */
  writeKeys: WriteKeys;
  /** The protected folders (shared with the app). */
  folders: FolderRegistry;
  /** The escrow record's copy beside each protected folder, refreshed whenever a new code is issued. */
  escrowCopies: FolderEscrowCopies;
  /** What must never be protected: system, home roots, keyrings, app data (guard-rails.ts). */
  guard: GuardRails;
  /** The signed state files (settings, registry, escrow record) and the state key (`coffer state`). */
  state: StateFiles;
  /** The audit trail (`coffer audit`); `events` records on it, reporting a failed write as a warning. */
  auditLog: AuditLog;
  events: SecurityEvents;
  /** Security events this run recorded: after a change, policy reportDir gets a report (commands/report.ts). */
  changesRecorded(): number;
  /** The data audit (`coffer audit scan`, `coffer audit find`); its worker pool is closed by the command that used it. */
  audit: AuditService;
}

export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  readonly out: Output;
  /** Set by actions; main() exits with it. */
  exitCode: number;
  services(): Promise<Services>;
  /** The services if this run built them; undefined otherwise (asking builds nothing). */
  builtServices(): Promise<Services> | undefined;
}

export function keychainTimeoutMs(env: NodeJS.ProcessEnv): number | undefined {
  const value = Number(env.COFFER_KEYCHAIN_TIMEOUT_MS);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * A header rewrite a crash cut opens with no key until its journal is written (FORMAT.md §8.1). The app
 * finishes it at start; a user with only the CLI has no other start, so every run that builds the services
 * does it first. Nothing to do (the usual case) costs one directory listing and no keychain call.
 */
async function finishHeaderRewrites(
  sodium: SodiumBackend,
  home: string,
  deviceKeys: DeviceKeyService,
  out: Output,
): Promise<void> {
  const rewriter = new HeaderRewriter({ sodium, journalDir: headerJournalDir(home) });
  if (!rewriter.pending()) return;
  try {
    const { completed, refused } = await rewriter.recover(await deviceKeys.identities());
    if (completed.length > 0) out.note(`finished ${completed.length} interrupted header rewrite(s)`);
    for (const r of refused) out.note(`header journal ${r.journal} left as it is: ${r.reason}`);
  } catch (error) {
    out.note(
      `interrupted header rewrites wait for the device key (${error instanceof Error ? error.message : String(error)}); \`coffer rewrap\` finishes them`,
    );
  }
}

export function createContext(env: NodeJS.ProcessEnv, out: Output): CliContext {
  // Before anything starts a child or a worker: they inherit the environment (issue 9 item 7).
  takeEnvPassphrase(env);
  let built: Promise<Services> | undefined;
  const build = async (): Promise<Services> => {
    const sodium = await defaultBackend();
    const paths = appPaths({ env, platform: process.platform, homedir: os.homedir() });
    const timeoutMs = keychainTimeoutMs(env);
    const keyStore = new OsKeyStore({
      service: keychainService(env),
      env,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    // The state key's keychain read runs in the keychain helper process (first call: its start, 0.2-0.4 s);
    // the start-up checks that need no key (policy read, temp-file leftovers) run here meanwhile instead
    // of after it. Both still finish before any command touches a file.
    const opening = StateFiles.openOrDefer({
      sodium,
      keyStore,
      lockDir: lockDirIn(paths.home),
      files: stateFilesIn(paths.home),
    });
    // COFFER_POLICY_FILE is honoured from a checkout only: a packaged CLI must not let a user swap the policy.
    const policy = createPolicyService({ sodium, env, allowEnvOverride: !isPackagedRun(import.meta.url) });
    const policyRead = policy.reload();
    // Temp files are journaled; at each start the proven leftovers of dead runs go (temp-journal.ts).
    const tempJournal = new TempJournal(tempJournalDirIn(paths.home));
    try {
      tempJournal.cleanLeftovers();
    } catch {
      // best effort: the next start tries again, and runs report what they find
    }
    const [state] = await Promise.all([opening, policyRead]);
    const settings = new JsonSettingsStore(paths.settingsFile, state.auth);
    const trustedKeys = new TrustedRecoveryKeys(sodium, settings, () => userKeyRule(policy.state));
    const deviceKeys = new DeviceKeyService({
      sodium,
      keyStore,
      settings,
      trustedKeys,
      lockDir: lockDirIn(paths.home),
    });
    const recovery = new RecoveryService({
      sodium,
      deviceKeys,
      trustedKeys,
      settings,
      escrowFile: paths.escrowFile,
      stateAuth: state.auth,
      policyRecipients: () => policy.recoveryRecipients(),
    });
    const folders = FolderRegistry.inHome(paths.home, state.auth);
    await finishHeaderRewrites(sodium, paths.home, deviceKeys, out);
    const escrowCopies = new FolderEscrowCopies({
      records: recovery,
      folders: () => folders.list().map((f) => f.path),
    });
    recovery.onEscrowChanged((record) => escrowCopies.refreshAll(record));
    const auditLog = new AuditLog({
      sodium,
      keyStore,
      lockDir: lockDirIn(paths.home),
      dir: auditDirIn(paths.home),
    });
    const guard = guardRailsFor(paths.home, env);
    let changes = 0;
    const events = new ChangeNotingEvents(
      new AuditTrail(auditLog, (message) => {
        out.note(message);
      }),
      () => {
        changes++;
      },
    );
    const audit = new AuditService({
      backend: sodium.name,
      appHome: paths.home,
      policy: () => (policy.state.status === 'active' ? policy.state.policy : {}),
      protectedFolders: () => folders.list().map((f) => f.path),
      identities: () => deviceKeys.identities(),
      guard,
      events,
      cacheKey: () => new AuditCacheKey({ sodium, keyStore, lockDir: lockDirIn(paths.home) }).get(),
    });
    return {
      sodium,
      paths,
      settings,
      keyStore,
      deviceKeys,
      trustedKeys,
      recovery,
      safeFiles: new SafeFiles(sodium, { tempJournal }),
      policy,
      writeKeys: new WriteKeys({ sodium, deviceKeys, policy }),
      folders,
      escrowCopies,
      state,
      guard,
      auditLog,
      events,
      changesRecorded: () => changes,
      audit,
    };
  };
  return {
    env,
    out,
    exitCode: 0,
    services: () => (built ??= build()),
    builtServices: () => built,
  };
}
