/**
 * Review of 7ae6580 (held.ts: the grace period counts from when the plaintext was read). That moment and
 * the deadlines were taken from the wall clock (Date.now), which an NTP step or a resume from suspend can
 * move forward by minutes between the read and the removal: the period then counted as long over, and a
 * writer the probe cannot see lost a write made a moment after the removal. Elapsed time is measured on
 * the monotonic clock. The wall clock's step is simulated (stepping the real clock would disturb every
 * other program on this shared machine); the files, the probe and the writer (a thread of this process,
 * which the /proc scan never counts, as it cannot see another user's program) are real.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, expect, it, vi } from 'vitest';
import type { Identity } from '../../../crypto/keys.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { SafeFiles } from './index.js';
import { useDeviceKey } from '../../../e2e/helpers/device-key.js';

let sodium: SodiumBackend;
let device: Identity & { kind: 'device' };
let root: string;

const key = useDeviceKey();
beforeAll(() => {
  ({ sodium, device } = key);
  root = key.tempDir('coffer-grace-clock-');
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Opens `path` for appending now; on 'go', waits `ms` and appends `text`. */
const WRITER = `
const { openSync, writeSync, closeSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const fd = openSync(workerData.path, 'a');
parentPort.postMessage('open');
parentPort.once('message', () => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms);
  writeSync(fd, workerData.text);
  closeSync(fd);
  parentPort.postMessage('wrote');
});
`;

it('a wall-clock step forward during the encryption does not end the grace period early', async () => {
  const dir = mkdtempSync(join(root, 'f-'));
  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'draft');
  const writer = new Worker(WRITER, { eval: true, workerData: { path: file, ms: 400, text: ' + late' } });
  const wrote = new Promise((resolve) => {
    writer.on('message', (m) => {
      if (m === 'wrote') resolve(m);
    });
  });
  await new Promise((resolve) => writer.once('message', resolve));
  const files = new SafeFiles(sodium, { graceMs: 1000 });
  const real = Date.now.bind(Date);
  let stepped = false;
  files.encryptInPlace(file, {
    recipients: [device],
    identities: [device],
    onProgress: () => {
      if (stepped) return;
      stepped = true;
      // The clock steps one hour forward mid-encryption (NTP, a resume): 10 ms really pass.
      vi.spyOn(Date, 'now').mockImplementation(() => real() + 3_600_000);
    },
  });
  expect(stepped).toBe(true);
  writer.postMessage('go');
  const rescued = files.settle();
  await wrote;
  await writer.terminate();
  expect(
    rescued.map((r) => r.message),
    'the write 0.4 s after the removal was lost',
  ).toHaveLength(1);
  const copy = readdirSync(dir).find((n) => n.includes('(conflict'));
  expect(copy && readFileSync(join(dir, copy), 'utf8')).toBe('draft + late');
}, 20_000);
