/**
 * The OS keychain behind one small interface (DESIGN.md "Keys"). Secrets are stored base64-encoded under
 * service `Coffer` (or COFFER_KEYCHAIN_SERVICE, so tests never touch a person's real entries).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
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
type Reply = { id: number } & ({ ok: true; value: string | boolean | null } | { ok: false; error: string });

/*
 * Runs in a child process. @napi-rs/keyring connects to D-Bus synchronously in the Entry constructor, and
 * against a stuck bus that call never returns: in-process it would freeze the event loop (no timeout can
 * fire) and even a worker thread cannot be terminated out of native code. A child can be killed.
 * One child serves every call of a store (one JSON line per request and per reply, tagged with an id):
 * starting a Node child per call made the keychain most of a CLI run's time.
 * On Linux the store is pinned to the Secret Service: the default falls back to the kernel keyring, which
 * is emptied at logout (DESIGN.md "Keys").
 */
const CHILD_SCRIPT = `
const { AsyncEntry } = require(process.argv[1]);
const lines = require('node:readline').createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  let id = 0;
  let reply;
  try {
    const req = JSON.parse(line);
    id = req.id;
    const entry = new AsyncEntry(req.service, req.account, { linux: { store: 'secret-service' } });
    if (req.op === 'get') reply = { ok: true, value: await entry.getPassword() };
    else if (req.op === 'set') { await entry.setPassword(req.secret); reply = { ok: true, value: null }; }
    else reply = { ok: true, value: await entry.deleteCredential() };
  } catch (e) {
    reply = { ok: false, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify({ id, ...reply }) + '\\n');
});
lines.on('close', () => process.exit(0));
`;

/** An idle helper exits after this long, so a long-running app does not keep one for nothing. */
const IDLE_EXIT_MS = 10_000;

export interface OsKeyStoreOptions {
  service: string;
  timeoutMs?: number;
  platform?: NodeJS.Platform;
  /** The Node binary; in Electron, process.execPath runs as Node because ELECTRON_RUN_AS_NODE is set. */
  nodePath?: string;
  env?: NodeJS.ProcessEnv;
}

interface Pending {
  helper: ChildProcessWithoutNullStreams;
  resolve: (value: string | boolean | null) => void;
  reject: (error: CofferError) => void;
  timer: NodeJS.Timeout;
}

/** Streams and processes that can stop holding the event loop open (child processes and their pipes). */
interface Refable {
  ref(): unknown;
  unref(): unknown;
}

/** The real OS keychain via @napi-rs/keyring; every call is bounded by `timeoutMs`. */
export class OsKeyStore implements KeyStore {
  private readonly timeoutMs: number;
  private readonly platform: NodeJS.Platform;
  private readonly modulePath: string;
  private helper: ChildProcessWithoutNullStreams | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;

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
    const helper = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A stuck call means a stuck helper: kill it (failing whatever else it holds); the next call starts afresh.
        this.stop(helper, `no answer within ${this.timeoutMs / 1000} s`);
      }, this.timeoutMs);
      this.pending.set(id, { helper, resolve, reject, timer });
      this.hold();
      // The secret goes through a pipe, never argv (argv is visible to every process).
      helper.stdin.write(JSON.stringify({ ...request, service: this.options.service, id }) + '\n');
    });
  }

  private start(): ChildProcessWithoutNullStreams {
    if (this.helper) return this.helper;
    const helper = spawn(this.options.nodePath ?? process.execPath, ['-e', CHILD_SCRIPT, this.modulePath], {
      env: { ...childEnv(this.options.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.helper = helper;
    let out = '';
    let err = '';
    helper.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        this.answer(out.slice(0, nl));
        out = out.slice(nl + 1);
      }
    });
    helper.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4096)));
    helper.stdin.on('error', () => undefined); // a dead helper is reported by 'exit' below
    helper.on('error', (error) => {
      this.stop(helper, error.message);
    });
    helper.on('exit', () => {
      this.stop(helper, err.trim().split('\n').pop() || 'the keychain helper stopped');
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
  private stop(helper: ChildProcessWithoutNullStreams, detail: string): void {
    if (this.helper === helper) this.helper = null;
    helper.kill('SIGKILL');
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
    const handles = [helper, helper.stdin, helper.stdout, helper.stderr] as unknown as Refable[];
    for (const handle of handles) {
      if (busy) handle.ref();
      else handle.unref();
    }
    if (!busy) {
      this.idleTimer = setTimeout(() => {
        if (this.helper === helper && this.pending.size === 0) {
          this.helper = null;
          helper.stdin.end();
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
