/**
 * What the busy-file check costs (issue 10 item 2 target: ≤ 10% on protecting 5,000 files of 1–64 KiB).
 * The same SafeFiles batches (64 files, as the worker pool sends them) are timed with the platform's probe
 * (Linux: one /proc fd scan per batch) and with a probe that asks nothing, alternating, median of the runs;
 * the grace period is left out of both (it is a wait at the end of a run, reported on its own).
 * `tsx bench/busy.ts [--files N] [--runs N]`
 */
import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDeviceKey } from '../crypto/keys.js';
import { defaultBackend } from '../crypto/sodium.js';
import { defaultProbe, SafeFiles, type OpenFileProbe } from '../electron/services/safe-file.js';
import { median } from './measure.js';

const { values } = parseArgs({
  options: { files: { type: 'string', default: '5000' }, runs: { type: 'string', default: '3' } },
});
const count = Number(values.files);
const runs = Number(values.runs);
const sodium = await defaultBackend();
const key = generateDeviceKey(sodium);
const root = mkdtempSync(join(tmpdir(), 'coffer-bench-busy-'));

function makeFiles(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const buffer = Buffer.alloc(64 * 1024);
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const size = 1024 + ((i * 40503) % (63 * 1024 + 1));
    randomFillSync(buffer, 0, size);
    const path = join(dir, `doc-${i}.bin`);
    writeFileSync(path, buffer.subarray(0, size));
    paths.push(path);
  }
  return paths;
}

function protect(probe: OpenFileProbe, run: number): number {
  const dir = join(root, `run-${run}`);
  const paths = makeFiles(dir);
  const files = new SafeFiles(sodium, { probe, graceMs: 0 });
  const started = performance.now();
  for (let i = 0; i < paths.length; i += 64) {
    const results = files.encryptManyInPlace(paths.slice(i, i + 64), {
      recipients: [{ kind: 'device', key }],
      identities: [{ kind: 'device', key }],
      roots: [dir],
    });
    if (results.some((r) => !r.ok)) throw new Error('a file was not protected');
  }
  const seconds = (performance.now() - started) / 1000;
  if (readdirSync(dir).length !== count) throw new Error('unexpected files left');
  rmSync(dir, { recursive: true });
  return seconds;
}

const blind: OpenFileProbe = { holders: () => new Map() };
const probe = defaultProbe();
// A fresh probe each time: one full scan (a probe reuses its scan for a while).
const scanStart = performance.now();
for (let i = 0; i < 20; i++) defaultProbe().holders([{ dev: 0, ino: 0, real: '/nonexistent' }]);
const scanMs = (performance.now() - scanStart) / 20;
const without: number[] = [];
const withCheck: number[] = [];
try {
  for (let r = 0; r < runs; r++) {
    without.push(protect(blind, r * 2));
    withCheck.push(protect(probe, r * 2 + 1));
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
const a = median(without);
const b = median(withCheck);
const processes = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).length;
console.log(
  JSON.stringify({
    files: count,
    batches: Math.ceil(count / 64),
    processes,
    scanMs: Number(scanMs.toFixed(2)),
    withoutCheckS: Number(a.toFixed(3)),
    withCheckS: Number(b.toFixed(3)),
    overheadPct: Number((((b - a) / a) * 100).toFixed(1)),
  }),
);
