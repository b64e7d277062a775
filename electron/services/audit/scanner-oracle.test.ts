/**
 * Adversarial review (issue 11): a full scan through the real worker pool against an oracle that cuts
 * nothing: countFindings on each file's whole text, decoded in one call. The corpus puts what a piece
 * border can break exactly on the readers' 256 KiB borders (PLAIN_CHUNK_BYTES) and on a protected file's
 * chunk borders: a multi-byte character, a CR/LF pair, a value with and without line breaks around it, a
 * field delimiter, UTF-16 code units; every piece holds different values (a buffer reused while a decoder
 * or a message still points at it would count another piece's values); one file is a single 6 MiB line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TextDecoder } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptFd } from '../../../crypto/file.js';
import { generateDeviceKey, type Identity } from '../../../crypto/keys.js';
import { defaultBackend, type SodiumBackend } from '../../../crypto/sodium.js';
import { guardRailsFor } from '../folders/guard-rails.js';
import { countFindings, makeDetectors, type CustomerDataPattern, type Findings } from './detectors/index.js';
import { AuditService, type AuditPolicy } from './scanner.js';
import { PLAIN_CHUNK_BYTES } from './scanner-read.js';

const P = PLAIN_CHUNK_BYTES;
let sodium: SodiumBackend;
let deviceKey: Uint8Array;
const dirs: string[] = [];

function temp(label: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `coffer-audit-oracle-${label}-`)));
  dirs.push(dir);
  return dir;
}

function service(appHome: string, policy: AuditPolicy): AuditService {
  return new AuditService({
    backend: sodium.name,
    appHome,
    homedir: temp('home'),
    policy: () => policy,
    protectedFolders: () => [],
    identities: () => Promise.resolve([{ kind: 'device', key: deviceKey.slice() } satisfies Identity]),
    guard: guardRailsFor(appHome, process.env),
    workers: 2,
  });
}

/** Deterministic values: piece `k` of a file gets its own mix, so pieces never look alike. */
const VALUES = [
  'ann@example.com',
  '+44 20 7946 0958',
  '(415) 555-2671',
  '4111 1111 1111 1111',
  '5555-5555-5555-4444',
  '123-45-6789',
  'AB123456C',
  'GB82 WEST 1234 5698 7654 32',
  'DE89370400440532013000',
  'CUST-000123',
  '4111 1111 1111 1112', // decoy: bad Luhn
  '666-12-3456', // decoy: invalid SSN
];

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s;
  };
}

/** ~`bytes` of lines (or one line, `sep` between fields) whose values depend on the piece they fall in. */
function rows(bytes: number, seed: number, sep: string, lineEnd: string): string {
  const next = rng(seed);
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const piece = Math.floor(length / P);
    const n = 1 + (next() % (3 + piece)); // more values per row in later pieces
    const row: string[] = [];
    for (let i = 0; i < n; i++) row.push(VALUES[(next() + piece * 7) % VALUES.length] ?? '');
    row.push('é€😀'.repeat(next() % 3));
    const line = row.join(sep) + lineEnd;
    parts.push(line);
    length += Buffer.byteLength(line);
  }
  return parts.join('');
}

/** `text` with `insert` placed so that it starts `shift` bytes before each piece border (UTF-8). */
function atBorders(text: string, insert: string, shift: number, borders: number): string {
  let out = Buffer.from(text);
  for (let k = borders; k >= 1; k--) {
    let at = k * P - shift;
    // Land on a character start of the original text so the insert itself is what straddles the border.
    while (at > 0 && ((out[at] ?? 0) & 0xc0) === 0x80) at--;
    out = Buffer.concat([out.subarray(0, at), Buffer.from(insert), out.subarray(at)]);
  }
  return out.toString('utf8');
}

function protect(file: string, content: Buffer, chunkSize?: number): string {
  fs.writeFileSync(file, content);
  const input = fs.openSync(file, 'r');
  const output = fs.openSync(`${file}.coffer`, 'wx');
  encryptFd(sodium, input, output, {
    recipients: [{ kind: 'device', key: deviceKey }],
    name: path.basename(file),
    ...(chunkSize === undefined ? {} : { chunkSize }),
  });
  fs.closeSync(input);
  fs.closeSync(output);
  fs.rmSync(file);
  return `${file}.coffer`;
}

