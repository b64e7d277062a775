/**
 * One large file through the CLI as installed, against `age` made durable the same way (issue 10 targets:
 * `coffer encrypt -o` ≤ 1.2×, protect in place ≤ 1.3× of `age -r … -o out in && sync -f out`).
 *
 * "As installed": the sources compiled by the build's own TypeScript config (tsconfig.build.json, what
 * `npm run build` puts in dist/) into bench/out/installed/dist, with a copy of bin/coffer.js beside it; an
 * installed app ships bin/ and dist/ only, so that bin/coffer.js runs the compiled dist/cli/main.js, not the
 * sources through tsx. The time of each row is the whole process, start-up and keychain reads included.
 *
 * Every run starts from a clean page cache state (`sync`, untimed), so that no run pays for the write-back
 * of the one before; the order of the contenders rotates each round; medians are printed.
 * The CLI needs a keychain: outside scripts/with-keyring.sh this program runs itself again under it.
 *
 *   tsx bench/cli-one.ts [--size 1G] [--runs 5] [--against <git revision>]     (also called by bench/run.ts)
 * --against adds the CLI of that revision, installed the same way, to the same interleaved runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ageIdentity, median } from './measure.js';

const repo = join(import.meta.dirname, '..');

export interface CliBenchOptions {
  readonly bytes: number;
  readonly runs: number;
  /** A git revision whose CLI is measured too, interleaved with this one's (before/after). */
  readonly against?: string;
}

export interface CliBenchRow {
  readonly operation: string;
  readonly seconds: number;
  readonly samples: readonly number[];
  /** Median CPU seconds (user + system). */
  readonly cpu: number;
  /** Against `age … && sync -f out`. */
  readonly ratio: number | null;
}

/**
 * Compiles the CLI as the build does and lays it out as an installed app has it (bin/ + dist/), from this
 * checkout or (`source`) from another tree of the same repository, such as an older revision.
 */
export function installCli(into: string, source = repo): string {
  rmSync(into, { recursive: true, force: true });
  const tsc = spawnSync(
    process.execPath,
    [
      join(repo, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(source, 'tsconfig.build.json'),
      '--outDir',
      join(into, 'dist'),
    ],
    { encoding: 'utf8' },
  );
  // tsc emits despite type errors (another change in progress elsewhere in the tree): say so, go on.
  if (tsc.status !== 0)
    console.log(`NOTE: tsc reported errors; the emitted JavaScript is measured:\n${tsc.stdout}`);
  if (!existsSync(join(into, 'dist', 'cli', 'main.js')))
    throw new Error('the build emitted no dist/cli/main.js');
  mkdirSync(join(into, 'bin'), { recursive: true });
  const bin = join(into, 'bin', 'coffer.js');
  copyFileSync(join(source, 'bin', 'coffer.js'), bin);
  return bin;
}

/**
 * The CLI of an older revision (`git archive`), installed the same way, for an A/B in the same run. Its
 * tree goes outside the checkout, where no typecheck, lint or test run of this one finds its files.
 */
function installRevision(revision: string, into: string): string {
  const tree = join(into, 'tree');
  mkdirSync(tree, { recursive: true });
  const archive = execFileSync(
    'git',
    [
      '-C',
      repo,
      'archive',
      revision,
      'bin',
      'cli',
      'crypto',
      'electron',
      'package.json',
      'tsconfig.base.json', // tsconfig.json extends it: without it tsc compiled with its defaults
      'tsconfig.json',
      'tsconfig.build.json',
    ],
    { maxBuffer: 1 << 30 },
  );
  execFileSync('tar', ['-x', '-C', tree], { input: archive });
  symlinkSync(join(repo, 'node_modules'), join(tree, 'node_modules'));
  const bin = installCli(join(into, 'installed'), tree);
  // What the installed tree needs beside it: the package's module type and its dependencies.
  copyFileSync(join(tree, 'package.json'), join(into, 'installed', 'package.json'));
  symlinkSync(join(repo, 'node_modules'), join(into, 'installed', 'node_modules'));
  return bin;
}

function makeFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const buffer = Buffer.alloc(8 << 20);
  randomFillSync(buffer);
  for (let done = 0; done < bytes; done += buffer.length)
    writeSync(fd, buffer, 0, Math.min(buffer.length, bytes - done));
  closeSync(fd);
}

interface Sample {
  /** Wall time of the whole child, start-up included. */
  readonly seconds: number;
  /** User + system CPU time of the child and its children: what a loaded machine cannot make up. */
  readonly cpu: number;
}

