/**
 * Data-audit benchmark (issue 11 targets): text scan MB/s against `rg` (ripgrep) with equivalent patterns,
 * in the same run and interleaved; a second scan of the unchanged tree (the cache); `audit find` over
 * protected files; the peak RSS of each (workers included). Prints numbers and ratios; asserts nothing.
 * Called by bench/run.ts; also runs alone:
 *   tsx bench/audit.ts [--audit-mib 256] [--find-mib 256] [--runs 3]     (--find-mib 1024 for the 1 GiB target)
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildSync } from 'esbuild';
import { encryptFd } from '../crypto/file.js';
import { defaultBackend } from '../crypto/sodium.js';
import { RG_PATTERNS as DETECTOR_RG_PATTERNS } from '../electron/services/audit/detectors/rg-patterns.js';
import { measured, median, writeBenchKeys } from './measure.js';

export interface AuditBenchOptions {
  readonly runs?: number;
  /** Text to scan (CSV, TXT, JSON), MiB. */
  readonly scanMiB?: number;
  /** Protected files for `audit find`, MiB (the target is 1024). */
  readonly findMiB?: number;
  readonly root?: string;
}

const MiB = 1024 * 1024;
const repo = join(import.meta.dirname, '..');

/**
 * The patterns rg runs: detectors/rg-patterns.ts, a superset of what each built-in detector counts, kept
 * beside the detectors (one list, not a second one here that could drift), without the validation
 * (mod-97, Luhn) Coffer adds. On the bench's text rg spends the same CPU on them as on the list this file
 * had before, and matches exactly the validated counts.
 */
const RG_PATTERNS = Object.values(DETECTOR_RG_PATTERNS);

