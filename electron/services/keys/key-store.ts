/**
 * The OS keychain behind one small interface (DESIGN.md "Keys"). Secrets are stored base64-encoded under
 * service `Coffer` (or COFFER_KEYCHAIN_SERVICE, so tests never touch a person's real entries).
 */
import { createRequire } from 'node:module';
import { CofferError } from '../../../crypto/errors.js';
import {
  defaultKeychainLauncher,
  type KeychainHelper,
  type KeychainHelperLauncher,
} from './keychain-helper.js';

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
type Reply = { id: number } & ({ ok: true; value: string | boolean | null } | { ok: false; error: string });

/*
 * Every call goes to a helper process (keychain-helper.ts says why: a stuck D-Bus call cannot be
 * interrupted in-process). One helper serves every call of a store (one JSON line per request and per
 * reply, tagged with an id): starting one per call made the keychain most of a CLI run's time.
 */

/** An idle helper exits after this long, so a long-running app does not keep one for nothing. */
const IDLE_EXIT_MS = 10_000;

export interface OsKeyStoreOptions {
  service: string;
  timeoutMs?: number;
  platform?: NodeJS.Platform;
  /**
   * How the helper starts. Default: a plain Node child (the CLI and tests). The app passes an Electron
   * utilityProcess launcher (electron/main/keychain-utility.ts): its binary no longer runs as Node.
   */
  launcher?: KeychainHelperLauncher;
  /** The Node binary of the default launcher (tests put a stand-in here). */
  nodePath?: string;
  env?: NodeJS.ProcessEnv;
}

interface Pending {
  helper: KeychainHelper;
  resolve: (value: string | boolean | null) => void;
  reject: (error: CofferError) => void;
  timer: NodeJS.Timeout;
}

/** The real OS keychain via @napi-rs/keyring; every call is bounded by `timeoutMs`. */
export class OsKeyStore implements KeyStore {
  private readonly timeoutMs: number;
  private readonly platform: NodeJS.Platform;
  private readonly modulePath: string;
  /** Which launcher this store uses (the fuse test checks the app's choice). */
  readonly launcher: KeychainHelperLauncher;
  private helper: KeychainHelper | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: OsKeyStoreOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KEYCHAIN_TIMEOUT_MS;
    this.platform = options.platform ?? process.platform;
    this.modulePath = createRequire(import.meta.url).resolve('@napi-rs/keyring');
    this.launcher = options.launcher ?? defaultKeychainLauncher(options.nodePath);
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
    let helper: KeychainHelper;
    try {
      helper = this.start();
    } catch (error) {
      return Promise.reject(
        unavailable(this.platform, error instanceof Error ? error.message : String(error)),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A stuck call means a stuck helper: kill it (failing whatever else it holds); the next call starts afresh.
        this.stop(helper, `no answer within ${this.timeoutMs / 1000} s`);
      }, this.timeoutMs);
      this.pending.set(id, { helper, resolve, reject, timer });
      this.hold();
      // The secret goes through a pipe or a message port, never argv (argv is visible to every process).
      helper.send(JSON.stringify({ ...request, service: this.options.service, id }));
    });
  }

  private start(): KeychainHelper {
    if (this.helper) return this.helper;
    const helper = this.launcher.launch(this.modulePath, this.options.env ?? process.env);
    this.helper = helper;
    helper.onLine((line) => {
      this.answer(line);
    });
    helper.onExit((detail) => {
      this.stop(helper, detail);
    });
    return helper;
  }

  private answer(line: string): void {
    let reply: Reply;
    try {
      reply = JSON.parse(line) as Reply;
    } catch {
      return; // not ours (a library writing to stdout); the call's timeout still bounds it
    }
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    clearTimeout(call.timer);
    if (reply.ok) call.resolve(reply.value);
    else call.reject(unavailable(this.platform, reply.error));
    this.hold();
  }

  /** Fails every call the helper holds and forgets it; the next call starts a new one. */
  private stop(helper: KeychainHelper, detail: string): void {
    if (this.helper === helper) this.helper = null;
    helper.kill();
    for (const [id, call] of this.pending) {
      if (call.helper !== helper) continue;
      clearTimeout(call.timer);
      this.pending.delete(id);
      call.reject(unavailable(this.platform, detail));
    }
    this.hold();
  }

  /**
   * While calls are pending the helper keeps the process alive; when idle it must not (a CLI run ends when
   * its work does), and it exits after a while.
   */
  private hold(): void {
    const helper = this.helper;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!helper) return;
    const busy = this.pending.size > 0;
    helper.hold(busy);
    if (!busy) {
      this.idleTimer = setTimeout(() => {
        if (this.helper === helper && this.pending.size === 0) {
          this.helper = null;
          helper.close();
        }
      }, IDLE_EXIT_MS);
      this.idleTimer.unref();
    }
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
