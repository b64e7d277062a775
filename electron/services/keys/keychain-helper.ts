/**
 * How OsKeyStore starts its keychain helper (issue 12 item 2): a small port, so the store does not care
 * whether the helper is a plain Node child (the CLI, tests) or an Electron utilityProcess (the app, chosen
 * by the composition root in electron/main). The app cannot start a Node child of its own binary: the
 * `runAsNode` fuse is off (electron-builder.ts), so `ELECTRON_RUN_AS_NODE` would be ignored and the child
 * would be a second copy of the app.
 */
import { spawn } from 'node:child_process';
import { childEnv } from '../child-env.js';

/** One running helper: JSON request lines in, JSON reply lines out (one per request). */
export interface KeychainHelper {
  send(line: string): void;
  onLine(listener: (line: string) => void): void;
  /** Called once when the helper is gone (crashed, killed, or failed to start), with the last thing it said. */
  onExit(listener: (detail: string) => void): void;
  /** Ends the helper now (a stuck keychain call). */
  kill(): void;
  /** Asks the helper to exit when it has answered (it is idle). */
  close(): void;
  /** While busy the helper keeps a CLI process alive; when idle it must not (a run ends when its work does). */
  hold(busy: boolean): void;
}

export interface KeychainHelperLauncher {
  /** Which runtime runs the helper; the fuse test checks the app picks 'utility-process'. */
  readonly kind: 'node-child' | 'utility-process';
  /** Starts a helper that loads @napi-rs/keyring from `modulePath`. */
  launch(modulePath: string, env: NodeJS.ProcessEnv): KeychainHelper;
}

/*
 * The helper a Node child runs (`node -e`): no file to find in a checkout or an archive, no TypeScript loader
 * to start. keychain-helper-process.ts is the same protocol for the utilityProcess; keep the two in step.
 * @napi-rs/keyring connects to D-Bus synchronously in the Entry constructor, and against a stuck bus that
 * call never returns: in-process it would freeze the event loop (no timeout can fire) and even a worker
 * thread cannot be terminated out of native code. A child can be killed.
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

/** The runtime facts the launcher checks (injectable so the refusal can be tested under plain Node). */
export interface Runtime {
  execPath: string;
  versions: { electron?: string | undefined };
}

/** Streams and processes that can stop holding the event loop open (child processes and their pipes). */
interface Refable {
  ref(): unknown;
  unref(): unknown;
}

/** The helper as a plain Node child: what the CLI (run by Node) and the tests use. */
export class NodeChildLauncher implements KeychainHelperLauncher {
  readonly kind = 'node-child';

  constructor(
    /** The Node binary; defaults to the one running now. */
    private readonly nodePath?: string,
    private readonly runtime: Runtime = process,
  ) {}

  launch(modulePath: string, env: NodeJS.ProcessEnv): KeychainHelper {
    const node = this.nodePath ?? this.runtime.execPath;
    if (this.runtime.versions.electron !== undefined && node === this.runtime.execPath) {
      // Without the runAsNode fuse this binary is the app, not Node: refuse rather than open a second app.
      throw new Error(
        'the keychain helper cannot run as a Node child of the Electron binary (the runAsNode fuse is off); the app starts it as a utilityProcess',
      );
    }
    const child = spawn(node, ['-e', CHILD_SCRIPT, modulePath], {
      env: childEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const lineListeners: ((line: string) => void)[] = [];
    const exitListeners: ((detail: string) => void)[] = [];
    let exited = false;
    const exit = (detail: string): void => {
      if (exited) return;
      exited = true;
      for (const listener of exitListeners) listener(detail);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        for (const listener of lineListeners) listener(line);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4096)));
    child.stdin.on('error', () => undefined); // a dead helper is reported by 'exit' below
    child.on('error', (error) => {
      exit(error.message);
    });
    child.on('exit', () => {
      exit(err.trim().split('\n').pop() || 'the keychain helper stopped');
    });
    return {
      send: (line) => child.stdin.write(line + '\n'),
      onLine: (listener) => lineListeners.push(listener),
      onExit: (listener) => exitListeners.push(listener),
      kill: () => child.kill('SIGKILL'),
      close: () => child.stdin.end(),
      hold: (busy) => {
        for (const handle of [child, child.stdin, child.stdout, child.stderr] as unknown as Refable[]) {
          if (busy) handle.ref();
          else handle.unref();
        }
      },
    };
  }
}

let processDefault: KeychainHelperLauncher | undefined;

/**
 * The launcher of every OsKeyStore made without one in this process. Only the installed CLI sets it
 * (electron/main/cli-mode.ts: the CLI run by the app binary, where a Node child is impossible); plain Node
 * keeps the NodeChildLauncher.
 */
export function useKeychainLauncher(launcher: KeychainHelperLauncher): void {
  processDefault = launcher;
}

export function defaultKeychainLauncher(nodePath?: string): KeychainHelperLauncher {
  return nodePath === undefined && processDefault !== undefined
    ? processDefault
    : new NodeChildLauncher(nodePath);
}
