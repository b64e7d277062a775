/**
 * Issue 10 item 2 (review of the busy check's reused scan, busy.ts): one /proc scan answers for later
 * batches for up to `maxAgeMs`, or 20 times as long as the scan took (seconds on a loaded machine, where a
 * scan takes 0.3-0.6 s). A program that opened a file after that scan but before Coffer even read it, and
 * holds it open, was not seen: the file was encrypted and its plaintext removed under the program, whose
 * later writes went to an unlinked inode. A scan may answer only for files read after it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { Identity } from '../../../crypto/keys.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { ProcFdProbe } from './busy.js';
import { SafeFiles } from './index.js';
import { killedAfterEach } from '../../../e2e/helpers/children.js';
import { useDeviceKey } from '../../../e2e/helpers/device-key.js';

let sodium: SodiumBackend;
let device: Identity & { kind: 'device' };
let root: string;
const children = killedAfterEach();

const key = useDeviceKey();
beforeAll(() => {
  ({ sodium, device } = key);
  root = key.tempDir('coffer-busy-snapshot-');
});

/** A real process that opens `path` read-write and holds it, idle; resolves once it has it open. */
function holdOpen(path: string): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', 'exec 3<>"$1"; echo ready; exec sleep 60', 'sh', path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', () => {
      resolve(child);
    });
  });
}

it('a program that opened a file after an earlier batch’s scan, and holds it, keeps it (IN_USE)', async () => {
  const dir = mkdtempSync(join(root, 'f-'));
  const first = join(dir, 'first.txt');
  const second = join(dir, 'second.txt');
  writeFileSync(first, 'first');
  writeFileSync(second, 'second');
  // The reuse window of a loaded machine (20 x a 0.25 s scan), so the test does not race the 100 ms floor.
  const files = new SafeFiles(sodium, { probe: new ProcFdProbe(5000), graceMs: 200 });
  const keys = { recipients: [device], identities: [device] };
  files.encryptInPlace(first, keys); // the scan of this batch's busy check
  await holdOpen(second);
  let code: string | undefined;
  try {
    files.encryptInPlace(second, keys);
  } catch (error) {
    code = (error as { code?: string }).code;
  }
  files.settle();
  expect(existsSync(second), 'the plaintext was removed while a program held it open').toBe(true);
  expect(code).toBe('IN_USE');
  expect(readdirSync(dir).sort()).toEqual(['first.txt.coffer', 'second.txt']);
}, 20_000);

it('encrypt --replace: a program that opened the file after the previous file’s scan keeps it (IN_USE)', async () => {
  const dir = mkdtempSync(join(root, 'f-'));
  const files = new SafeFiles(sodium, { probe: new ProcFdProbe(5000), graceMs: 200 });
  const keys = { recipients: [device], identities: [device] };
  const replace = (path: string): void => {
    const before = lstatSync(path);
    const { target, written } = files.encryptInPlace(path, { ...keys, keep: true });
    if (!written) throw new Error('encryptInPlace named no written file');
    files.removeProtectedPlaintext(path, before, { path: target, written });
  };
  const first = join(dir, 'first.txt');
  const second = join(dir, 'second.txt');
  writeFileSync(first, 'first');
  writeFileSync(second, 'second');
  replace(first); // its removal scans /proc
  await holdOpen(second);
  let code: string | undefined;
  try {
    replace(second);
  } catch (error) {
    code = (error as { code?: string }).code;
  }
  files.settle();
  expect(existsSync(second), 'the plaintext was removed while a program held it open').toBe(true);
  expect(code).toBe('IN_USE');
}, 20_000);
