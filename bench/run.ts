/**
 * `npm run bench [-- --size 1G --runs 5 --files 5000 --chunk-sizes --skip-folder --skip-protect --skip-rewrap --skip-status --status-files 100000 --skip-audit --audit-mib 256 --find-mib 1024 --skip-cli --skip-busy]`: Coffer
 * against `age` (the reference)
 * and `cp` (the floor), measured in the same run and interleaved, so that the ratios compare like with
 * like on this machine at this moment. Not a test: it prints numbers and asserts nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildSync } from 'esbuild';
import { loadBackend } from '../crypto/sodium.js';
import { runFolderBench } from './folders.js';
import { runRewrapBench } from './rewrap.js';
import { runStatusBench } from './status.js';
import { runAuditBench } from './audit.js';
import { ageIdentity, measured, median, writeBenchKeys } from './measure.js';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '256M' },
    runs: { type: 'string', default: '3' },
    files: { type: 'string', default: '5000' },
    'chunk-sizes': { type: 'boolean', default: false },
    'skip-folder': { type: 'boolean', default: false },
    'skip-protect': { type: 'boolean', default: false },
    'skip-rewrap': { type: 'boolean', default: false },
    'skip-status': { type: 'boolean', default: false },
    'skip-audit': { type: 'boolean', default: false },
    'skip-cli': { type: 'boolean', default: false },
    'skip-busy': { type: 'boolean', default: false },
    'audit-mib': { type: 'string', default: '256' },
    'find-mib': { type: 'string', default: '256' },
    'status-files': { type: 'string', default: '100000' },
  },
});

function parseSize(text: string): number {
  const match = /^(\d+)([KMG]?)$/i.exec(text);
  if (!match) throw new Error(`--size must look like 256M or 1G, not ${text}`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(match[2] ?? '').toUpperCase()] ?? 1;
  return Number(match[1]) * unit;
}

const size = parseSize(args.size);
const runs = Number(args.runs);
const fileCount = Number(args.files);
const root = join(import.meta.dirname, 'out');
if (!process.env.KEEP_BENCH) rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });

// The measured child runs as plain bundled JavaScript, as the app does: a TypeScript loader would add
// ~40 MB of its own to the peak RSS.
const oneScript = join(root, 'one.mjs');
buildSync({
  entryPoints: [join(import.meta.dirname, 'one.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  external: ['sodium-native', 'libsodium-wrappers-sumo'],
  outfile: oneScript,
  logLevel: 'warning',
});

interface Sample {
  seconds: number;
  rssMB: number | null;
}

function timed(command: string, argv: string[]): Sample {
  const { seconds, rssMB } = measured(command, argv);
  return { seconds, rssMB };
}

/** The time is the child's own (the operation, not Node's start-up); the peak RSS is the whole child's. */
function coffer(op: string, backend: string, input: string, output: string, chunk?: number): Sample {
  const args = [oneScript, op, backend, input, output, keyFile, ...(chunk ? [String(chunk)] : [])];
  const { lastLine, rssMB } = measured(process.execPath, args);
  return { seconds: (JSON.parse(lastLine) as { seconds: number }).seconds, rssMB };
}

interface Contender {
  group: string;
  label: string;
  run: () => Sample;
  cleanup: () => void;
}

/** Runs every contender `runs` times, rotating the order each round so no one always goes first. */
function measure(contenders: Contender[]): Map<Contender, Sample[]> {
  const samples = new Map(contenders.map((c) => [c, [] as Sample[]]));
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length];
      if (!contender) continue;
      samples.get(contender)?.push(contender.run());
      contender.cleanup();
    }
  }
  return samples;
}

function report(title: string, bytes: number, samples: Map<Contender, Sample[]>): void {
  console.log(`\n## ${title} (${runs} interleaved runs; median)`);
  const rows = [...samples].map(([c, s]) => ({
    c,
    seconds: median(s.map((x) => x.seconds)),
    rss: Math.max(...s.map((x) => x.rssMB ?? 0)),
  }));
  const ref = (group: string, label: string) =>
    rows.find((r) => r.c.group === group && r.c.label === label)?.seconds;
  console.log('| operation | tool | seconds | MB/s | peak RSS MB | ÷ age | ÷ cp |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const age = ref(r.c.group, 'age');
    const cp = ref('copy', 'cp');
    const ratio = (x: number | undefined) => (x ? (r.seconds / x).toFixed(2) : '–');
    console.log(
      `| ${r.c.group} | ${r.c.label} | ${r.seconds.toFixed(3)} | ${(bytes / 1e6 / r.seconds).toFixed(0)} | ${r.rss.toFixed(0)} | ${r.c.label === 'age' ? '1.00' : ratio(age)} | ${ratio(cp)} |`,
    );
  }
}

// Inputs and keys.
const sodium = await loadBackend('native').catch(() => loadBackend('wasm'));
const keyFile = join(root, 'coffer-keys.json');
writeBenchKeys(sodium, keyFile);
const age = ageIdentity(root);

const big = join(root, 'big.bin');
{
  const fd = openSync(big, 'w');
  const block = new Uint8Array(16 << 20);
  for (let left = size; left > 0; left -= block.length)
    writeSync(fd, randomFillSync(block), 0, Math.min(left, block.length));
  closeSync(fd);
}
const bigCoffer = join(root, 'big.coffer');
coffer('enc', sodium.name, big, bigCoffer);
const bigAge = join(root, 'big.age');
if (age) execFileSync('age', ['-r', age.recipient, '-o', bigAge, big]);

