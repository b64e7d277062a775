/**
 * The audit's scanner worker, slow on some files: each read of a file whose name holds "slow" first spends
 * ~3 s of CPU (as an extractor parsing a document does between two signs of progress). CPU, not a sleep: a thread stopped in the middle still
 * has work left when it goes on. Every other read is the real one. Used by pool-review.test.ts
 * (AuditPoolOptions.worker).
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';

const realReadSync = fs.readSync;

/** Iterations of spin() that take ~3 s here, measured once. */
function spin(iterations: number): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0;
  return x;
}
const started = performance.now();
spin(1e7);
const perRead = Math.max(1, Math.round((1e7 * 3000) / Math.max(1, performance.now() - started)));

function readSync(fd: number, ...rest: unknown[]): number {
  if (path.basename(fs.readlinkSync(`/proc/self/fd/${fd}`)).includes('slow')) spin(perRead);
  return (realReadSync as (fd: number, ...args: unknown[]) => number)(fd, ...rest);
}
fs.readSync = readSync;
// The scanner's `import { readSync } from 'node:fs'` sees the replacement only after this.
syncBuiltinESMExports();
await import('../scanner-worker.js');
