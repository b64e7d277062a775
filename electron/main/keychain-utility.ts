/**
 * The app's keychain helper: an Electron utilityProcess (issue 12 item 2). The packaged binary has the
 * `runAsNode` fuse off (electron-builder.ts), so it can no longer start a Node child of itself with
 * ELECTRON_RUN_AS_NODE; a utilityProcess is Electron's supported way to run Node code in a child that can
 * be killed when a keychain call hangs. The composition root (main.ts → buildApp) picks this launcher;
 * the CLI, run by Node, keeps the default NodeChildLauncher.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { utilityProcess } from 'electron';
import { childEnv } from '../services/child-env.js';
import type { KeychainHelper, KeychainHelperLauncher } from '../services/keys/keychain-helper.js';

/** dist/electron/main → dist/electron/services/keys/keychain-helper-process.js (built by tsc beside it). */
export const HELPER_MODULE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../services/keys/keychain-helper-process.js',
);

export class UtilityProcessLauncher implements KeychainHelperLauncher {
  readonly kind = 'utility-process';

  /** `modulePath` (@napi-rs/keyring) is resolved by the helper itself, from its own place in the archive. */
  launch(_modulePath: string, env: NodeJS.ProcessEnv): KeychainHelper {
    const child = utilityProcess.fork(HELPER_MODULE, [], {
      env: childEnv(env),
      serviceName: 'Coffer keychain helper',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer | string) => (err = (err + String(d)).slice(-4096)));
    const lineListeners: ((line: string) => void)[] = [];
    const exitListeners: ((detail: string) => void)[] = [];
    let exited = false;
    const exit = (detail: string): void => {
      if (exited) return;
      exited = true;
      for (const listener of exitListeners) listener(detail);
    };
    child.on('message', (message: unknown) => {
      for (const listener of lineListeners) listener(String(message));
    });
    child.on('error', (type: string) => {
      exit(`the keychain helper failed (${type})`);
    });
    child.on('exit', (code: number) => {
      exit(err.trim().split('\n').pop() || `the keychain helper stopped (exit code ${code})`);
    });
    return {
      send: (line) => {
        child.postMessage(line);
      },
      onLine: (listener) => lineListeners.push(listener),
      onExit: (listener) => exitListeners.push(listener),
      kill: () => child.kill(),
      close: () => child.kill(),
      // The app lives on while idle; a utilityProcess never holds a CLI run open.
      hold: () => undefined,
    };
  }
}
