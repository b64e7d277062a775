/**
 * Folder runs through the CLI as installed (issue 10 targets): `coffer protect DIR` then `coffer unprotect
 * DIR` of (a) the scale tree, N files of 512 B (default 100,000) in folders of 1,000, and (b) 5,000 files
 * of 1–64 KiB (target: unprotect ≤ 2.5 s). Each row is one CLI process under /usr/bin/time: its wall time
 * (start-up and keychain included), the run's own time (report.durationMs) and its peak RSS (workers
 * included; target ≤ 150 MB at 1,000,000 files), with the load average when it started: the machine is
 * shared, and a number means little without it.
 * The CLI needs a keychain: outside scripts/with-keyring.sh this runs itself again under it (as cli-one.ts).
 *
 *   tsx bench/folders.ts --scale 100000 [--scale-size 512] [--files 5000] [--runs 1] [--skip-small]
 *                        [--tree-root /mnt/tmpfs]
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { installCli } from './cli-one.js';
import { median } from './measure.js';

const repo = join(import.meta.dirname, '..');

export interface CliFolderBenchOptions {
  /** Files of the scale tree (0: none). */
  readonly scale: number;
  readonly scaleBytes?: number;
  /** Files of the 1–64 KiB tree (0: none). */
  readonly files: number;
  readonly runs?: number;
  /**
   * Where the trees are made (default bench/out/folders-cli). A tmpfs mount (not under /dev: the guard
   * rails refuse it) takes the disk, and every other program's writes that a syncfs waits for, out of
   * the memory rows; the 1,000,000-file tree needs ~5 GB of it.
   */
  readonly treeRoot?: string;
}

export interface CliFolderRow {
  readonly case: string;
  readonly op: string;
  readonly wallSeconds: number;
  readonly runSeconds: number;
  readonly peakRssMiB: number;
  readonly load: string;
  readonly ok: boolean;
}

/** `count` files in folders of 1,000, sizes from `sizeOf(i)`. */
function makeTree(dir: string, count: number, sizeOf: (i: number) => number): void {
  const buffer = Buffer.alloc(64 * 1024);
  randomFillSync(buffer);
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) mkdirSync(sub, { recursive: true });
    const size = sizeOf(i);
    buffer.writeUInt32LE(i, 0); // no two files alike
    writeFileSync(join(sub, `doc-${i}.bin`), buffer.subarray(0, size));
  }
}

interface CliRun {
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  readonly doc: { ok: boolean; report?: { durationMs: number; filesDone: number } };
}

function cli(bin: string, args: readonly string[], env: NodeJS.ProcessEnv): CliRun {
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, bin, '--json', ...args], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const rssKB = Number(result.stderr.trim().split('\n').at(-1));
  let doc: CliRun['doc'];
  try {
    doc = JSON.parse(result.stdout) as CliRun['doc'];
  } catch {
    throw new Error(`coffer ${args.join(' ')}: not JSON (exit ${result.status}): ${result.stderr}`);
  }
  return { wallSeconds, peakRssMiB: rssKB / 1024, doc };
}

export function runCliFolderBench(options: CliFolderBenchOptions): CliFolderRow[] {
  const runs = Math.max(1, options.runs ?? 1);
  const root = join(repo, 'bench', 'out', 'folders-cli');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const bin = installCli(join(root, 'installed'));
  const env = {
    ...process.env,
    COFFER_HOME: join(root, 'home'),
    COFFER_KEYCHAIN_SERVICE: `CofferBenchFolders-${process.pid}`,
  };
  // The device key is made once, as on a laptop in use: not part of any timed run.
  cli(bin, ['init'], env);
  const rows: CliFolderRow[] = [];
  const measure = (name: string, count: number, sizeOf: (i: number) => number): void => {
    const samples = new Map<
      string,
      { wall: number[]; run: number[]; rss: number; load: string; ok: boolean }
    >();
    for (let r = 0; r < runs; r++) {
      const dir = join(options.treeRoot ?? root, `tree-${r}`);
      makeTree(dir, count, sizeOf);
      spawnSync('sync'); // untimed: no run pays for the write-back of the tree's creation
      for (const op of ['protect', 'unprotect']) {
        const load = loadavg()
          .map((l) => l.toFixed(1))
          .join(' ');
        const run = cli(bin, [op, dir], env);
        const s = samples.get(op) ?? { wall: [], run: [], rss: 0, load, ok: true };
        s.wall.push(run.wallSeconds);
        s.run.push((run.doc.report?.durationMs ?? NaN) / 1000);
        s.rss = Math.max(s.rss, run.peakRssMiB);
        s.ok &&= run.doc.ok && run.doc.report?.filesDone === count;
        samples.set(op, s);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    for (const [op, s] of samples)
      rows.push({
        case: name,
        op: `coffer ${op}`,
        wallSeconds: median(s.wall),
        runSeconds: median(s.run),
        peakRssMiB: Math.round(s.rss),
        load: s.load,
        ok: s.ok,
      });
  };
  if (options.scale > 0) {
    const bytes = options.scaleBytes ?? 512;
    measure(`${options.scale} files of ${bytes} B`, options.scale, () => bytes);
  }
  if (options.files > 0)
    measure(
      `${options.files} files of 1–64 KiB`,
      options.files,
      (i) => 1024 + ((i * 40503) % (63 * 1024 + 1)), // as folders.ts: spread evenly, same each run
    );
  rmSync(root, { recursive: true, force: true });
  console.log(
    `\nFolder runs through the CLI as installed (${runs} run(s); median; load = 1/5/15-min average)`,
  );
  console.table(
    rows.map((r) => ({
      case: r.case,
      command: r.op,
      'wall s': r.wallSeconds.toFixed(2),
      'run s': r.runSeconds.toFixed(2),
      'peak RSS MiB': r.peakRssMiB,
      'load at start': r.load,
      'all files': r.ok ? 'yes' : 'NO',
    })),
  );
  return rows;
}

/** Under a private keychain (scripts/with-keyring.sh) when not in one already; false when it ran there. */
export function inKeyringOrRerun(): boolean {
  if (process.env.COFFER_KEYRING_READY === '1') return true;
  const result = spawnSync(
    join(repo, 'scripts', 'with-keyring.sh'),
    [process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit' },
  );
  process.exitCode = result.status ?? 1;
  return false;
}
