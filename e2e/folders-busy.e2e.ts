/**
 * Issue 10 item 2: never lose a concurrent write. Real child processes hold and write files while a
 * protect runs; afterwards every byte they wrote is found — in the plaintext left in place, in the
 * protected file, or in a conflict copy — and a file held open is reported IN_USE, not removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import type { SodiumBackend } from '../crypto/sodium.js';
import { FolderService, lockDirIn } from '../electron/services/folders/folder-service.js';
import type { WorkerPool } from '../electron/services/folders/pool.js';
import { FolderRegistry } from '../electron/services/folders/registry.js';
import { FolderWatcher } from '../electron/services/folders/watcher.js';
import { useFolderKeys } from './helpers/folder-keys.js';
import { SafeFiles, type OpenFileProbe } from '../electron/services/safe-file.js';

let sodium: SodiumBackend;
let key: Uint8Array;
let pool: WorkerPool;
let root: string;
let data: string;
let service: FolderService;
const children: ChildProcess[] = [];

const folderKeys = useFolderKeys();
const { keys } = folderKeys;
beforeAll(() => {
  ({ sodium, key, pool } = folderKeys);
});
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'coffer-busy-'));
  data = join(root, 'data');
  mkdirSync(data);
  const home = join(root, 'home');
  service = new FolderService({
    registry: FolderRegistry.inHome(home),
    keys,
    pool: () => pool,
    lockDir: lockDirIn(home),
    retryDelayMs: 20,
  });
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** Starts a slow writer and resolves once it has written its first part (and holds the file open). */
function slowWriter(
  file: string,
  part1: string,
  pauseMs: number,
  part2: string,
  openDelayMs = 0,
): { started: Promise<void>; done: Promise<void> } {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'helpers', 'slow-writer.ts'),
      file,
      part1,
      String(pauseMs),
      part2,
      String(openDelayMs),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  let out = '';
  let onStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('wrote1')) onStarted();
  });
  // Killed by afterEach (the writer that holds its file for a minute): not an error of the test.
  const done = new Promise<void>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (code === 0 || signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited ${code}`));
    });
  });
  return { started, done };
}

function decrypt(path: string): string {
  const out = mkdtempSync(join(root, 'out-'));
  const files = new SafeFiles(sodium);
  const { target } = files.decryptTo(path, { identities: [{ kind: 'device', key }], outDir: out });
  return readFileSync(target, 'utf8');
}

/** Everything the folder holds about `name`, decrypted: plaintext, protected file, conflict copies. */
function contentsOf(name: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(data)) {
    const path = join(data, entry);
    if (entry === name) found.push(readFileSync(path, 'utf8'));
    else if (entry === name + '.coffer') found.push(decrypt(path));
    else if (entry.startsWith(name.replace(/\.[^.]*$/, '') + ' (conflict '))
      found.push(readFileSync(path, 'utf8'));
  }
  return found;
}

it('a program that writes, pauses 4 s and writes again loses nothing to a protect run', async () => {
  const file = join(data, 'export.csv');
  const part1 = 'first half,'.repeat(1000);
  const part2 = 'second half after the pause;'.repeat(500);
  const writer = slowWriter(file, part1, 4000, part2);
  await writer.started;
  const report = await service.protect(data);
  await writer.done;
  const all = contentsOf('export.csv').join('|');
  expect(
    all.includes(part1 + part2) || (all.includes(part1) && all.includes(part2)),
    'every byte found',
  ).toBe(true);
  // It was open while the run wanted to remove it: skipped, in the clear, with its reason.
  expect(report.skipped.map((s) => [s.code, s.path])).toContainEqual(['IN_USE', file]);
  expect(readFileSync(file, 'utf8')).toBe(part1 + part2);
}, 30_000);

it('a file another process holds open is not removed and is reported IN_USE', async () => {
  const held = join(data, 'held.db');
  const free = join(data, 'free.txt');
  writeFileSync(free, 'nobody has me open');
  const writer = slowWriter(held, 'database page', 60_000, '');
  await writer.started;
  const report = await service.protect(data);
  expect(readdirSync(data).sort()).toEqual(['free.txt.coffer', 'held.db']);
  expect(report.filesDone).toBe(1);
  const inUse = report.skipped.find((s) => s.path === held);
  expect(inUse?.code).toBe('IN_USE');
  expect(inUse?.message).toMatch(/open in node \(process \d+\)/);
  expect(readFileSync(held, 'utf8')).toBe('database page');
}, 30_000);

it('a writer the busy check cannot see still loses nothing: its late write comes back as a conflict copy', async () => {
  // As another user's process would be (its /proc entries are unreadable): a probe that sees nobody.
  const blind: OpenFileProbe = { holders: () => new Map() };
  const files = new SafeFiles(sodium, { probe: blind, graceMs: 1500 });
  const file = join(data, 'report.txt');
  const writer = slowWriter(file, 'before;', 400, 'after the unlink;');
  await writer.started;
  files.encryptInPlace(file, {
    recipients: [{ kind: 'device', key }],
    identities: [{ kind: 'device', key }],
  });
  await writer.done;
  const rescued = files.settle();
  expect(rescued).toHaveLength(1);
  const copy = rescued[0]?.copy ?? '';
  expect(copy).toMatch(/report \(conflict \d{4}-\d\d-\d\d \d{6}\)\.txt$/);
  expect(readFileSync(copy, 'utf8')).toBe('before;after the unlink;');
  expect(decrypt(file + '.coffer')).toBe('before;');
}, 30_000);

it('the watcher waits until a quiet file is also closed', async () => {
  await service.register(data);
  const watcher = new FolderWatcher([data], service, { stableMs: 300, debounceMs: 50 });
  try {
    await watcher.ready();
    const file = join(data, 'download.bin');
    // Quiet for 2.5 s (far past the stable period) but still open: not protected meanwhile.
    const writer = slowWriter(file, 'chunk one;', 2500, 'chunk two;');
    await writer.started;
    await new Promise((r) => setTimeout(r, 2000));
    expect(readdirSync(data), 'not protected while open').toEqual(['download.bin']);
    await writer.done;
    const end = Date.now() + 10_000;
    // Until the run is over: the ciphertext takes its name before the plaintext goes.
    while (readdirSync(data).join() !== 'download.bin.coffer' && Date.now() < end)
      await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(data)).toEqual(['download.bin.coffer']);
    expect(decrypt(file + '.coffer')).toBe('chunk one;chunk two;');
  } finally {
    await watcher.close();
  }
}, 30_000);