const out = join(root, 'out.bin');
const rmOut = () => {
  rmSync(out, { force: true, recursive: true });
};
const backends = ['native', 'wasm'].filter((b) => b === 'wasm' || sodium.name === 'native');

const fileContenders: Contender[] = [
  { group: 'copy', label: 'cp', run: () => timed('cp', [big, out]), cleanup: rmOut },
  ...backends.flatMap((b) => [
    { group: 'encrypt', label: `coffer ${b}`, run: () => coffer('enc', b, big, out), cleanup: rmOut },
    { group: 'decrypt', label: `coffer ${b}`, run: () => coffer('dec', b, bigCoffer, out), cleanup: rmOut },
  ]),
  ...(age
    ? [
        {
          group: 'encrypt',
          label: 'age',
          run: () => timed('age', ['-r', age.recipient, '-o', out, big]),
          cleanup: rmOut,
        },
        {
          group: 'decrypt',
          label: 'age',
          run: () => timed('age', ['-d', '-i', age.identity, '-o', out, bigAge]),
          cleanup: rmOut,
        },
      ]
    : []),
];
report(`one ${args.size} file`, size, measure(fileContenders));

if (args['chunk-sizes']) {
  const chunkContenders: Contender[] = backends.flatMap((b) =>
    [65_536, 262_144, 1_048_576].map((chunk) => ({
      group: `encrypt, chunk ${chunk / 1024} KiB`,
      label: `coffer ${b}`,
      run: () => coffer('enc', b, big, out, chunk),
      cleanup: rmOut,
    })),
  );
  report(`chunk size, one ${args.size} file`, size, measure(chunkContenders));
}

if (!args['skip-folder']) {
  const dir = join(root, 'small');
  mkdirSync(dir);
  let total = 0;
  for (let i = 0; i < fileCount; i++) {
    const bytes = 1024 + Math.floor(Math.random() * 63 * 1024);
    total += bytes;
    writeFileSync(join(dir, `f${i}.bin`), randomFillSync(new Uint8Array(bytes)));
  }
  const dirCoffer = join(root, 'small-coffer');
  coffer('enc-dir', sodium.name, dir, dirCoffer);
  const ageLoop = (id: { identity: string; recipient: string }, decrypt: boolean) => (): Sample => {
    mkdirSync(out);
    const started = performance.now();
    for (let i = 0; i < fileCount; i++) {
      const args = decrypt ? ['-d', '-i', id.identity] : ['-r', id.recipient];
      execFileSync('age', [
        ...args,
        '-o',
        join(out, `f${i}`),
        join(decrypt ? `${dir}-age` : dir, `f${i}.bin`),
      ]);
    }
    return { seconds: (performance.now() - started) / 1000, rssMB: null };
  };
  if (age) {
    mkdirSync(`${dir}-age`);
    for (let i = 0; i < fileCount; i++)
      execFileSync('age', [
        '-r',
        age.recipient,
        '-o',
        join(`${dir}-age`, `f${i}.bin`),
        join(dir, `f${i}.bin`),
      ]);
  }
  const folderContenders: Contender[] = [
    { group: 'copy', label: 'cp', run: () => timed('cp', ['-r', dir, out]), cleanup: rmOut },
    ...backends.flatMap((b) => [
      { group: 'encrypt', label: `coffer ${b}`, run: () => coffer('enc-dir', b, dir, out), cleanup: rmOut },
      {
        group: 'decrypt',
        label: `coffer ${b}`,
        run: () => coffer('dec-dir', b, dirCoffer, out),
        cleanup: rmOut,
      },
    ]),
    ...(age
      ? [
          { group: 'encrypt', label: 'age', run: ageLoop(age, false), cleanup: rmOut },
          { group: 'decrypt', label: 'age', run: ageLoop(age, true), cleanup: rmOut },
        ]
      : []),
  ];
  report(
    `${fileCount} files of 1–64 KiB (${(total / 1e6).toFixed(0)} MB), one thread, to sibling files`,
    total,
    measure(folderContenders),
  );
}

// The installed CLI against `age … && sync -f` (issue 10 single-file targets) and the busy-file check's cost
// (issue 10: ≤ 10% on 5,000 files), each in its own process: the CLI one runs under a private keychain.
const child = (script: string, argv: string[]): void => {
  spawnSync(process.execPath, [...process.execArgv, join(import.meta.dirname, script), ...argv], {
    stdio: 'inherit',
  });
};
if (!args['skip-cli']) child('cli-one.ts', ['--size', args.size, '--runs', String(runs)]);
if (!args['skip-busy']) child('busy.ts', ['--files', String(fileCount), '--runs', String(runs)]);
if (!args['skip-protect']) await runFolderBench({ runs, files: fileCount });
if (!args['skip-rewrap']) await runRewrapBench({ runs, files: fileCount, bytes: size });
if (!args['skip-status']) await runStatusBench({ files: Number(args['status-files']) });
if (!args['skip-audit'])
  await runAuditBench({ runs, scanMiB: Number(args['audit-mib']), findMiB: Number(args['find-mib']) });
if (!process.env.KEEP_BENCH) rmSync(root, { recursive: true, force: true });
