/**
 * FolderView.notRecoverableFiles (issue 10 target: never block the main thread > 50 ms): the count opens
 * every .coffer header, and on the main thread it held the window 4.2 s per list at 20,001 files. Real
 * files sealed with libsodium, the real folder service and the real coverage worker (CoverageCounter, as
 * composition.ts wires it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateDeviceKey, type Identity, type Recipient } from '../../../crypto/keys.js';
import { loadBackend } from '../../../crypto/sodium.js';
import { FolderService, lockDirIn } from '../../services/folders/folder-service.js';
import { WorkerPool } from '../../services/folders/pool.js';
import { FolderRegistry } from '../../services/folders/registry.js';
import { SafeFiles } from '../../services/safe-file.js';
import { StatusCache } from '../../services/folders/status-cache.js';
import { CoverageCounter } from '../../services/keys/coverage-counter.js';
import { currentRecoveryKeyIds } from '../../services/keys/rotation.js';
import { RunTracker } from '../runs.js';
import { FoldersAdapter } from './folders.js';

const sodium = await loadBackend('wasm');
const device = generateDeviceKey(sodium);
const current = sodium.boxKeypair(); // the organization's recovery key now
const retired = sodium.boxKeypair(); // one it had before
const safeFiles = new SafeFiles(sodium);
const recoveryKeyIds = (): string[] => currentRecoveryKeyIds(sodium, [current.publicKey], []);

let pool: WorkerPool;
let root: string;
let data: string;
let counter: CoverageCounter;
let counted: { files: number; headersRead: number }[];
let adapter: FoldersAdapter;
let statusCache: StatusCache;

/** A real .coffer file sealed for the device and `recovery` (one small file; copies of it share the header). */
function sealed(name: string, recovery: Uint8Array[]): Buffer {
  const file = path.join(root, name);
  fs.writeFileSync(file, `content of ${name}\n`);
  const recipients: Recipient[] = [
    { kind: 'device', key: device },
    ...recovery.map((publicKey): Recipient => ({ kind: 'recovery', publicKey })),
  ];
  const target = safeFiles.encryptInPlace(file, {
    recipients,
    identities: [{ kind: 'device', key: device }],
  }).target;
  const bytes = fs.readFileSync(target);
  fs.rmSync(target);
  return bytes;
}

