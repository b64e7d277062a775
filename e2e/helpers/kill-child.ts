/**
 * Runs a child test script (e2e/folders-child.ts, e2e/rewrap-child.ts) that prints `ready` once set up,
 * and SIGKILLs it `killAfterMs` after that (null: never), for the kill -9 tests (e2e/folders-kill.e2e.ts,
 * rewrap-kill.e2e.ts). Resolves with what it printed and how it ended; each test judges that end.
 */
import { spawn } from 'node:child_process';

export interface ChildEnd {
  readonly out: string;
  readonly err: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Date.now() when it printed `ready` (0 if it never did) and when it exited. */
  readonly readyAt: number;
  readonly exitedAt: number;
}

export function runKilledAfterReady(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  killAfterMs: number | null,
): Promise<ChildEnd> {
  return new Promise((resolve, reject) => {
    let readyAt = 0;
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!readyAt && out.startsWith('ready\n')) readyAt = Date.now();
      if (killAfterMs !== null && out.startsWith('ready\n') && !child.killed) {
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        killAfterMs = null;
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      resolve({ out, err, code, signal, readyAt, exitedAt: Date.now() });
    });
  });
}
