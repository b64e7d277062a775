/**
 * A running `coffer watch` (or any long-lived CLI child) as the e2e tests follow it: its output so far, its
 * exit code once it closes, and a wait for a condition on either that fails with both outputs after 20 s
 * instead of hanging the test (e2e/cli-folders.e2e.ts, cli-guard-rails.e2e.ts).
 */
import type { ChildProcess } from 'node:child_process';

export interface WatchedChild {
  /** What the child wrote to stdout so far. */
  readonly stdout: string;
  /** What the child wrote to stderr so far. */
  readonly stderr: string;
  /** The child's exit code once it has closed. */
  readonly exited: Promise<number | null>;
  /** Resolves once `test()` holds; throws, naming `what` and both outputs, after 20 s. */
  until(test: () => boolean, what: string): Promise<void>;
}

export function watchChild(child: ChildProcess): WatchedChild {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      resolve(code);
    });
  });
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    async until(test: () => boolean, what: string): Promise<void> {
      const deadline = Date.now() + 20_000;
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