/** Runs a child under /usr/bin/time; throws with its stderr when it fails. */
function wall(command: string, argv: readonly string[], env: NodeJS.ProcessEnv): Sample {
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', '%U %S', command, ...argv], { env, encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0)
    throw new Error(`${command} ${argv.join(' ')} failed (${result.status}): ${result.stderr}`);
  const [user, system] = (result.stderr.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  return { seconds, cpu: (user ?? NaN) + (system ?? NaN) };
}

export function runCliBench(options: CliBenchOptions): CliBenchRow[] {
  const root = join(repo, 'bench', 'out', 'cli-one');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const bin = installCli(join(root, 'installed'));
  const elsewhere = options.against ? mkdtempSync(join(tmpdir(), 'coffer-bench-baseline-')) : null;
  const baseline = options.against && elsewhere ? installRevision(options.against, elsewhere) : null;
  const age = ageIdentity(root);
  if (!age) return [];
  const env = {
    ...process.env,
    COFFER_HOME: join(root, 'home'),
    COFFER_KEYCHAIN_SERVICE: `CofferBench-${process.pid}`,
  };
  const big = join(root, 'big.bin');
  makeFile(big, options.bytes);
  // The device key is made once, as on a laptop in use: not part of any timed run.
  wall(process.execPath, [bin, 'init'], env);

  const out = join(root, 'out');
  const plain = join(root, 'plain.bin');
  const clean = (): void => {
    for (const p of [out, plain, `${plain}.coffer`]) rmSync(p, { force: true });
    execFileSync('sync'); // untimed: no run pays for another's write-back
  };
  const contenders: { operation: string; run: () => Sample }[] = [
    {
      operation: 'age -r … -o out in && sync -f out',
      run: () =>
        wall('sh', ['-c', 'age -r "$1" -o "$2" "$3" && sync -f "$2"', 'sh', age.recipient, out, big], env),
    },
    {
      operation: 'age -r … -o out in (not durable)',
      run: () => wall('age', ['-r', age.recipient, '-o', out, big], env),
    },
    ...[
      { label: '', cli: bin },
      ...(baseline && options.against ? [{ label: ` [${options.against}]`, cli: baseline }] : []),
    ].flatMap(({ label, cli }) => [
      {
        operation: `coffer encrypt --keep -o out in${label}`,
        run: () => wall(process.execPath, [cli, 'encrypt', '--keep', '-o', out, big], env),
      },
      {
        // Protect in place: the plaintext is replaced by plain.bin.coffer (busy check, grace period included).
        operation: `coffer encrypt in (in place)${label}`,
        run: () => {
          copyFileSync(big, plain);
          execFileSync('sync');
          return wall(process.execPath, [cli, 'encrypt', plain], env);
        },
      },
    ]),
  ];
  const samples = new Map(contenders.map((c) => [c.operation, [] as Sample[]]));
  for (let round = 0; round < options.runs; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + round) % contenders.length];
      if (!c) continue;
      clean();
      samples.get(c.operation)?.push(c.run());
    }
  }
  clean();
  rmSync(root, { recursive: true, force: true });
  if (elsewhere) rmSync(elsewhere, { recursive: true, force: true });
  const reference = median((samples.get(contenders[0]?.operation ?? '') ?? []).map((s) => s.seconds));
  return contenders.map(({ operation }) => {
    const s = samples.get(operation) ?? [];
    const seconds = median(s.map((x) => x.seconds));
    return {
      operation,
      seconds,
      samples: s.map((x) => x.seconds),
      cpu: median(s.map((x) => x.cpu)),
      ratio: reference ? seconds / reference : null,
    };
  });
}

export function printCliBench(rows: readonly CliBenchRow[], bytes: number, runs: number): void {
  const load = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
  console.log(
    `\n## one ${(bytes / 1024 ** 2).toFixed(0)} MiB file through the installed CLI (${runs} interleaved runs; median; load ${load})`,
  );
  console.log('| operation | seconds | runs | ÷ age+sync | CPU s |');
  console.log('| --- | ---: | --- | ---: | ---: |');
  for (const r of rows)
    console.log(
      `| ${r.operation} | ${r.seconds.toFixed(3)} | ${r.samples.map((s) => s.toFixed(2)).join(' ')} | ${r.ratio?.toFixed(2) ?? '–'} | ${r.cpu.toFixed(2)} |`,
    );
}

function parseSize(text: string): number {
  const match = /^(\d+)([KMG]?)$/i.exec(text);
  if (!match) throw new Error(`--size must look like 256M or 1G, not ${text}`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(match[2] ?? '').toUpperCase()] ?? 1;
  return Number(match[1]) * unit;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.env.COFFER_KEYRING_READY !== '1' && existsSync(join(repo, 'scripts', 'with-keyring.sh'))) {
    // The CLI reads the device key from the OS keychain: a private one, as the tests use.
    const result = spawnSync(
      join(repo, 'scripts', 'with-keyring.sh'),
      [process.execPath, ...process.execArgv, ...process.argv.slice(1)],
      { stdio: 'inherit' },
    );
    process.exit(result.status ?? 1);
  }
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '1G' },
      runs: { type: 'string', default: '3' },
      against: { type: 'string' },
    },
  });
  const bytes = parseSize(values.size);
  const runs = Number(values.runs);
  printCliBench(
    runCliBench({ bytes, runs, ...(values.against ? { against: values.against } : {}) }),
    bytes,
    runs,
  );
}
