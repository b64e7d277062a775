/**
 * Protected-folders benchmark (issue #4): protect in place a folder of 5,000 files of 1–64 KiB and one
 * 1 GiB file, against `cp -r` / `cp` (the floor) and an `age` loop (the reference), with the peak RSS of
 * the process (workers included) and the p99 event-loop lag of the calling thread during each run.
 * Called by bench/run.ts; also runs alone: `tsx bench/folders.ts [--files N] [--big-mib N] [--runs N]`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { generateDeviceKey } from '../crypto/keys.js';
import { defaultBackend } from '../crypto/sodium.js';
import { FolderService, lockDirIn } from '../electron/services/folders/folder-service.js';
import { WorkerPool } from '../electron/services/folders/pool.js';
import { FolderRegistry } from '../electron/services/folders/registry.js';

export interface FolderBenchOptions {
  readonly runs?: number;
  readonly files?: number;
  readonly bigBytes?: number;
  readonly root?: string;
}

export interface FolderBenchRow {
  readonly case: string;
  readonly tool: string;
  readonly seconds: number;
  readonly peakRssMiB: number | null;
  readonly lagP99Ms: number | null;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function makeSmallFiles(dir: string, count: number): void {
  mkdirSync(dir, { recursive: true });
  const buffer = Buffer.alloc(64 * 1024);
  for (let i = 0; i < count; i++) {
    const size = 1024 + ((i * 40503) % (63 * 1024 + 1)); // spread evenly over 1–64 KiB, same each run
    randomFillSync(buffer, 0, size);
    writeFileSync(join(dir, `doc-${i}.bin`), buffer.subarray(0, size));
  }
}

function makeBigFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const buffer = Buffer.alloc(8 * 1024 * 1024);
  randomFillSync(buffer);
  for (let done = 0; done < bytes; done += buffer.length)
    writeSync(fd, buffer, 0, Math.min(buffer.length, bytes - done));
  closeSync(fd);
}

function seconds(run: () => void): number {
  const t = performance.now();
  run();
  return (performance.now() - t) / 1000;
}

export async function runFolderBench(options: FolderBenchOptions = {}): Promise<FolderBenchRow[]> {
  const runs = Math.max(1, options.runs ?? 1);
  const count = options.files ?? 5000;
  const bigBytes = options.bigBytes ?? 1024 ** 3;
  const root = options.root ?? join(import.meta.dirname, 'out', 'folders');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const sodium = await defaultBackend();
  const key = generateDeviceKey(sodium);
  const keys = {
    recipients: () => Promise.resolve([{ kind: 'device' as const, key }]),
    identities: () => Promise.resolve([{ kind: 'device' as const, key }]),
  };
  const pool = new WorkerPool({ backend: sodium.name });
  await pool.run({ op: 'protect', files: [], recipients: [], identities: [] }); // start-up is not the run
  const service = new FolderService({
    registry: FolderRegistry.inHome(join(root, 'home')),
    keys,
    pool: () => pool,
    lockDir: lockDirIn(join(root, 'home')),
  });
  const hasAge = spawnSync('age', ['--version']).status === 0;
  let recipient: string | null = null;
  if (hasAge) {
    const identity = join(root, 'age-identity.txt');
    execFileSync('age-keygen', ['-o', identity], { stdio: 'ignore' });
    recipient = execFileSync('age-keygen', ['-y', identity], { encoding: 'utf8' }).trim();
  }

  const rows: FolderBenchRow[] = [];
  const protectRun = async (name: string, setup: (dir: string) => void): Promise<void> => {
    const times: number[] = [];
    let lag = 0;
    for (let r = 0; r < runs; r++) {
      const dir = join(root, `${name}-coffer-${r}`);
      setup(dir);
      const monitor = monitorEventLoopDelay({ resolution: 10 });
      monitor.enable();
      const t = performance.now();
      const report = await service.protect(dir);
      times.push((performance.now() - t) / 1000);
      monitor.disable();
      lag = Math.max(lag, monitor.percentile(99) / 1e6);
      if (report.failed.length > 0) throw new Error(`bench: ${report.failed.length} files failed`);
      rmSync(dir, { recursive: true, force: true });
    }
    rows.push({
      case: name,
      tool: `coffer protect (${sodium.name}, ${pool.size} workers)`,
      seconds: median(times),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      lagP99Ms: Math.round(lag * 10) / 10,
    });
  };
  const external = (
    name: string,
    tool: string,
    setup: (dir: string) => void,
    run: (dir: string) => void,
  ): void => {
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const dir = join(root, `${name}-${tool.split(' ')[0] ?? 'x'}-${r}`);
      setup(dir);
      times.push(
        seconds(() => {
          run(dir);
        }),
      );
      rmSync(dir, { recursive: true, force: true });
      rmSync(dir + '.copy', { recursive: true, force: true });
    }
    rows.push({ case: name, tool, seconds: median(times), peakRssMiB: null, lagP99Ms: null });
  };

  const small = `${count} files of 1–64 KiB`;
  const makeSmall = (dir: string): void => {
    makeSmallFiles(dir, count);
  };
  external(small, 'cp -r', makeSmall, (dir) => execFileSync('cp', ['-r', dir, dir + '.copy']));
  await protectRun(small, makeSmall);
  if (recipient) {
    external(small, 'age loop', makeSmall, (dir) => {
      for (const name of readdirSync(dir))
        execFileSync('age', ['-e', '-r', recipient, '-o', join(dir, name + '.age'), join(dir, name)]);
    });
  }
  const big = `1 file of ${Math.round(bigBytes / 1024 ** 2)} MiB`;
  const makeBig = (dir: string): void => {
    mkdirSync(dir, { recursive: true });
    makeBigFile(join(dir, 'big.bin'), bigBytes);
  };
  external(big, 'cp', makeBig, (dir) => execFileSync('cp', [join(dir, 'big.bin'), join(dir, 'big.copy')]));
  await protectRun(big, makeBig);
  if (recipient) {
    external(big, 'age', makeBig, (dir) =>
      execFileSync('age', ['-e', '-r', recipient, '-o', join(dir, 'big.age'), join(dir, 'big.bin')]),
    );
  }
  await pool.close();
  rmSync(root, { recursive: true, force: true });

  console.log(
    '\nProtected folders (in place: encrypt, fsync, read back and authenticate, rename, remove plaintext)',
  );
  console.table(
    rows.map((r) => ({
      case: r.case,
      tool: r.tool,
      seconds: r.seconds.toFixed(2),
      'peak RSS MiB': r.peakRssMiB ?? '',
      'loop lag p99 ms': r.lagP99Ms ?? '',
    })),
  );
  if (!recipient) console.log('age not installed: the age rows are missing.');
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: '5000' },
      'big-mib': { type: 'string', default: '1024' },
      runs: { type: 'string', default: '1' },
    },
  });
  await runFolderBench({
    files: Number(values.files),
    bigBytes: Number(values['big-mib']) * 1024 ** 2,
    runs: Number(values.runs),
  });
}
