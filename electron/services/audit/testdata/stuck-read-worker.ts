/**
 * The audit's scanner worker with a disk that never answers for one file: a read of any file whose name
 * holds "stuck" blocks the worker thread for good (Atomics.wait on memory nobody wakes), the way a read from
 * a hung network share or FUSE mount never returns. Every other read is the real one. Used by pool.test.ts
 * (AuditPoolOptions.worker) to check that the pool's watchdog skips the file and replaces the worker.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';

const realReadSync = fs.readSync;
const never = new Int32Array(new SharedArrayBuffer(4));

function readSync(fd: number, ...rest: unknown[]): number {
  if (path.basename(fs.readlinkSync(`/proc/self/fd/${fd}`)).includes('stuck')) Atomics.wait(never, 0, 0);
  return (realReadSync as (fd: number, ...args: unknown[]) => number)(fd, ...rest);
}
fs.readSync = readSync;
// The scanner's `import { readSync } from 'node:fs'` sees the replacement only after this.
syncBuiltinESMExports();
await import('../scanner-worker.js');
