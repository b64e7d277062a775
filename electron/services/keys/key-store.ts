/**
 * The OS keychain behind one small interface (DESIGN.md "Keys"). Secrets are stored base64-encoded under
 * service `Coffer` (or COFFER_KEYCHAIN_SERVICE, so tests never touch a person's real entries).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { CofferError } from '../../../crypto/errors.js';
import { childEnv } from '../child-env.js';

export interface KeyStore {
  /** The secret stored under `account`, or null when there is none. */
  get(account: string): Promise<Uint8Array | null>;
  set(account: string, secret: Uint8Array): Promise<void>;
  /** True when a secret was deleted, false when there was none. */
  delete(account: string): Promise<boolean>;
}

export const DEFAULT_KEYCHAIN_SERVICE = 'Coffer';
export const DEFAULT_KEYCHAIN_TIMEOUT_MS = 5000;

export function keychainService(env: Readonly<Record<string, string | undefined>>): string {
  return env.COFFER_KEYCHAIN_SERVICE || DEFAULT_KEYCHAIN_SERVICE;
}

export function keychainHint(platform: NodeJS.Platform): string {
  switch (platform) {
    case 'darwin':
      return 'Unlock your login keychain (open Keychain Access), allow Coffer to use it, then try again.';
    case 'win32':
      return 'Check that Windows Credential Manager works for your account (Control Panel > Credential Manager), then try again.';
    default:
      return (
        'Coffer keeps its key in the Secret Service (GNOME Keyring or KWallet). Make sure it is installed, ' +
        'running and unlocked in your desktop session (e.g. `gnome-keyring-daemon --unlock`), then try again.'
      );
  }
}

function unavailable(platform: NodeJS.Platform, detail: string): CofferError {
  return new CofferError(
    'KEYCHAIN_UNAVAILABLE',
    `The OS keychain is unavailable: ${detail}`,
    keychainHint(platform),
  );
}

type Request = { op: 'get' | 'delete'; account: string } | { op: 'set'; account: string; secret: string };
type Reply = { ok: true; value: string | boolean | null } | { ok: false; error: string };

/*
 * Runs in a child process. @napi-rs/keyring connects to D-Bus synchronously in the Entry constructor, and
 * against a stuck bus that call never returns: in-process it would freeze the event loop (no timeout can
 * fire) and even a worker thread cannot be terminated out of native code. A child can be killed.
 * On Linux the store is pinned to the Secret Service: the default falls back to the kernel keyring, which
 * is emptied at logout (DESIGN.md "Keys").
 */
const CHILD_SCRIPT = `
const { AsyncEntry } = require(process.argv[1]);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', async () => {
  let reply;
  try {
    const req = JSON.parse(input);
    const entry = new AsyncEntry(req.service, req.account, { linux: { store: 'secret-service' } });
    if (req.op === 'get') reply = { ok: true, value: await entry.getPassword() };
    else if (req.op === 'set') { await entry.setPassword(req.secret); reply = { ok: true, value: null }; }
    else reply = { ok: true, value: await entry.deleteCredential() };
  } catch (e) {
    reply = { ok: false, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(reply));
});
`;

export interface OsKeyStoreOptions {
  service: string;
  timeoutMs?: number;
  platform?: NodeJS.Platform;
  /** The Node binary; in Electron, process.execPath runs as Node because ELECTRON_RUN_AS_NODE is set. */
  nodePath?: string;
  env?: NodeJS.ProcessEnv;
}

/** The real OS keychain via @napi-rs/keyring; every call is bounded by `timeoutMs`. */
export class OsKeyStore implements KeyStore {
  private readonly timeoutMs: number;
  private readonly platform: NodeJS.Platform;
  private readonly modulePath: string;

  constructor(private readonly options: OsKeyStoreOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KEYCHAIN_TIMEOUT_MS;
    this.platform = options.platform ?? process.platform;
    this.modulePath = createRequire(import.meta.url).resolve('@napi-rs/keyring');
  }

  async get(account: string): Promise<Uint8Array | null> {
    const value = await this.call({ op: 'get', account });
    if (value === null) return null;
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
      throw new CofferError(
        'KEYCHAIN_ENTRY_DAMAGED',
        `The keychain entry "${account}" of service "${this.options.service}" is not a Coffer key`,
        'Restore the device key with `coffer restore-device`; do not delete the entry before you have.',
      );
    }
    return new Uint8Array(Buffer.from(value, 'base64'));
  }

  async set(account: string, secret: Uint8Array): Promise<void> {
    await this.call({ op: 'set', account, secret: Buffer.from(secret).toString('base64') });
  }

  async delete(account: string): Promise<boolean> {
    return (await this.call({ op: 'delete', account })) === true;
  }

  private call(request: Request): Promise<string | boolean | null> {
    const { service } = this.options;
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.nodePath ?? process.execPath, ['-e', CHILD_SCRIPT, this.modulePath], {
        env: { ...childEnv(this.options.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      let settled = false;
      const finish = (action: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        action();
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(() => {
          reject(unavailable(this.platform, `no answer within ${this.timeoutMs / 1000} s`));
        });
      }, this.timeoutMs);
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', (error) => {
        finish(() => {
          reject(unavailable(this.platform, error.message));
        });
      });
      child.on('close', () => {
        finish(() => {
          let reply: Reply;
          try {
            reply = JSON.parse(out) as Reply;
          } catch {
            reject(unavailable(this.platform, err.trim().split('\n').pop() ?? 'the keychain helper failed'));
            return;
          }
          if (reply.ok) resolve(reply.value);
          else reject(unavailable(this.platform, reply.error));
        });
      });
      // The secret goes through a pipe, never argv (argv is visible to every process).
      child.stdin.end(JSON.stringify({ ...request, service }));
    });
  }
}

/** An in-memory KeyStore for tests of code that depends on the interface, not on the OS. */
export class MemoryKeyStore implements KeyStore {
  private readonly secrets = new Map<string, Uint8Array>();

  get(account: string): Promise<Uint8Array | null> {
    const secret = this.secrets.get(account);
    return Promise.resolve(secret ? secret.slice() : null);
  }

  set(account: string, secret: Uint8Array): Promise<void> {
    this.secrets.set(account, secret.slice());
    return Promise.resolve();
  }

  delete(account: string): Promise<boolean> {
    return Promise.resolve(this.secrets.delete(account));
  }
}