/** Customer-export-like text: one line in four holds a value, the rest is prose and ids. Same every run. */
function textLines(seed: number, count: number): string {
  const words = [
    'invoice',
    'order',
    'shipped',
    'customer',
    'account',
    'pending',
    'refund',
    'note',
    'the',
    'and',
  ];
  const lines: string[] = [];
  let x = seed;
  const next = (): number => (x = (x * 1103515245 + 12345) & 0x7fffffff) >> 16;
  for (let i = 0; i < count; i++) {
    const id = next() % 1_000_000;
    const prose = Array.from({ length: 8 }, () => words[next() % words.length]).join(' ');
    switch (next() % 8) {
      case 0:
        lines.push(`${id},"Jane Doe",jane.doe${id}@example.com,${prose}`);
        break;
      case 1:
        lines.push(`${id},+44 20 7946 ${String(id % 10000).padStart(4, '0')},${prose}`);
        break;
      default:
        lines.push(`${id},${prose},${next() % 99999},${prose}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** `mib` MiB of text in files of 4 MiB (csv, txt, json), plus a few valid IBANs and cards. */
function makeTextTree(dir: string, mib: number): number {
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  const exts = ['csv', 'txt', 'json'];
  for (let i = 0; bytes < mib * MiB; i++) {
    let text = textLines(i + 1, 52_000);
    text += 'GB82 WEST 1234 5698 7654 32\n4111 1111 1111 1111\n';
    const ext = exts[i % exts.length] ?? 'txt';
    if (ext === 'json') text = JSON.stringify({ rows: text.split('\n') });
    const buffer = Buffer.from(text);
    const fd = openSync(join(dir, `export-${i}.${ext}`), 'w');
    writeSync(fd, buffer);
    closeSync(fd);
    bytes += buffer.length;
  }
  return bytes;
}

/** `mib` MiB of protected text files (16 MiB each) for a device key; one holds the term searched. */
async function makeProtectedTree(
  dir: string,
  mib: number,
  deviceKeyHex: string,
  term: string,
): Promise<number> {
  const sodium = await defaultBackend();
  mkdirSync(dir, { recursive: true });
  const key = Uint8Array.from(Buffer.from(deviceKeyHex, 'hex'));
  const plain = join(dir, '..', 'plain.tmp');
  let bytes = 0;
  const files = Math.max(1, Math.ceil(mib / 16));
  for (let i = 0; i < files; i++) {
    const chunks: string[] = [];
    let size = 0;
    for (let seed = 1; size < 16 * MiB; seed++) {
      const lines = textLines(i * 1000 + seed, 20_000);
      chunks.push(lines);
      size += lines.length;
    }
    if (i === files - 1) chunks.push(`${term}\n`);
    const fdIn = openSync(plain, 'w');
    writeSync(fdIn, chunks.join(''));
    closeSync(fdIn);
    const input = openSync(plain, 'r');
    const output = openSync(join(dir, `customers-${i}.csv.coffer`), 'w');
    encryptFd(sodium, input, output, { recipients: [{ kind: 'device', key }], name: `customers-${i}.csv` });
    closeSync(input);
    closeSync(output);
    bytes += size;
  }
  rmSync(plain, { force: true });
  randomFillSync(key);
  return bytes;
}

/** The child as plain JavaScript with the scanner worker beside it (tsx would add its own memory). */
function buildChild(out: string): string {
  buildSync({
    entryPoints: {
      'audit-child': join(import.meta.dirname, 'audit-child.ts'),
      'scanner-worker': join(repo, 'electron/services/audit/scanner-worker.ts'),
      // PDFs are read in a worker of their own, started as `pdf-worker.js` beside the scanner worker.
      'pdf-worker': join(repo, 'electron/services/audit/extract/pdf-worker.ts'),
    },
    outdir: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    // Modules loaded with import() stay apart and load on first use, as in the app's build (tsc, one file
    // per module): the parsers of documents are not loaded by a scan of text files.
    splitting: true,
    logLevel: 'warning',
  });
  // ES modules under .js names: the pool asks for `scanner-worker.js` next to the module that starts it.
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  return join(out, 'audit-child.js');
}

interface ChildOut {
  seconds: number;
  bytesRead: number;
  files: number;
  fromCache?: number;
  findings?: Record<string, number>;
  found?: number;
  errors: number;
}

export async function runAuditBench(options: AuditBenchOptions = {}): Promise<void> {
  const runs = Math.max(1, options.runs ?? 3);
  const root = options.root ?? join(import.meta.dirname, 'out', 'audit');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const child = buildChild(join(root, 'js'));
  const sodium = await defaultBackend();
  const keyFile = join(root, 'keys.json');
  writeBenchKeys(sodium, keyFile);
  const device = (JSON.parse(readFileSync(keyFile, 'utf8')) as { device: string }).device;

  const text = join(root, 'text');
  const textBytes = makeTextTree(text, options.scanMiB ?? 256);
  const term = 'erasure.request.7f3a@example.com';
  const vault = join(root, 'vault');
  const vaultBytes = await makeProtectedTree(vault, options.findMiB ?? 256, device, term);

  const rg = spawnSync('rg', ['--version']).status === 0;
  if (!rg) console.log('NOTE: `rg` (ripgrep) is not installed: no ripgrep row, no ratio against it.');

  const samples = {
    cold: [] as number[],
    coldWall: [] as number[],
    warm: [] as number[],
    warmWall: [] as number[],
    rg: [] as number[],
    find: [] as number[],
    findWall: [] as number[],
  };
  const rss = { cold: 0, warm: 0, rg: 0, find: 0 };
  let last: ChildOut | undefined;
  let lastFind: ChildOut | undefined;
  let warmOut: ChildOut | undefined;
  const load = [loadavg()[0] ?? 0];
  for (let r = 0; r < runs; r++) {
    const home = join(root, `home-${r}`);
    if (rg) {
      const m = measured('rg', [
        '--count-matches',
        '--no-messages',
        ...RG_PATTERNS.flatMap((p) => ['-e', p]),
        text,
      ]);
      samples.rg.push(m.seconds);
      rss.rg = Math.max(rss.rg, m.rssMB);
    }
    const cold = measured(process.execPath, [child, 'scan', home, keyFile, text]);
    last = JSON.parse(cold.lastLine) as ChildOut;
    samples.cold.push(last.seconds);
    samples.coldWall.push(cold.seconds);
    rss.cold = Math.max(rss.cold, cold.rssMB);
    const warm = measured(process.execPath, [child, 'scan', home, keyFile, text]);
    warmOut = JSON.parse(warm.lastLine) as ChildOut;
    samples.warm.push(warmOut.seconds);
    samples.warmWall.push(warm.seconds);
    rss.warm = Math.max(rss.warm, warm.rssMB);
    const find = measured(process.execPath, [
      child,
      'find',
      join(root, `find-home-${r}`),
      keyFile,
      vault,
      term,
    ]);
    lastFind = JSON.parse(find.lastLine) as ChildOut;
    samples.find.push(lastFind.seconds);
    samples.findWall.push(find.seconds);
    rss.find = Math.max(rss.find, find.rssMB);
    load.push(loadavg()[0] ?? 0);
    rmSync(home, { recursive: true, force: true });
  }

  const mbps = (bytes: number, s: number): string => (bytes / 1e6 / s).toFixed(0);
  const cold = median(samples.cold);
  const warm = median(samples.warm);
  console.log(
    `\n## data audit (${runs} interleaved runs; median; ${availableParallelism()} cores; load average ${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)})`,
  );
  console.log(
    `text tree: ${(textBytes / MiB).toFixed(0)} MiB in ${last?.files ?? '?'} files; findings ${JSON.stringify(last?.findings ?? {})}`,
  );
  console.log('| operation | tool | seconds (own) | seconds (wall) | MB/s | peak RSS MB | ratio |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  const rgSeconds = rg ? median(samples.rg) : undefined;
  console.log(
    // Against rg, wall time for both: rg's only time is its wall time (its process start included), and
    // Coffer's own time leaves out Node's start, the bundle's load and the keys (the ratio was own ÷ rg wall).
    `| scan text, first | coffer audit scan | ${cold.toFixed(3)} | ${median(samples.coldWall).toFixed(3)} | ${mbps(textBytes, cold)} | ${rss.cold.toFixed(0)} | ${rgSeconds ? `${(median(samples.coldWall) / rgSeconds).toFixed(2)}× rg (wall; own ${(cold / rgSeconds).toFixed(2)}×)` : '–'} |`,
  );
  if (rgSeconds)
    console.log(
      `| scan text | rg (same patterns, no validation) | – | ${rgSeconds.toFixed(3)} | ${mbps(textBytes, rgSeconds)} | ${rss.rg.toFixed(0)} | 1.00 |`,
    );
  console.log(
    `| scan text, unchanged (cache: ${warmOut?.fromCache ?? '?'} of ${warmOut?.files ?? '?'}) | coffer audit scan | ${warm.toFixed(3)} | ${median(samples.warmWall).toFixed(3)} | – | ${rss.warm.toFixed(0)} | first ÷ second: ${(cold / warm).toFixed(1)}× (wall ${(median(samples.coldWall) / median(samples.warmWall)).toFixed(1)}×) |`,
  );
  const find = median(samples.find);
  console.log(
    `| find 1 term in ${(vaultBytes / MiB).toFixed(0)} MiB protected | coffer audit find | ${find.toFixed(3)} | ${median(samples.findWall).toFixed(3)} | ${mbps(vaultBytes, find)} | ${rss.find.toFixed(0)} | found ${lastFind?.found ?? '?'} file(s) |`,
  );
  console.log(
    'Targets: scan ≥ 150 MB/s on 2 cores; ≤ 3× rg; second scan ≥ 10× faster; find over 1 GiB protected ≤ 10 s (--find-mib 1024); peak RSS ≤ 200 MB.',
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '3' },
      'audit-mib': { type: 'string', default: '256' },
      'find-mib': { type: 'string', default: '256' },
    },
  });
  await runAuditBench({
    runs: Number(values.runs),
    scanMiB: Number(values['audit-mib']),
    findMiB: Number(values['find-mib']),
  });
}
