/**
 * The audit pool when a reader dies: a worker that runs out of memory on one file (real V8 heap limit, real
 * worker threads) takes only that file down; the other files of its batch and of the run are still read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '../../../crypto/sodium.js';
import { AuditPool } from './pool.js';
import type { WorkFile, WorkOutcome } from './scanner-messages.js';
import { listFiles } from './scanner-walk.js';
import { guardRailsFor } from '../folders/guard-rails.js';

const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-audit-pool-')));
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('AuditPool', { timeout: 120_000 }, () => {
  it('a worker that runs out of memory on one file loses only that file (READER_FAILED); the run goes on', async () => {
    const dir = path.join(root, 'tree');
    fs.mkdirSync(dir);
    for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(dir, `ok-${i}.txt`), `user${i}@example.com\n`);
    // 20 MiB of markup: its text does not fit the small heap this test gives the workers.
    const cell = '<td>ann@example.com</td>';
    fs.writeFileSync(
      path.join(dir, 'huge.html'),
      `<table><tr>${cell.repeat(Math.ceil((20 << 20) / cell.length))}</tr></table>`,
    );
    const listing = listFiles({
      roots: [dir],
      protectedFolders: [],
      guard: guardRailsFor(path.join(root, 'app'), process.env),
    });
    const files: WorkFile[] = listing.files;
    const sodium = await defaultBackend();
    const pool = new AuditPool({
      backend: sodium.name,
      size: 2,
      // All in one batch: the files that shared it with the one that killed its worker are tried again.
      batchFiles: 64,
      batchBytes: 1 << 30,
      resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4 },
    });
    let outcomes: WorkOutcome[];
    try {
      outcomes = await pool.run({ mode: { op: 'scan', patterns: [] }, files, identities: [] });
    } finally {
      await pool.close();
    }
    const byName = new Map(outcomes.map((o) => [path.basename(o.path), o]));
    expect(outcomes).toHaveLength(7);
    expect(byName.get('huge.html')).toMatchObject({ kind: 'error', code: 'READER_FAILED' });
    for (let i = 0; i < 6; i++)
      expect(byName.get(`ok-${i}.txt`)).toMatchObject({ kind: 'scanned', findings: { email: 1 } });
  });

  it('a read that never returns ends as a skipped file (READ_STALLED) after the stall limit; the run goes on', async () => {
    const dir = path.join(root, 'share');
    fs.mkdirSync(dir);
    for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(dir, `ok-${i}.txt`), `user${i}@example.com\n`);
    fs.writeFileSync(path.join(dir, 'stuck.txt'), 'ann@example.com\n');
    const listing = listFiles({
      roots: [dir],
      protectedFolders: [],
      guard: guardRailsFor(path.join(root, 'app'), process.env),
    });
    const sodium = await defaultBackend();
    const pool = new AuditPool({
      backend: sodium.name,
      size: 2,
      batchFiles: 64,
      batchBytes: 1 << 30,
      stallMs: 1_000,
      // The real scanner worker, whose reads of "stuck" files block forever (testdata/stuck-read-worker.ts).
      worker: { callerUrl: import.meta.url, name: 'testdata/stuck-read-worker' },
    });
    const started = performance.now();
    let outcomes: WorkOutcome[] | 'hung';
    try {
      outcomes = await Promise.race([
        pool.run({ mode: { op: 'scan', patterns: [] }, files: listing.files, identities: [] }),
        new Promise<'hung'>((resolve) =>
          setTimeout(() => {
            resolve('hung');
          }, 30_000).unref(),
        ),
      ]);
    } finally {
      void pool.close();
    }
    expect(outcomes).not.toBe('hung');
    if (outcomes === 'hung') return;
    const byName = new Map(outcomes.map((o) => [path.basename(o.path), o]));
    expect(outcomes).toHaveLength(7);
    expect(byName.get('stuck.txt')).toMatchObject({ kind: 'error', code: 'READ_STALLED' });
    for (let i = 0; i < 6; i++)
      expect(byName.get(`ok-${i}.txt`)).toMatchObject({ kind: 'scanned', findings: { email: 1 } });
    // The stall limit and a new worker's start, not the 30 s above.
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});
