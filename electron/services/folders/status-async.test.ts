/**
 * Issue 10 item 9: the app's `status` of a large tree must not hold its main thread. statusAsync gives the
 * event loop back every few milliseconds of walking, and answers exactly what the CLI's status() does.
 * Real files on disk; a timer on this thread measures the longest time it was kept waiting.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAGIC } from '../../../crypto/header.js';
import { FoldersAdapter } from '../../main/adapters/folders.js';
import { RunTracker } from '../../main/runs.js';
import { FolderService, lockDirIn } from './folder-service.js';
import type { WorkerPool } from './pool.js';
import { FolderRegistry } from './registry.js';
import { StatusCache } from './status-cache.js';

const root = mkdtempSync(join(tmpdir(), 'coffer-status-async-'));
const data = join(root, 'data');
const FILES = 12_000;

beforeAll(() => {
  // Wide and deep: one folder of many files (a single readdir) and many small folders.
  for (let d = 0; d < 40; d++) mkdirSync(join(data, `d${d}`, 'sub'), { recursive: true });
  const head = Buffer.concat([MAGIC, Buffer.alloc(32, 1)]);
  for (let i = 0; i < FILES; i++) {
    const dir = i < FILES / 2 ? data : join(data, `d${i % 40}`, 'sub');
    // Every third one looks protected (Coffer's magic: status reads the head of each .coffer).
    if (i % 3 === 0) writeFileSync(join(dir, `f${i}.txt.coffer`), head);
    else writeFileSync(join(dir, `f${i}.txt`), 'plain');
  }
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

it('answers what status() does while the main thread keeps running', async () => {
  const home = join(root, 'home');
  const service = new FolderService({
    registry: FolderRegistry.inHome(home),
    keys: { recipients: () => Promise.resolve([]), identities: () => Promise.resolve([]) },
    pool: (): WorkerPool => {
      throw new Error('status never starts a run');
    },
    lockDir: lockDirIn(home),
  });
  const expected = service.status(data);

  let last = performance.now();
  let longest = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    ticks++;
  }, 2);
  const started = performance.now();
  let answer;
  try {
    answer = await service.statusAsync(data);
  } finally {
    clearInterval(timer);
  }
  const took = performance.now() - started;
  longest = Math.max(longest, performance.now() - last);
  console.log(
    `statusAsync of ${FILES} files: ${took.toFixed(0)} ms, ${ticks} timer ticks, longest wait ${longest.toFixed(1)} ms`,
  );

  expect(answer).toEqual(expected);
  expect(answer[0]?.protectedFiles).toBe(FILES / 3);
  expect(answer[0]?.plaintextFiles).toBe((FILES * 2) / 3);
  // The timer ran all along (a synchronous walk lets it fire once, after: its wait is the whole walk), and
  // never waited for a large part of it. The slices themselves are 8 ms; the bound is loose because on this
  // shared 2-core machine (load average 12-22 while measured) the OS alone kept the thread off for 250 ms.
  expect(ticks).toBeGreaterThanOrEqual(5);
  expect(longest).toBeLessThan(Math.max(150, took / 2));
});

it("the app's folder list answers from the status cache: scanned off the main thread, then from memory", async () => {
  const home = join(root, 'home-cache');
  const registry = FolderRegistry.inHome(home);
  const service = new FolderService({
    registry,
    keys: { recipients: () => Promise.resolve([]), identities: () => Promise.resolve([]) },
    pool: (): WorkerPool => {
      throw new Error('status never starts a run');
    },
    lockDir: lockDirIn(home),
  });
  registry.add(data);
  const scans: string[] = [];
  const cache = new StatusCache({
    appHome: home,
    policyExclusions: () => [],
    ignorePatterns: () => registry.ignorePatterns(),
    onRescan: (_root, reason) => scans.push(reason),
  });
  const adapter = new FoldersAdapter({
    service,
    runs: new RunTracker(),
    keys: { recipients: () => Promise.resolve([]), identities: () => Promise.resolve([]) },
    policy: { isMandatoryFolder: () => false },
    ignorePatterns: () => registry.ignorePatterns(),
    statusCache: cache,
  });
  const [walked] = service.status(data);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  try {
    // The machine's own noise first (a shared 2-core machine, other processes and workers competing).
    delay.enable();
    await new Promise((resolve) => setTimeout(resolve, 500));
    delay.disable();
    const idleMaxMs = delay.max / 1e6;
    delay.reset();
    delay.enable();
    let t = performance.now();
    const [first] = await adapter.list();
    const scanMs = performance.now() - t;
    delay.disable();
    const scanMaxMs = delay.max / 1e6;
    delay.reset();
    delay.enable();
    t = performance.now();
    const [again] = await adapter.list();
    const queryMs = performance.now() - t;
    delay.disable();
    const queryMaxMs = delay.max / 1e6;
    console.log(
      `app status of ${FILES} files: first (full scan in the worker) ${scanMs.toFixed(0)} ms, longest main-thread delay ${scanMaxMs.toFixed(1)} ms; from the cache ${queryMs.toFixed(0)} ms, longest delay ${queryMaxMs.toFixed(1)} ms; idle ${idleMaxMs.toFixed(1)} ms`,
    );
    for (const view of [first, again]) {
      expect(view?.protectedFiles).toBe(walked?.protectedFiles);
      expect(view?.plaintextFiles).toBe(walked?.plaintextFiles);
      expect(view?.inTheClearFiles).toBe(walked?.protection.inTheClearFiles);
    }
    expect(scans).toEqual(['first status']);
    // Nothing walks on this thread: a walk here would hold it for the whole scan. What is left of a delay
    // is the machine's (with the scan's worker competing for the same 2 cores, the OS alone kept this
    // thread off for 114 ms at load 19), so the bounds are loose; `npm run bench` measures it against the
    // 50 ms target at 100,000 files.
    expect(scanMaxMs).toBeLessThan(Math.max(100, 2 * idleMaxMs, scanMs / 4));
    expect(queryMaxMs).toBeLessThan(Math.max(100, 2 * idleMaxMs));
    expect(queryMs).toBeLessThan(1000);
  } finally {
    await cache.close();
  }
});
