/**
 * The one composition root: builds every service from app paths and injected platform pieces (dialogs,
 * shell, keychain, policy source), adapts them to the ports, and returns the handler table. No Electron
 * import: main.ts passes Electron's dialog and shell in, and the e2e tests build the very same app with
 * scripted dialogs, a private keychain and a test policy file.
 */
import os from 'node:os';
import path from 'node:path';
import { formatKeyId, recoveryKeyId, type Recipient } from '../../crypto/keys.js';
import { defaultBackend, type SodiumBackend } from '../../crypto/sodium.js';
import { DeviceKeyService } from '../services/keys/device-key.js';
import { OsKeyStore, keychainService, type KeyStore } from '../services/keys/key-store.js';
import { parsePublicKey } from '../services/keys/public-key-text.js';
import { RecoveryService } from '../services/keys/recovery-service.js';
import { TrustedRecoveryKeys } from '../services/keys/trusted-keys.js';
import { policySourceFor } from '../services/policy/platform.js';
import { PolicyService } from '../services/policy/policy-service.js';
import { runCommand } from '../services/policy/run-command.js';
import type { PolicySource } from '../services/policy/sources.js';
import { SafeFiles } from '../services/safe-file.js';
import { JsonSettingsStore } from '../services/settings.js';
import type { CofferEvent, ManagedSetting } from '../shared/contract.js';
import { ActivityLog } from './activity.js';
import { HelpdeskAdapter } from './adapters/helpdesk.js';
import { KeysAdapter } from './adapters/keys.js';
import { LocalFolders, LocalWorkspace } from './adapters/local-folders.js';
import type { HandlerTable } from './handle.js';
import { createHandlers } from './handlers.js';
import type { DialogPort, FilesPort, PolicyPort, Ports, ShellPort } from './ports.js';
import { RunTracker } from './runs.js';

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
  /** Defaults to the platform's policy source. */
  policySource?: PolicySource;
  /** Honour COFFER_POLICY_FILE (development and tests only; main passes !app.isPackaged). */
  allowPolicyOverride?: boolean;
}

export interface BuiltApp {
  ports: Ports;
  handlers: HandlerTable;
  runs: RunTracker;
  sodium: SodiumBackend;
  /** Called after any change that the tray status depends on. */
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
}

const LABELS: Record<string, string> = {
  recoveryPublicKeys: 'Organization recovery keys',
  requireRecoveryKey: 'Recovery key required',
  mandatoryFolders: 'Folders that must be protected',
  allowUnprotect: 'Decrypting folders in place allowed',
  allowDecryptCopy: 'Saving decrypted copies allowed',
  autoLockMinutes: 'Lock open files after (minutes)',
  updateUrl: 'Update server',
};

function displayValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(', ');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

export async function buildApp(options: AppOptions): Promise<BuiltApp> {
  const env = options.env ?? process.env;
  const sodium = await defaultBackend();
  const settings = new JsonSettingsStore(path.join(options.userData, 'settings.json'));
  const keyStore = options.keyStore ?? new OsKeyStore({ service: keychainService(env), env });
  const trustedKeys = new TrustedRecoveryKeys(sodium, settings);
  const deviceKeys = new DeviceKeyService({ sodium, keyStore, settings, trustedKeys });
  const recovery = new RecoveryService({
    sodium,
    deviceKeys,
    trustedKeys,
    settings,
    escrowFile: path.join(options.userData, 'escrow.json'),
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

  /** This device, every trusted recovery key and every policy recovery key; checked against the policy. */
  const recipients = async (): Promise<Recipient[]> => {
    const own = await deviceKeys.recipients();
    const have = new Set(own.flatMap((r) => (r.kind === 'recovery' ? [describe(r.publicKey)] : [])));
    const fromPolicy = policyService
      .recoveryRecipients()
      .filter((r) => r.kind === 'recovery' && !have.has(describe(r.publicKey)));
    const all = [...own, ...fromPolicy];
    policyService.requireRecipients(all);
    return all;
  };

  const safeFiles = new SafeFiles(sodium);
  const runs = new RunTracker();
  const activity = new ActivityLog(path.join(options.userData, 'activity.jsonl'));
  const policy: PolicyPort = {
    settings: () =>
      Promise.resolve(
        policyService.managedSettings().map((s): ManagedSetting => ({
          key: s.key,
          label: LABELS[s.key] ?? s.key,
          value: displayValue(s.value),
          locked: true,
        })),
      ),
    mandatoryFolders: () => Promise.resolve([...policyService.mandatoryFolders()]),
  };
  const folders = new LocalFolders({
    safeFiles,
    deviceKeys,
    runs,
    recipients,
    registryFile: path.join(options.userData, 'folders.json'),
    mandatoryFolders: () => policy.mandatoryFolders(),
    assertCanUnprotect: () => {
      policyService.assertCanUnprotect();
    },
  });
  const workspace = new LocalWorkspace({
    safeFiles,
    deviceKeys,
    folders,
    recipients,
    dir: path.join(options.userData, 'edit-workspace'),
  });
  const files: FilesPort = {
    async decryptTo(source, destination) {
      policyService.assertCanDecryptCopy();
      safeFiles.decryptTo(source, { identities: await deviceKeys.identities(), output: destination });
    },
    async verify(source) {
      const meta = safeFiles.verify(source, await deviceKeys.identities());
      return { name: meta.name, size: meta.size };
    },
  };
  const keys = new KeysAdapter({
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
  const helpdesk = new HelpdeskAdapter({ sodium, safeFiles, deviceKeys, runs, recipients });

  const ports: Ports = {
    keys,
    folders,
    workspace,
    files,
    helpdesk,
    policy,
    activity,
    dialog: options.dialog,
    shell: options.shell,
  };
  const changeListeners = new Set<() => void>();
  const emit = (event: CofferEvent) => {
    options.emit(event);
    if (event.type === 'changed' || (event.type === 'progress' && event.progress.state !== 'running')) {
      for (const l of changeListeners) l();
    }
  };
  runs.onProgress((progress) => {
    emit({ type: 'progress', progress });
    if (progress.state !== 'running') {
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
  policyService.onChange(() => {
    emit({ type: 'changed', what: 'folders' });
    emit({ type: 'changed', what: 'recovery' });
  });

  return {
    ports,
    handlers: createHandlers(ports, emit),
    runs,
    sodium,
    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    async close() {
      for (const p of runs.list()) if (p.state === 'running') runs.cancel(p.runId);
      await Promise.all(
        runs
          .list()
          .filter((p) => p.state === 'running')
          .map((p) => runs.settled(p.runId)),
      );
      policyService.stop();
      helpdesk.unloadKey();
      deviceKeys.close();
    },
  };
}