beforeAll(async () => {
  sodium = await defaultBackend();
  deviceKey = generateDeviceKey(sodium);
});

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('full scan vs whole-text oracle (adversarial review)', { timeout: 300_000 }, () => {
  it('every file counts what countFindings counts on its whole text, however the readers cut it', async () => {
    const patterns: CustomerDataPattern[] = [
      { name: 'customer-id', regex: 'CUST-\\d{6}' },
      { name: 'json-cid', regex: '"cid":"\\d{5}"' },
    ];
    const det = makeDetectors(patterns);
    const root = temp('corpus');
    /** path -> the text the oracle counts */
    const expected = new Map<string, string>();
    const put = (
      name: string,
      text: string,
      bytes: Buffer = Buffer.from(text),
      encrypt = false,
      chunkSize?: number,
    ): void => {
      const file = path.join(root, name);
      expected.set(encrypt ? protect(file, bytes, chunkSize) : file, text);
      if (!encrypt) fs.writeFileSync(file, bytes);
    };

    const base = rows(6 * P, 1, ',', '\n');
    put('distinct.csv', base);
    put('crlf.csv', atBorders(rows(4 * P, 2, ';', '\r\n'), '\r\n', 1, 3));
    for (const shift of [1, 2, 3]) put(`emoji-${shift}.txt`, atBorders(base, '😀ann@example.com', shift, 5));
    for (const shift of [1, 5, 9, 20]) {
      put(`value-nl-${shift}.txt`, atBorders(base, '\n4111 1111 1111 1111\n', shift, 5));
      put(`value-line-${shift}.txt`, atBorders(rows(6 * P, 3, ' ', ' '), ' 4111 1111 1111 1111 ', shift, 5));
    }
    put('delimiter-at-border.csv', atBorders(base, ',,', 1, 5));
    // Minified JSON, one line of ~6 MiB: the pieces are cut inside values and inside key/value pairs.
    const json = JSON.stringify(
      Array.from({ length: 140_000 }, (_, i) => ({
        cid: String(10_000 + (i % 90_000)),
        v: VALUES[i % VALUES.length],
        t: 'é'.repeat(i % 5),
      })),
    );
    expect(json.length).toBeGreaterThan(6 * 1024 * 1024);
    put('giant.json', json);
    for (const shift of [0, 1, 3, 7]) put(`giant-${shift}.json`, ' '.repeat(shift) + json.slice(0, 3 * P));
    // UTF-16 with a byte-order mark: a value and a code unit cut at the border (odd byte offsets too).
    const u16 = rows(3 * P, 4, '\t', '\r\n');
    put('utf16le.txt', u16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(u16, 'utf16le')]));
    const be = Buffer.from(u16, 'utf16le').swap16();
    put('utf16be.txt', u16, Buffer.concat([Buffer.from([0xfe, 0xff]), be]));
    put(
      'utf16le-odd.txt',
      ` ${u16}`,
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(` ${u16}`, 'utf16le')]),
    );
    // Protected: decrypted piece by piece (another chunk size), same oracle.
    put('protected.csv', base, Buffer.from(base), true);
    put('protected-64k.csv', base, Buffer.from(base), true, 64 * 1024);
    put('protected.json', json.slice(0, 3 * P), Buffer.from(json.slice(0, 3 * P)), true);

    const audit = service(temp('app'), { customerDataPatterns: patterns });
    const report = await audit.scan([root]);
    await audit.close();
    expect(report.skipped).toEqual([]);
    const got = new Map(report.files.map((f) => [f.path, f.findings as Findings]));
    const wrong: string[] = [];
    for (const [file, text] of expected) {
      const want = countFindings(text, det);
      const have = got.get(file) ?? {};
      if (JSON.stringify(sorted(have)) !== JSON.stringify(sorted(want)))
        wrong.push(
          `${path.basename(file)}: scan ${JSON.stringify(sorted(have))} oracle ${JSON.stringify(sorted(want))}`,
        );
    }
    expect(wrong).toEqual([]);
    // The oracle itself counts the planted values (not a pair of equal zeros).
    expect(countFindings(json, det)['json-cid']).toBe(140_000);
    expect(new TextDecoder('utf-16be').decode(be)).toBe(u16);
  });
});

function sorted(f: Findings): Findings {
  return Object.fromEntries(Object.entries(f).sort(([a], [b]) => a.localeCompare(b)));
}

describe(
  'the text-or-binary decision does not depend on how a file is read (adversarial review)',
  { timeout: 120_000 },
  () => {
    it('a NUL byte past the first 64 KiB: read in the clear (256 KiB pieces) as protected (64 KiB) and whole', async () => {
      // sniffEncoding looked for a NUL in all of the first piece it was given: 256 KiB for a file in the clear,
      // 64 KiB for a protected one, so the same CSV was "binary data" in the clear and read once protected.
      const root = temp('nul');
      const text = rows(2 * P, 9, ',', '\n');
      const bytes = Buffer.from(text);
      bytes[100_000] = 0;
      const decoded = bytes.toString('utf8');
      fs.writeFileSync(path.join(root, 'clear.csv'), bytes);
      const sealed = protect(path.join(root, 'sealed.csv'), bytes, 64 * 1024);
      const audit = service(temp('app'), {});
      const report = await audit.scan([root]);
      await audit.close();
      const want = countFindings(decoded, makeDetectors());
      expect(want.email).toBeGreaterThan(100);
      expect(report.skipped).toEqual([]);
      expect(report.files.find((f) => f.path === sealed)?.findings).toEqual(want);
      expect(report.files.find((f) => f.path === path.join(root, 'clear.csv'))?.findings).toEqual(want);
    });
  },
);
