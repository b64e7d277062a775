/**
 * A streamed run holds the batches not sent yet, never the ones the workers already have (issue 10 scale
 * target: memory bounded by the batch at 1,000,000 files). A heap snapshot of `coffer protect` at 600,000
 * files found 690,000 `{ path, size }` objects held by the pool's queue of batches, every batch of the run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BatchFile } from './messages.js';
import { WorkerPool } from './pool.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let pool: WorkerPool;
let root: string;

beforeAll(() => {
  pool = new WorkerPool({ backend: 'wasm', size: 2, batchFiles: 16 });
  root = mkdtempSync(join(tmpdir(), 'coffer-pool-memory-'));
});
afterAll(async () => {
  await pool.close();
  rmSync(root, { recursive: true, force: true });
});

it('lets go of each batch once sent: the files of the first chunks are collectable mid-run', async () => {
  const CHUNKS = 40;
  // 16 batches a chunk: the next chunk is asked for while batches of this one still wait (as in a run).
  const PER_CHUNK = 256;
  const early: WeakRef<BatchFile>[] = [];
  let handed = 0;
  let aliveLate = -1;
  let outcomes = 0;
  await pool.stream({
    op: 'unprotect',
    roots: [root],
    recipients: [],
    identities: [],
    // Files that do not exist: each ends quickly as VANISHED; what matters is what the pool keeps.
    next: () => {
      if (handed === CHUNKS) return null;
      if (handed === CHUNKS - 1) {
        // By now the first chunks' batches were sent and answered long ago.
        gc();
        aliveLate = early.filter((ref) => ref.deref() !== undefined).length;
      }
      const chunk = Array.from({ length: PER_CHUNK }, (_, i): BatchFile => ({
        path: join(root, `c${handed}`, `f${i}.bin.coffer`),
        size: 512,
      }));
      if (handed < 2) for (const file of chunk) early.push(new WeakRef(file));
      handed++;
      return chunk;
    },
    onOutcome: () => {
      outcomes++;
    },
  });
  expect(outcomes).toBe(CHUNKS * PER_CHUNK);
  expect(early).toHaveLength(2 * PER_CHUNK);
  expect(aliveLate).toBe(0);
});
