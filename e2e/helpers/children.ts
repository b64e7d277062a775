/**
 * Real child processes a test starts (writers that hold a file open, slow writers): push them onto the
 * list this returns and any still running after a test is killed, so that a failed test never leaves one
 * holding a file for the next.
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';

/** Call at the top of a test file (it registers an afterEach). */
export function killedAfterEach(): ChildProcess[] {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });
  return children;
}
