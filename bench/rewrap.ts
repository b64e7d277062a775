/**
 * Rewrap benchmark (issue 9 item 6): re-wrapping a large file and a folder of 5,000 files for a new
 * recovery key set, in place through HeaderRewriter (FORMAT.md §8, §8.1), against the copy that rekey did
 * before (a new header, then the payload copied). Also reports the bytes handed to write(2) (`wchar` of
 * /proc/self/io) so that "no payload copied" is measured, not assumed.
 * Called by bench/run.ts; also runs alone: `tsx bench/rewrap.ts [--size 1G] [--files 5000] [--runs 3]`.
 */
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { encryptFd, rewrapFd } from '../crypto/file.js';
import { generateDeviceKey, generateRecoveryKeyPair, type Identity, type Recipient } from '../crypto/keys.js';
import { defaultBackend } from '../crypto/sodium.js';
import { HeaderRewriter } from '../electron/services/headers/header-rewriter.js';
import { median } from './measure.js';

export interface RewrapBenchOptions {
  readonly runs?: number;
  readonly files?: number;
  readonly bytes?: number;
  readonly root?: string;
}

export interface RewrapBenchRow {
  readonly case: string;
  readonly how: string;
  readonly seconds: number;
  /** CPU seconds (user + system) of this process: what the run costs, however loaded the machine is. */
  readonly cpuSeconds: number;
  /** Bytes passed to write(2) during the operation (median run). */
  readonly writtenBytes: number | null;
  readonly outcome: string;
}

/** Bytes this process has passed to write(2) so far (Linux), or null. */
function written(): number | null {
  if (!existsSync('/proc/self/io')) return null;
  const match = /^wchar:\s*(\d+)/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return match ? Number(match[1]) : null;
}

function writeRandom(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const block = new Uint8Array(8 << 20);
  for (let left = bytes; left > 0; left -= block.length)
    writeSync(fd, randomFillSync(block), 0, Math.min(left, block.length));
  closeSync(fd);
}

export async function runRewrapBench(options: RewrapBenchOptions = {}): Promise<RewrapBenchRow[]> {
  const runs = Math.max(1, options.runs ?? 3);
  const count = options.files ?? 5000;
  const bytes = options.bytes ?? 1024 ** 3;
  const root = options.root ?? join(import.meta.dirname, 'out', 'rewrap');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'journal'), { recursive: true });
  const sodium = await defaultBackend();
  const device: Identity & Recipient = { kind: 'device', key: generateDeviceKey(sodium) };
  const orgs = [generateRecoveryKeyPair(sodium), generateRecoveryKeyPair(sodium)];
  const setFor = (round: number): Recipient[] => [
    device,
    { kind: 'recovery', publicKey: orgs[round % 2]?.publicKey ?? new Uint8Array(32) },
  ];
  const rewriter = new HeaderRewriter({ sodium, journalDir: join(root, 'journal') });
  const protect = (plain: string, target: string, name: string): void => {
    const inFd = openSync(plain, 'r');
    const outFd = openSync(target, 'w');
    encryptFd(sodium, inFd, outFd, { recipients: setFor(0), name });
    closeSync(inFd);
    closeSync(outFd);
  };
  const rows: RewrapBenchRow[] = [];
  const sample = (
    name: string,
    how: string,
    run: (round: number) => Promise<string> | string,
  ): Promise<void> =>
    (async () => {
      const times: number[] = [];
      const cpu: number[] = [];
      const writes: number[] = [];
      let outcome = '';
      for (let r = 1; r <= runs; r++) {
        const before = written();
        const started = performance.now();
        const cpuBefore = process.cpuUsage();
        outcome = await run(r);
        times.push((performance.now() - started) / 1000);
        const used = process.cpuUsage(cpuBefore);
        cpu.push((used.user + used.system) / 1e6);
        const after = written();
        if (before !== null && after !== null) writes.push(after - before);
      }
      rows.push({
        case: name,
        how,
        seconds: median(times),
        cpuSeconds: median(cpu),
        writtenBytes: writes.length ? median(writes) : null,
        outcome,
      });
    })();

  // One large file.
  const bigPlain = join(root, 'big.bin');
  const big = join(root, 'big.coffer');
  writeRandom(bigPlain, bytes);
  protect(bigPlain, big, 'big.bin');
  rmSync(bigPlain);
  const bigName = `1 file of ${Math.round(bytes / 1024 ** 2)} MiB`;
  const inode = statSync(big).ino;
  await sample(bigName, 'copy (rekey before: new header + payload copied)', (r) => {
    const out = join(root, 'big.copy.coffer');
    const inFd = openSync(big, 'r');
    const outFd = openSync(out, 'w');
    rewrapFd(sodium, inFd, outFd, [device], setFor(r));
    closeSync(inFd);
    closeSync(outFd);
    rmSync(out);
    return 'copied';
  });
  await sample(bigName, 'HeaderRewriter.rewrap, in place', async (r) => {
    const result = await rewriter.rewrap(big, [device], setFor(r));
    return result.outcome;
  });
  if (statSync(big).ino !== inode) throw new Error('the large file was replaced, not rewritten in place');

  // A folder of small files, as one batch.
  const dir = join(root, 'small');
  mkdirSync(dir);
  const plain = join(root, 'plain.bin');
  const buffer = new Uint8Array(64 * 1024);
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const size = 1024 + ((i * 40503) % (63 * 1024 + 1));
    const fd = openSync(plain, 'w');
    writeSync(fd, randomFillSync(buffer), 0, size);
    closeSync(fd);
    const path = join(dir, `doc-${i}.coffer`);
    protect(plain, path, `doc-${i}`);
    paths.push(path);
  }
  await sample(
    `${count} files of 1–64 KiB`,
    'HeaderRewriter.rewrapMany, in place (a journal per 512 files, one syncfs)',
    async (r) => {
      const results = await rewriter.rewrapMany(paths, [device], setFor(r));
      const outcomes = new Set(results.map((x) => ('error' in x ? x.error.code : x.outcome)));
      return [...outcomes].join(', ');
    },
  );
  rmSync(root, { recursive: true, force: true });

  const load = loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  console.log(
    `\nRewrap (${runs} runs; median; backend ${sodium.name}; load average ${load} on ${cpus().length} cores)`,
  );
  console.log('| case | how | seconds | CPU seconds | bytes written | outcome |');
  console.log('| --- | --- | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.case} | ${r.how} | ${r.seconds.toFixed(3)} | ${r.cpuSeconds.toFixed(3)} | ${r.writtenBytes === null ? '–' : r.writtenBytes.toLocaleString('en')} | ${r.outcome} |`,
    );
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '1G' },
      files: { type: 'string', default: '5000' },
      runs: { type: 'string', default: '3' },
    },
  });
  const match = /^(\d+)([KMG]?)$/i.exec(values.size);
  if (!match) throw new Error(`--size must look like 256M or 1G, not ${values.size}`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(match[2] ?? '').toUpperCase()] ?? 1;
  await runRewrapBench({
    bytes: Number(match[1]) * unit,
    files: Number(values.files),
    runs: Number(values.runs),
  });
}
