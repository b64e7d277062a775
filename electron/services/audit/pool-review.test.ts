/**
 * Adversarial review of the audit pool's per-file watchdog (issue 11: "never a crash or a hang", and never a
 * file reported unread that was fine). Real worker threads, a real child process, real signals.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '../../../crypto/sodium.js';
import { guardRailsFor } from '../folders/guard-rails.js';
import { AuditPool } from './pool.js';
import { listFiles } from './scanner-walk.js';

const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-audit-pool-review-')));
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const here = path.dirname(new URL(import.meta.url).pathname);

/**
 * A child process that scans `dir` with the pool (stall limit `stallMs`, the slow-disk worker), prints
 * "reading" at the first progress and, at the end, one JSON line of `[name, kind, code]` per file.
 */
function scanInChild(dir: string, stallMs: number) {
  const script = `
    import { AuditPool } from ${JSON.stringify(path.join(here, 'pool.ts'))};
    import { listFiles } from ${JSON.stringify(path.join(here, 'scanner-walk.ts'))};
    import { guardRailsFor } from ${JSON.stringify(path.join(here, '../folders/guard-rails.ts'))};
    import { defaultBackend } from ${JSON.stringify(path.join(here, '../../../crypto/sodium.ts'))};
    import path from 'node:path';
    const sodium = await defaultBackend();
    const listing = listFiles({ roots: [${JSON.stringify(dir)}], protectedFolders: [],
      guard: guardRailsFor(${JSON.stringify(path.join(root, 'app'))}, process.env) });
    const pool = new AuditPool({ backend: sodium.name, size: 2, batchFiles: 1, stallMs: ${stallMs},
      worker: { callerUrl: ${JSON.stringify(new URL('pool.ts', import.meta.url).href)}, name: 'testdata/slow-read-worker' } });
    let said = false;
    const outcomes = await pool.run({ mode: { op: 'scan', patterns: [] }, files: listing.files, identities: [],
      onBytes: () => { if (!said) { said = true; process.stdout.write('reading\\n'); } } });
    await pool.close();
    process.stdout.write(JSON.stringify(outcomes.map((o) => [path.basename(o.path), o.kind, o.code ?? null])) + '\\n');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const reading = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('reading\n')) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, reading, exited, output: () => out };
}

describe('audit pool watchdog (adversarial review)', { timeout: 120_000 }, () => {
  it('a scan stopped for longer than the stall limit (Ctrl-Z, then fg) reports no file as stalled', async () => {
    const dir = path.join(root, 'stopped');
    fs.mkdirSync(dir);
    // Two reads of ~3 s of CPU each (testdata/slow-read-worker.ts).
    const line = 'ann@example.com\n';
    fs.writeFileSync(path.join(dir, 'slow.txt'), line.repeat(Math.ceil((300 << 10) / line.length)));
    // Stall limit 8 s, well above one read's 3 s of work even on a busy machine: the watchdog looks every 1 s.
    const run = scanInChild(dir, 8_000);
    // A child that dies before reading fails below (its exit code), not by a timeout here.
    await Promise.race([run.reading, run.exited]);
    // Stopped in the middle of the second read, after the watchdog saw the first: the whole process stops,
    // its workers too (no thread makes progress, and none is stuck), for longer than the stall limit.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    run.child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    run.child.kill('SIGCONT');
    expect(await run.exited).toBe(0);
    const last = run.output().trim().split('\n').at(-1) ?? '';
    const outcomes = JSON.parse(last) as [string, string, string | null][];
    expect(outcomes).toHaveLength(1);
    for (const [name, kind, code] of outcomes) expect([name, kind, code]).toEqual([name, 'scanned', null]);
  });
});

describe('audit pool: several readers stuck (adversarial review)', { timeout: 120_000 }, () => {
  it('two workers stuck at once, a stuck file in the last batch and a batch of stuck files: each file once, no hang', async () => {
    const dir = path.join(root, 'stuck-many');
    fs.mkdirSync(dir);
    for (let i = 0; i < 9; i++) fs.writeFileSync(path.join(dir, `ok-${i}.txt`), `user${i}@example.com\n`);
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dir, `stuck-${i}.txt`), 'ann@example.com\n');
    const listing = listFiles({
      roots: [dir],
      protectedFolders: [],
      guard: guardRailsFor(path.join(root, 'app'), process.env),
    });
    const sodium = await defaultBackend();
    for (const batchFiles of [1, 64]) {
      const pool = new AuditPool({
        backend: sodium.name,
        size: 2,
        batchFiles,
        batchBytes: 1 << 30,
        stallMs: 500,
        worker: { callerUrl: new URL('pool.ts', import.meta.url).href, name: 'testdata/stuck-read-worker' },
      });
      const seen: string[] = [];
      try {
        await pool.run({
          mode: { op: 'scan', patterns: [] },
          files: listing.files,
          identities: [],
          onOutcome: (o) => {
            seen.push(`${path.basename(o.path)} ${o.kind} ${'code' in o ? o.code : ''}`);
          },
        });
      } finally {
        void pool.close();
      }
      seen.sort();
      expect(seen, `batches of ${batchFiles}`).toEqual([
        ...Array.from({ length: 9 }, (_, i) => `ok-${i}.txt scanned `),
        ...Array.from({ length: 3 }, (_, i) => `stuck-${i}.txt error READ_STALLED`),
      ]);
    }
  });
});

describe('audit pool: cancel while a reader is stuck (adversarial review)', { timeout: 120_000 }, () => {
  it('ends within seconds, not after the stall limit; the stuck file is cancelled, not reported unread', async () => {
    const dir = path.join(root, 'stuck-cancel');
    fs.mkdirSync(dir);
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, `ok-${i}.txt`), `user${i}@example.com\n`);
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
      batchFiles: 1,
      // The default-like limit: a hung share is given a minute before its file is skipped.
      stallMs: 60_000,
      worker: { callerUrl: new URL('pool.ts', import.meta.url).href, name: 'testdata/stuck-read-worker' },
    });
    const abort = new AbortController();
    const seen: string[] = [];
    let cancelledAt: number;
    try {
      const run = pool.run({
        mode: { op: 'scan', patterns: [] },
        files: listing.files,
        identities: [],
        signal: abort.signal,
        onOutcome: (o) => {
          seen.push(`${path.basename(o.path)} ${o.kind}`);
        },
      });
      // The other worker reads what it can (a file queued behind the stuck one waits); then the user cancels.
      const waitFrom = performance.now();
      while (seen.length < 4 && performance.now() - waitFrom < 3_000)
        await new Promise((resolve) => setTimeout(resolve, 20));
      cancelledAt = performance.now();
      abort.abort();
      const ended = await Promise.race([
        run.then(() => 'ended'),
        new Promise<string>((resolve) =>
          setTimeout(() => {
            resolve('still running');
          }, 20_000).unref(),
        ),
      ]);
      expect(ended).toBe('ended');
    } finally {
      void pool.close();
    }
    expect(performance.now() - cancelledAt).toBeLessThan(10_000);
    // Each file once: the stuck one cancelled, the others read or cancelled; none reported unread.
    seen.sort();
    expect(seen).toHaveLength(5);
    expect(seen.at(-1)).toBe('stuck.txt cancelled');
    for (const [i, line] of seen.slice(0, 4).entries())
      expect([`ok-${i}.txt scanned`, `ok-${i}.txt cancelled`]).toContain(line);
  });
});
