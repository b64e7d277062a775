import {
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
  appendFileSync,
  existsSync,
  unlinkSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { watch } from 'chokidar';
import { defaultProbe } from '../safe-file.js';
import { FolderWatcher, type ProtectSink } from './watcher.js';
import type { FileOutcome } from './types.js';

let dir: string;
let watcher: FolderWatcher | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'coffer-watch-'));
});
afterEach(async () => {
  await watcher?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Records batches; the real protect path is covered by the service tests. */
function recorder(): ProtectSink & { batches: string[][] } {
  const batches: string[][] = [];
  return {
    batches,
    protectFiles: (paths) => {
      batches.push([...paths].sort());
      return Promise.resolve(
        paths.map((path): FileOutcome => ({ path, kind: 'done', bytes: 0, target: path + '.coffer' })),
      );
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(20);
  }
}

it('protects a new file only once it stopped growing, ignoring our outputs and litter', async () => {
  const sink = recorder();
  watcher = new FolderWatcher([dir], sink, { stableMs: 300, debounceMs: 100 });
  await watcher.ready();
  const growing = join(dir, 'growing.log');
  writeFileSync(growing, 'a');
  writeFileSync(join(dir, 'other.txt'), 'b');
  writeFileSync(join(dir, 'done.txt.coffer'), 'ours');
  writeFileSync(join(dir, 'x.coffer.tmp-0123456789ab'), 'ours');
  writeFileSync(join(dir, '.DS_Store'), 'litter');
  for (let i = 0; i < 6; i++) {
    await sleep(100); // an app still writing: shorter gaps than stableMs
    appendFileSync(growing, 'more');
    expect(sink.batches.flat()).not.toContain(growing);
  }
  await until(() => sink.batches.flat().length >= 2);
  expect(sink.batches.flat().sort()).toEqual([growing, join(dir, 'other.txt')]);
});

it('waits while an editor holds a document open and protects it once the lock file goes', async () => {
  const sink = recorder();
  watcher = new FolderWatcher([dir], sink, { stableMs: 150, debounceMs: 50 });
  await watcher.ready();
  writeFileSync(join(dir, '~$Report.docx'), 'owner');
  writeFileSync(join(dir, 'Report.docx'), 'draft');
  await sleep(600);
  expect(sink.batches).toEqual([]);
  unlinkSync(join(dir, '~$Report.docx'));
  await until(() => sink.batches.length > 0);
  expect(sink.batches.flat()).toEqual([join(dir, 'Report.docx')]);
  expect(existsSync(join(dir, 'Report.docx'))).toBe(true);
  expect(readdirSync(dir)).toEqual(['Report.docx']);
});

it.runIf(process.platform === 'linux')(
  'asks which files other processes hold open off this thread (the /proc scan), and still waits for them',
  async () => {
    /** One batch of 30 new files, one of them held open by another process; this thread's longest delay. */
    const batch = async (name: string, options: { probe?: ReturnType<typeof defaultProbe> }) => {
      const sub = join(dir, name);
      mkdirSync(sub);
      const held = join(sub, 'held.bin');
      writeFileSync(held, 'being written');
      // A real process with the file open (as a download or a database would have it).
      const holder = spawn('bash', ['-c', 'exec 3<"$1"; echo open; sleep 30', 'bash', held], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      await new Promise((resolve) => holder.stdout.once('data', resolve));
      const sink = recorder();
      watcher = new FolderWatcher([sub], sink, { stableMs: 150, debounceMs: 50, initial: true, ...options });
      const monitor = monitorEventLoopDelay({ resolution: 1 });
      try {
        await watcher.ready();
        monitor.enable();
        for (let i = 0; i < 30; i++) writeFileSync(join(sub, `f${i}.txt`), 'x');
        await until(() => sink.batches.flat().length >= 30, 15_000);
        await sleep(300);
        monitor.disable();
        return { maxMs: monitor.max / 1e6, protected: sink.batches.flat() };
      } finally {
        holder.kill('SIGKILL');
        await watcher.close();
        watcher = null;
      }
    };
    // The scan on this thread (as before), then in the worker (the default now).
    const before = await batch('in-thread', { probe: defaultProbe() });
    const now = await batch('worker', {});
    console.log(
      `longest main-thread delay during a watcher batch: /proc scan here ${before.maxMs.toFixed(1)} ms, in the worker ${now.maxMs.toFixed(1)} ms`,
    );
    for (const run of [before, now]) {
      expect(run.protected).toHaveLength(30);
      expect(run.protected.some((p) => p.endsWith('held.bin'))).toBe(false);
    }
    expect(now.maxMs).toBeLessThan(before.maxMs);
  },
  40_000,
);

it('starts watching a large folder without holding this thread (chokidar lists every file in a worker)', async () => {
  for (let d = 0; d < 8; d++) {
    mkdirSync(join(dir, `d${d}`));
    for (let i = 0; i < 500; i++) writeFileSync(join(dir, `d${d}`, `f${i}.txt.coffer`), 'x');
  }
  const longestWhile = async (work: () => Promise<void>): Promise<number> => {
    const monitor = monitorEventLoopDelay({ resolution: 1 });
    monitor.enable();
    await work();
    monitor.disable();
    return monitor.max / 1e6;
  };
  // chokidar on this thread, as the watcher ran it before.
  const here = await longestWhile(async () => {
    const w = watch(dir, { followSymlinks: false, ignoreInitial: true });
    await new Promise<void>((resolve) =>
      w.once('ready', () => {
        resolve();
      }),
    );
    await w.close();
  });
  const sink = recorder();
  const inWorker = await longestWhile(async () => {
    watcher = new FolderWatcher([dir], sink, { stableMs: 100, debounceMs: 50 });
    await watcher.ready();
  });
  console.log(
    `longest main-thread delay while starting to watch 4,000 files: chokidar here ${here.toFixed(1)} ms, in the worker ${inWorker.toFixed(1)} ms`,
  );
  // Still watching: a new file is protected.
  writeFileSync(join(dir, 'd3', 'new.txt'), 'new');
  await until(() => sink.batches.length > 0, 10_000);
  expect(sink.batches).toEqual([[join(dir, 'd3', 'new.txt')]]);
  expect(inWorker).toBeLessThan(here);
}, 60_000);
