/**
 * `npm run bench [-- --size 1G --runs 5 --files 5000 --chunk-sizes --skip-folder --skip-protect]`: Coffer
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
import { generateDeviceKey, generateRecoveryKeyPair } from '../crypto/keys.js';
import { loadBackend } from '../crypto/sodium.js';
import { runFolderBench } from './folders.js';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '256M' },
    runs: { type: 'string', default: '3' },
    files: { type: 'string', default: '5000' },
    'chunk-sizes': { type: 'boolean', default: false },
    'skip-folder': { type: 'boolean', default: false },
    'skip-protect': { type: 'boolean', default: false },
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
const hasAge = spawnSync('age', ['--version']).status === 0;

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
  const started = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', command, ...argv], { encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  const rssKB = Number(result.stderr.trim().split('\n').at(-1));
  return { seconds, rssMB: Number.isFinite(rssKB) ? rssKB / 1024 : null };
}

/**
 * Peak RSS comes from /usr/bin/time, not from the child itself: on Linux a child's own maxRSS inherits the
 * high-water mark of the process that forked it (here, this one), which would overstate it.
 */
function coffer(op: string, backend: string, input: string, output: string, chunk?: number): Sample {
  const result = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      '%M',
      process.execPath,
      oneScript,
      op,
      backend,
      input,
      output,
      keyFile,
      ...(chunk ? [String(chunk)] : []),
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`coffer ${op} failed: ${result.stderr}`);
  const { seconds } = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as { seconds: number };
  const rssKB = Number(result.stderr.trim().split('\n').at(-1));
  return { seconds, rssMB: rssKB / 1024 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

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
writeFileSync(
  keyFile,
  JSON.stringify({
    device: Buffer.from(generateDeviceKey(sodium)).toString('hex'),
    recoveryPublic: Buffer.from(generateRecoveryKeyPair(sodium).publicKey).toString('hex'),
  }),
);
const ageKey = join(root, 'age-key.txt');
let ageRecipient = '';
if (hasAge) {
  execFileSync('age-keygen', ['-o', ageKey], { stdio: 'ignore' });
  ageRecipient = execFileSync('age-keygen', ['-y', ageKey], { encoding: 'utf8' }).trim();
} else {
  console.log('NOTE: `age` is not installed (apt-get install age): no age column; ratios against cp only.');
}

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
if (hasAge) execFileSync('age', ['-r', ageRecipient, '-o', bigAge, big]);

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
  ...(hasAge
    ? [
        {
          group: 'encrypt',
          label: 'age',
          run: () => timed('age', ['-r', ageRecipient, '-o', out, big]),
          cleanup: rmOut,
        },
        {
          group: 'decrypt',
          label: 'age',
          run: () => timed('age', ['-d', '-i', ageKey, '-o', out, bigAge]),
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
  const ageLoop = (decrypt: boolean) => (): Sample => {
    mkdirSync(out);
    const started = performance.now();
    for (let i = 0; i < fileCount; i++) {
      const args = decrypt ? ['-d', '-i', ageKey] : ['-r', ageRecipient];
      execFileSync('age', [
        ...args,
        '-o',
        join(out, `f${i}`),
        join(decrypt ? `${dir}-age` : dir, `f${i}.bin`),
      ]);
    }
    return { seconds: (performance.now() - started) / 1000, rssMB: null };
  };
  if (hasAge) {
    mkdirSync(`${dir}-age`);
    for (let i = 0; i < fileCount; i++)
      execFileSync('age', [
        '-r',
        ageRecipient,
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
    ...(hasAge
      ? [
          { group: 'encrypt', label: 'age', run: ageLoop(false), cleanup: rmOut },
          { group: 'decrypt', label: 'age', run: ageLoop(true), cleanup: rmOut },
        ]
      : []),
  ];
  report(
    `${fileCount} files of 1–64 KiB (${(total / 1e6).toFixed(0)} MB), one thread, to sibling files`,
    total,
    measure(folderContenders),
  );
}

if (!args['skip-protect']) await runFolderBench({ runs });
if (!process.env.KEEP_BENCH) rmSync(root, { recursive: true, force: true });
