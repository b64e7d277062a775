/**
 * Adversarial review of the audit cache (issue 11): a scan killed (SIGKILL, power loss) while it wrote its
 * cache. Real child process, real signal.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditCache } from './cache.js';
import type { ListedFile } from './scanner-walk.js';

const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-audit-cache-review-')));
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const here = path.dirname(new URL(import.meta.url).pathname);

function listed(i: number): ListedFile {
  return {
    path: `/docs/file-${i}.csv`,
    size: 10,
    mtimeMs: 1,
    ctimeMs: 1,
    ino: i,
    dev: 1,
    protected: false,
    inProtectedFolder: false,
  };
}

const temps = (appDir: string): string[] => fs.readdirSync(appDir).filter((n) => n.includes('.tmp-'));

describe('audit cache written by a scan that was killed (adversarial review)', { timeout: 120_000 }, () => {
  it('leaves no temporary copy behind for good: the next save removes an old one', async () => {
    const appDir = path.join(dir, 'data-audit');
    fs.mkdirSync(appDir);
    const file = path.join(appDir, 'cache.json');
    // A child saving a cache of 200,000 entries again and again, killed while a save is writing.
    const script = `
      import { AuditCache } from ${JSON.stringify(path.join(here, 'cache.ts'))};
      const cache = AuditCache.load(${JSON.stringify(file)}, 'fp', new Uint8Array(32).fill(7));
      for (let i = 0; i < 200000; i++)
        cache.store({ path: '/docs/file-' + i + '.csv', size: 10, mtimeMs: 1, ctimeMs: 1, ino: i, dev: 1,
          protected: false, inProtectedFolder: false }, { kind: 'scanned', findings: { email: 1 }, modifiedMs: 1 });
      for (;;) { cache.save(); cache.store({ path: '/x', size: 1, mtimeMs: 1, ctimeMs: 1, ino: 1, dev: 1,
        protected: false, inProtectedFolder: false }, { kind: 'content', code: 'NO_TEXT', reason: 'x' }); }
    `;
    let left: string[] = [];
    for (let attempt = 0; attempt < 5 && left.length === 0; attempt++) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: 'inherit',
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      const started = Date.now();
      while (temps(appDir).length === 0 && Date.now() - started < 60_000)
        await new Promise((resolve) => setTimeout(resolve, 5));
      child.kill('SIGKILL');
      await exited;
      left = temps(appDir);
    }
    expect(left.length, 'a save was under way when the child was killed').toBeGreaterThan(0);
    // As if the kill was yesterday (a save under way in another process now is seconds old: kept).
    const yesterday = new Date(Date.now() - 24 * 3600 * 1000);
    for (const name of left) fs.utimesSync(path.join(appDir, name), yesterday, yesterday);
    const busy = path.join(appDir, '.cache.json.tmp-0123456789ab');
    fs.writeFileSync(busy, 'another process writing now');

    const key = new Uint8Array(32).fill(7);
    const cache = AuditCache.load(file, 'fp', key);
    cache.store(listed(1), { kind: 'scanned', findings: { email: 2 }, modifiedMs: 1 });
    cache.save();
    expect(temps(appDir)).toEqual([path.basename(busy)]);
    expect(AuditCache.load(file, 'fp', key).lookup(listed(1))).toEqual({
      kind: 'scanned',
      findings: { email: 2 },
      modifiedMs: 1,
    });
  });
});

describe('a cache planted with one endless entry (adversarial review)', () => {
  it('is refused at once, not read in time that grows with the square of its size', () => {
    // A key that never ends: the reader waited for its end, scanning all it had again at each 1 MiB read.
    const file = path.join(dir, 'planted.json');
    const fd = fs.openSync(file, 'w', 0o600);
    // A header line of the signed format (its MAC is checked only once the body is read), then the body.
    fs.writeSync(fd, `${JSON.stringify({ format: 'coffer-audit-cache-signed-1', mac: 'A'.repeat(44) })}\n`);
    fs.writeSync(fd, '{"format":"coffer-audit-cache-2","fingerprint":"fp","entries":{"');
    const block = Buffer.alloc(1 << 20, 'a');
    for (let i = 0; i < 64; i++) fs.writeSync(fd, block);
    fs.closeSync(fd);
    const started = performance.now();
    const cache = AuditCache.load(file, 'fp', new Uint8Array(32).fill(7));
    expect(cache.size).toBe(0);
    // 64 MiB took ~9 s (128 MiB ~38 s, 1 GiB hours); reading it through is well under a second.
    expect(performance.now() - started).toBeLessThan(3_000);
  });
});

describe('a forged cache of many rows (adversarial review)', () => {
  it('is refused by its MAC before its rows are taken in: no memory for rows that do not verify', () => {
    // Rows that look right under a header with a made-up MAC: the reader built a Map of every row (1.9
    // million here) and checked the MAC only at the end: ~400 MB of heap for 100 MiB, 1.7 GB for 400 MiB.
    const file = path.join(dir, 'forged.json');
    const fd = fs.openSync(file, 'w', 0o600);
    fs.writeSync(fd, `${JSON.stringify({ format: 'coffer-audit-cache-signed-1', mac: 'A'.repeat(44) })}\n`);
    fs.writeSync(fd, '{"format":"coffer-audit-cache-2","fingerprint":"fp","entries":{');
    let rows = 0;
    let written = 0;
    while (written < 64 << 20) {
      const piece: string[] = [];
      for (let k = 0; k < 10_000; k++, rows++)
        piece.push(`${rows > 0 ? ',' : ''}"/home/u/Documents/f${rows}.csv":[10,1,1,${rows},1,{},1]`);
      const text = piece.join('');
      fs.writeSync(fd, text);
      written += text.length;
    }
    fs.writeSync(fd, '}}');
    fs.closeSync(fd);
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage().heapUsed;
    const cache = AuditCache.load(file, 'fp', new Uint8Array(32).fill(7));
    // The heap right after the load: what it kept alive and all it made since the last collection.
    const grown = process.memoryUsage().heapUsed - before;
    expect(cache.size).toBe(0);
    expect(rows).toBeGreaterThan(1_000_000);
    expect(grown / 1024 / 1024).toBeLessThan(64);
  });
});
