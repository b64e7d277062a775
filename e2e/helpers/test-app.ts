/**
 * The app's composition root over real services for tests that call its handlers directly (no Chromium):
 * a private app-data folder, a private keychain service in the real Secret Service, a policy file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isCofferError } from '../../crypto/errors.js';
import { buildApp, type AppOptions, type BuiltApp } from '../../electron/main/composition.js';
import { OsKeyStore } from '../../electron/services/keys/key-store.js';
import { FilePolicySource } from '../../electron/services/policy/sources.js';
import { RecordingShell, ScriptedDialogs } from './app-harness.js';

/** One test laptop's places: created empty; the policy file exists once `writePolicy` is called. */
export class TestAppHome {
  readonly home: string;
  readonly userData: string;
  readonly policyFile: string;
  readonly service: string;
  readonly env: NodeJS.ProcessEnv;

  /** `env`: more variables for the app (e.g. XDG_DATA_HOME, to put a keyring folder where a test wants it). */
  constructor(name: string, env: Record<string, string> = {}) {
    this.home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `coffer-${name}-`)));
    this.userData = path.join(this.home, 'userData');
    this.policyFile = path.join(this.home, 'policy.json');
    this.service = `coffer-${name}-${randomBytes(6).toString('hex')}`;
    this.env = {
      ...process.env,
      ...env,
      COFFER_KEYCHAIN_SERVICE: this.service,
      COFFER_TEST_INSECURE_KDF: '1',
    };
  }

  writePolicy(policy: unknown): void {
    fs.writeFileSync(this.policyFile, JSON.stringify(policy));
  }

  keyStore(): OsKeyStore {
    return new OsKeyStore({ service: this.service, env: this.env });
  }

  /** The app as main composes it, with scripted dialogs and a recording shell unless the test passes its own. */
  build(
    options: Partial<
      Pick<AppOptions, 'dialog' | 'shell' | 'emit' | 'log' | 'watchStableMs' | 'workers'>
    > = {},
  ): Promise<BuiltApp> {
    return buildApp({
      userData: this.userData,
      dialog: new ScriptedDialogs(),
      shell: new RecordingShell(),
      emit: () => undefined,
      log: () => undefined,
      workers: 1,
      ...options,
      env: this.env,
      keyStore: this.keyStore(),
      policySource: new FilePolicySource(this.policyFile, { requireAdminOwned: false }),
    });
  }
}

/** The stable code a handler call fails with, or 'no error'. */
export async function codeOf(result: unknown): Promise<string> {
  try {
    await result;
    return 'no error';
  } catch (error) {
    if (isCofferError(error)) return error.code;
    throw error;
  }
}
