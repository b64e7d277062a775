/**
 * Protected-folders benchmark (issue #4): protect in place a folder of 5,000 files of 1–64 KiB and one
 * 1 GiB file, against `cp -r` / `cp` (the floor) and an `age` loop (the reference), with the peak RSS of
 * the process (workers included) and the p99 event-loop lag of the calling thread during each run.
 * Called by bench/run.ts; also runs alone: `tsx bench/folders.ts [--files N] [--big-mib N] [--runs N]`.
 * With `--scale N` (and `--cli-only`) it adds the rows of the CLI as installed (folders-cli.ts): N files of
 * 512 B, and --files files of 1–64 KiB, protect then unprotect, with peak RSS and load average.
 */
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultBackend } from '../crypto/sodium.js';
import { inKeyringOrRerun, runCliFolderBench } from './folders-cli.js';
import { ageIdentity, measured, median, writeBenchKeys } from './measure.js';

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

/** Compiles the measured program once, as plain JavaScript like the app's (tsx would add its own memory). */
function compileProtectOne(): string {
  execFileSync(
    process.execPath,
    [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repo, 'tsconfig.bench.json')],
    {
      stdio: 'inherit',
    },
  );
  return join(repo, 'bench', 'out', 'dist', 'bench', 'protect-one.js');
}

const repo = join(import.meta.dirname, '..');

export async function runFolderBench(options: FolderBenchOptions = {}): Promise<FolderBenchRow[]> {
  const runs = Math.max(1, options.runs ?? 1);
  const count = options.files ?? 5000;
  const bigBytes = options.bigBytes ?? 1024 ** 3;
  const root = options.root ?? join(import.meta.dirname, 'out', 'folders');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const sodium = await defaultBackend();
  const keyFile = join(root, 'keys.json');
  writeBenchKeys(sodium, keyFile);
  const protectOne = compileProtectOne();
  const age = ageIdentity(root);

  const rows: FolderBenchRow[] = [];
  const protectRun = (name: string, setup: (dir: string) => void, alsoUnprotect = false): void => {
    const times: number[] = [];
    const backTimes: number[] = [];
    let lag = 0;
    let backLag = 0;
    let rss = 0;
    let tool = '';
    for (let r = 0; r < runs; r++) {
      const dir = join(root, `${name}-coffer-${r}`);
      const home = join(root, `home-${r}`);
      setup(dir);
      const run = measured(process.execPath, [
        protectOne,
        dir,
        home,
        keyFile,
        ...(alsoUnprotect ? ['--unprotect'] : []),
      ]);
      const out = JSON.parse(run.lastLine) as {
        seconds: number;
        lagP99Ms: number;
        workers: number;
        backend: string;
        unprotect?: { seconds: number; lagP99Ms: number };
      };
      times.push(out.seconds);
      lag = Math.max(lag, out.lagP99Ms);
      if (out.unprotect) {
        backTimes.push(out.unprotect.seconds);
        backLag = Math.max(backLag, out.unprotect.lagP99Ms);
      }
      rss = Math.max(rss, run.rssMB);
      tool = `coffer protect (${out.backend}, ${out.workers} workers)`;
      rmSync(dir, { recursive: true, force: true });
      rmSync(home, { recursive: true, force: true });
    }
    rows.push({
      case: name,
      tool,
      seconds: median(times),
      peakRssMiB: Math.round(rss),
      lagP99Ms: Math.round(lag * 10) / 10,
    });
    if (backTimes.length > 0) {
      // Same child, same files, right after the protect (peak RSS is the child's, both runs).
      rows.push({
        case: name,
        tool: tool.replace('coffer protect', 'coffer unprotect'),
        seconds: median(backTimes),
        peakRssMiB: Math.round(rss),
        lagP99Ms: Math.round(backLag * 10) / 10,
      });
    }
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
  protectRun(small, makeSmall, true);
  if (age) {
    external(small, 'age loop', makeSmall, (dir) => {
      for (const name of readdirSync(dir))
        execFileSync('age', ['-e', '-r', age.recipient, '-o', join(dir, name + '.age'), join(dir, name)]);
    });
  }
  const big = `1 file of ${Math.round(bigBytes / 1024 ** 2)} MiB`;
  const makeBig = (dir: string): void => {
    mkdirSync(dir, { recursive: true });
    makeBigFile(join(dir, 'big.bin'), bigBytes);
  };
  external(big, 'cp', makeBig, (dir) => execFileSync('cp', [join(dir, 'big.bin'), join(dir, 'big.copy')]));
  protectRun(big, makeBig);
  if (age) {
    external(big, 'age', makeBig, (dir) =>
      execFileSync('age', ['-e', '-r', age.recipient, '-o', join(dir, 'big.age'), join(dir, 'big.bin')]),
    );
  }
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
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: '5000' },
      'big-mib': { type: 'string', default: '1024' },
      runs: { type: 'string', default: '1' },
      /** The CLI rows: the scale tree of N files of --scale-size bytes, and --files files of 1–64 KiB. */
      scale: { type: 'string' },
      'scale-size': { type: 'string', default: '512' },
      'skip-small': { type: 'boolean', default: false },
      /** Where the CLI rows make their trees (a tmpfs mount, say). */
      'tree-root': { type: 'string' },
      /** Only the CLI rows (no engine rows, no 1 GiB file). */
      'cli-only': { type: 'boolean', default: false },
    },
  });
  const cliRows = values.scale !== undefined || values['cli-only'];
  // The CLI rows need a keychain: under one, or this runs itself again inside one.
  if (!cliRows || inKeyringOrRerun()) {
    if (!values['cli-only'])
      await runFolderBench({
        files: Number(values.files),
        bigBytes: Number(values['big-mib']) * 1024 ** 2,
        runs: Number(values.runs),
      });
    if (cliRows)
      runCliFolderBench({
        scale: Number(values.scale ?? 0),
        scaleBytes: Number(values['scale-size']),
        files: values['skip-small'] ? 0 : Number(values.files),
        runs: Number(values.runs),
        ...(values['tree-root'] ? { treeRoot: values['tree-root'] } : {}),
      });
  }
}