/** `count` protected files in subfolders of 500 (headers are what the count reads). */
function fill(count: number, bytes: Buffer, prefix: string): void {
  for (let i = 0; i < count; i++) {
    const dir = path.join(data, `${prefix}${Math.floor(i / 500)}`);
    if (i % 500 === 0) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.txt.coffer`), bytes);
  }
}

/**
 * CPU time of this process's main thread so far, in ms (Linux: /proc/self/task/<pid>/stat, utime + stime
 * in clock ticks of 10 ms), or null elsewhere.
 */
function mainThreadCpuMs(): number | null {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/**
 * How long the main thread went without running a 10 ms timer while `work` ran, at most: `wallMs` by the
 * clock, and `cpuMs`, the most CPU time the main thread itself spent in one such stretch (under a load of 15
 * on 2 cores the OS alone can hold a thread 50+ ms; a block by our code is CPU spent on this thread).
 * Without /proc, cpuMs is the wall time.
 */
async function longestBlock<T>(
  work: () => Promise<T>,
): Promise<{ result: T; wallMs: number; cpuMs: number }> {
  let last = performance.now();
  let lastCpu = mainThreadCpuMs();
  let wallMs = 0;
  let cpuMs = 0;
  const tick = (): void => {
    const now = performance.now();
    const cpu = mainThreadCpuMs();
    const gap = now - last - 10;
    // The clock ticks are 10 ms: a stretch's CPU is known to within 10 ms, so it is never counted above it.
    const used = cpu === null || lastCpu === null ? gap : Math.min(Math.max(0, cpu - lastCpu - 10), gap);
    wallMs = Math.max(wallMs, gap);
    cpuMs = Math.max(cpuMs, used);
    last = now;
    lastCpu = cpu;
  };
  const probe = setInterval(tick, 10);
  try {
    const result = await work();
    tick();
    return { result, wallMs, cpuMs };
  } finally {
    clearInterval(probe);
  }
}

beforeAll(() => {
  pool = new WorkerPool({ backend: 'wasm', size: 1 });
});
afterAll(async () => {
  await pool.close();
});
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-not-recoverable-'));
  data = path.join(root, 'data');
  fs.mkdirSync(data);
  counted = [];
  counter = new CoverageCounter({ onCounted: (c) => counted.push(c) });
  const keys = {
    recipients: (): Promise<Recipient[]> =>
      Promise.resolve([
        { kind: 'device', key: device },
        { kind: 'recovery', publicKey: current.publicKey },
      ]),
    identities: (): Promise<Identity[]> => Promise.resolve([{ kind: 'device', key: device }]),
  };
  const registry = FolderRegistry.inHome(path.join(root, 'home'));
  const policy = { isMandatoryFolder: () => false };
  // As the app composes it: status from the cache's worker, the count from the coverage worker.
  statusCache = new StatusCache({
    appHome: path.join(root, 'home'),
    policyExclusions: () => [],
    ignorePatterns: () => registry.ignorePatterns(),
  });
  adapter = new FoldersAdapter({
    service: new FolderService({
      registry,
      keys,
      pool: () => pool,
      lockDir: lockDirIn(path.join(root, 'home')),
    }),
    runs: new RunTracker(),
    keys,
    policy,
    ignorePatterns: () => registry.ignorePatterns(),
    notRecoverable: (folder) => counter.notRecoverable(folder, recoveryKeyIds()),
    statusCache,
  });
});
afterEach(async () => {
  await counter.close();
  await statusCache.close();
  fs.rmSync(root, { recursive: true, force: true });
}, 180_000);

describe('FoldersAdapter notRecoverableFiles', () => {
  it('counts 10,000 headers without holding the main thread 50 ms, and a reload opens none', async () => {
    fill(7_500, sealed('ok', [current.publicKey]), 'ok');
    fill(2_500, sealed('old', [retired.publicKey]), 'old');
    const view = await adapter.add(data);
    // A counter that remembers nothing yet: the first list reads all 10,000 headers. Its worker is up, as
    // the app's is long before anyone opens the Overview (it starts with the app).
    await counter.close();
    counter = new CoverageCounter({ onCounted: (c) => counted.push(c) });
    await counter.notRecoverable(path.join(root, 'home'), []);
    await adapter.list({ notRecoverable: false }); // the status cache has scanned the folder

    let took = performance.now();
    const first = await longestBlock(() => adapter.list());
    const firstMs = performance.now() - took;
    console.log(`first list: ${first.cpuMs.toFixed(0)} ms CPU (${first.wallMs.toFixed(0)} ms wall)`);
    expect(first.result[0]).toMatchObject({
      id: view.id,
      protectedFiles: 10_000,
      notRecoverableFiles: 2_500,
    });
    expect(first.cpuMs).toBeLessThan(50);

    took = performance.now();
    const again = await longestBlock(() => adapter.list());
    const againMs = performance.now() - took;
    expect(again.result[0]?.notRecoverableFiles).toBe(2_500);
    expect(again.cpuMs).toBeLessThan(50);
    // Nothing changed: every header's key IDs were remembered.
    expect(counted.at(-1)).toMatchObject({ files: 10_000, headersRead: 0 });
    console.log(
      `list() of 10,000 protected files, main thread's longest stretch: first count ` +
        `${first.cpuMs.toFixed(0)} ms CPU (${first.wallMs.toFixed(0)} ms wall), ` +
        `reload ${again.cpuMs.toFixed(0)} ms CPU (${again.wallMs.toFixed(0)} ms wall); ` +
        `list took ${firstMs.toFixed(0)} ms, then ${againMs.toFixed(0)} ms`,
    );
  }, 180_000);

  it('counts files sealed without a current organization key, and sees a file replaced in place', async () => {
    const ok = sealed('ok', [current.publicKey]);
    const old = sealed('old', [retired.publicKey]);
    const none = sealed('none', []);
    fill(4, ok, 'ok');
    fill(2, old, 'old');
    fs.writeFileSync(path.join(data, 'device-only.txt.coffer'), none);
    fs.writeFileSync(
      path.join(data, 'both.txt.coffer'),
      sealed('both', [retired.publicKey, current.publicKey]),
    );
    // A .coffer name without a readable header: counted as not recoverable (coverage's and the CLI's rule).
    fs.writeFileSync(path.join(data, 'damaged.txt.coffer'), Buffer.from('not a header'));
    const view = await adapter.add(data);
    // 2 sealed to the retired key, 1 to no organization key, the damaged one.
    expect(view.notRecoverableFiles).toBe(4);
    const counts = async () => (await adapter.list())[0]?.notRecoverableFiles;
    const before = await counts();
    expect(before).toBe(4);

    // A recoverable file replaced by one IT cannot open (same size, same name): the remembered header is not
    // trusted, the count goes up.
    fs.writeFileSync(path.join(data, 'ok0', 'f0.txt.coffer'), old);
    expect(await counts()).toBe((before ?? 0) + 1);
    expect(counted.at(-1)?.headersRead).toBe(1);

    // The tray asks for no count and gets none (absent, not 0).
    expect((await adapter.list({ notRecoverable: false }))[0]).not.toHaveProperty('notRecoverableFiles');
  });

  it('leaves the count out (never 0) when the count fails', async () => {
    fs.writeFileSync(path.join(data, 'old.txt.coffer'), sealed('old', [retired.publicKey]));
    await adapter.add(data);
    await counter.close();
    const failing = new FoldersAdapter({
      service: new FolderService({
        registry: FolderRegistry.inHome(path.join(root, 'home')),
        keys: { recipients: () => Promise.resolve([]), identities: () => Promise.resolve([]) },
        pool: () => pool,
        lockDir: lockDirIn(path.join(root, 'home')),
      }),
      runs: new RunTracker(),
      keys: { recipients: () => Promise.resolve([]), identities: () => Promise.resolve([]) },
      policy: { isMandatoryFolder: () => false },
      ignorePatterns: () => [],
      notRecoverable: () => Promise.reject(new Error('worker gone')),
    });
    const [shown] = await failing.list();
    expect(shown?.protectedFiles).toBe(1);
    expect(shown).not.toHaveProperty('notRecoverableFiles');
  });
});
