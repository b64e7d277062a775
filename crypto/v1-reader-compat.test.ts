/**
 * R7 review (issue 9 item 6): files written since reserved header room (FORMAT.md §4.1) must open in a
 * v1 reader from before it. The reader of commit 5a4d1c3 (crypto/ as it was, taken with `git archive`)
 * runs against: a new file, a file re-wrapped in place, a pre-§4.1 file re-wrapped by a copy, every
 * `ok-*` vector, and headers that abuse padding (before the recipients, several, the largest, non-zero).
 * The current reader and the in-place rewriter must handle the same abusive headers.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeaderRewriter } from '../electron/services/headers/header-rewriter.js';
import { isCofferError } from './errors.js';
import { decryptFd, encryptFd, inspectFd, readHeaderFd } from './file.js';
import {
  deriveKeys,
  MAX_HEADER_BYTES,
  parseHeader,
  serializeHeader,
  STANZA_HEAD_SIZE,
  STANZA_PADDING,
  unwrapFileKey,
  wrapFileKey,
  type Stanza,
} from './header.js';
import { generateDeviceKey, generateRecoveryKeyPair, type Identity, type Recipient } from './keys.js';
import { loadBackend, type SodiumBackend } from './sodium.js';

const OLD_COMMIT = '5a4d1c3';
const repo = join(import.meta.dirname, '..');
const root = mkdtempSync(join(tmpdir(), 'coffer-v1-compat-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

type OldDecryptFd = (
  sodium: unknown,
  inFd: number,
  outFd: number | null,
  identities: readonly Identity[],
) => { name: string; size: number; mode: number; mtimeMs: number };
let oldDecryptFd: OldDecryptFd;
let oldSodium: unknown;
let sodium: SodiumBackend;

beforeAll(async () => {
  // The old crypto/ beside a link to today's node_modules (its only outside imports are libsodium's).
  const old = join(root, 'old');
  mkdirSync(old);
  const tar = execFileSync('git', ['archive', OLD_COMMIT, 'crypto'], { cwd: repo, maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '-C', old], { input: tar });
  symlinkSync(join(repo, 'node_modules'), join(old, 'node_modules'));
  const oldFile = (await import(join(old, 'crypto', 'file.ts'))) as { decryptFd: OldDecryptFd };
  const oldBackend = (await import(join(old, 'crypto', 'sodium.ts'))) as {
    loadBackend: (name: string) => Promise<unknown>;
  };
  oldDecryptFd = oldFile.decryptFd;
  oldSodium = await oldBackend.loadBackend('wasm');
  sodium = await loadBackend('wasm');
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

type Outcome = { sha256: string; name: string; size: number } | { error: string };

function readWith(decrypt: () => { name: string; size: number }, out: string): Outcome {
  try {
    const m = decrypt();
    return { sha256: sha(readFileSync(out)), name: m.name, size: m.size };
  } catch (error) {
    if (isCofferError(error)) return { error: error.code };
    if (error instanceof Error && 'code' in error && typeof error.code === 'string')
      return { error: error.code };
    throw error;
  }
}

/** The same file through the old and the current reader. */
function both(path: string, identities: readonly Identity[]): { old: Outcome; now: Outcome } {
  const run = (which: 'old' | 'now'): Outcome => {
    const out = join(root, `out-${which}-${Math.random().toString(16).slice(2)}`);
    const inFd = openSync(path, 'r');
    const outFd = openSync(out, 'w');
    try {
      return readWith(
        () =>
          which === 'old'
            ? oldDecryptFd(oldSodium, inFd, outFd, identities)
            : decryptFd(sodium, inFd, outFd, identities),
        out,
      );
    } finally {
      closeSync(inFd);
      closeSync(outFd);
    }
  };
  return { old: run('old'), now: run('now') };
}

function newFile(name: string, content: Uint8Array, recipients: readonly Recipient[]): string {
  const plain = join(root, name);
  writeFileSync(plain, content);
  const path = `${plain}.coffer`;
  const inFd = openSync(plain, 'r');
  const outFd = openSync(path, 'w');
  try {
    encryptFd(sodium, inFd, outFd, { recipients, name });
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
  return path;
}

/** `path` with its header replaced by one holding `stanzas` as given (padding included), same K. */
function withStanzas(
  path: string,
  identities: readonly Identity[],
  build: (wrap: (r: Recipient) => Stanza) => Stanza[],
  target: string,
): string {
  const bytes = readFileSync(path);
  const header = parseHeader(new Uint8Array(bytes));
  const fileKey = unwrapFileKey(sodium, header, identities);
  const { macKey } = deriveKeys(sodium, fileKey);
  const stanzas = build((r) => wrapFileKey(sodium, fileKey, r));
  const next = serializeHeader(sodium, header.chunkSize, stanzas, header.streamHeader, macKey);
  writeFileSync(target, Buffer.concat([next, bytes.subarray(header.bytes.length)]));
  return target;
}

const padding = (length: number, fill = 0): Stanza => ({
  type: STANZA_PADDING,
  keyId: new Uint8Array(8),
  body: new Uint8Array(length).fill(fill),
});

describe('a v1 reader from before §4.1 (commit 5a4d1c3)', () => {
  it('opens every ok-* vector exactly as today', () => {
    const dir = join(import.meta.dirname, 'testdata');
    const names = readdirSync(dir).filter((n) => n.startsWith('ok-') && n.endsWith('.json'));
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) {
      const vector = JSON.parse(readFileSync(join(dir, name), 'utf8')) as {
        identities: (
          { kind: 'device'; key: string } | { kind: 'recovery'; publicKey: string; secretKey: string }
        )[];
        expect: { sha256: string };
      };
      const hex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
      const identities: Identity[] = vector.identities.map((i) =>
        i.kind === 'device'
          ? { kind: 'device', key: hex(i.key) }
          : { kind: 'recovery', publicKey: hex(i.publicKey), secretKey: hex(i.secretKey) },
      );
      const { old, now } = both(join(dir, name.replace(/\.json$/, '.coffer')), identities);
      expect(old, name).toEqual(now);
      expect(old, name).toMatchObject({ sha256: vector.expect.sha256 });
    }
  });

  it('opens new files, in-place and copied rewraps, and abusive padding as today does', async () => {
    const device: Identity & Recipient = { kind: 'device', key: generateDeviceKey(sodium) };
    const orgA = generateRecoveryKeyPair(sodium);
    const orgB = generateRecoveryKeyPair(sodium);
    const recA: Recipient = { kind: 'recovery', publicKey: orgA.publicKey };
    const recB: Recipient = { kind: 'recovery', publicKey: orgB.publicKey };
    const idB: Identity = { kind: 'recovery', ...orgB };
    const content = new Uint8Array(300_000).map((_, i) => (i * 31) % 251);
    const expected = sha(content);

    const fresh = newFile('fresh.txt', content, [device, recA]);
    expect(inspectFd(openSync(fresh, 'r')).reservedBytes).toBeGreaterThan(0);

    const journalDir = join(root, 'journal');
    const rewriter = new HeaderRewriter({ sodium, journalDir });
    const inPlace = newFile('inplace.txt', content, [device, recA]);
    expect((await rewriter.rewrap(inPlace, [device], [device, recB])).outcome).toBe('in-place');

    // A pre-§4.1 file (no room): its header must grow, so the rewrap is a copy that adds room.
    const noRoom = withStanzas(fresh, [device], (w) => [w(device)], join(root, 'noroom.txt.coffer'));
    expect((await rewriter.rewrap(noRoom, [device], [device, recA, recB])).outcome).toBe('copied');

    const src = newFile('src.txt', content, [device]);
    const abusive = {
      paddingFirst: withStanzas(
        src,
        [device],
        (w) => [padding(200), w(device), w(recA)],
        join(root, 'p1.coffer'),
      ),
      severalPaddings: withStanzas(
        src,
        [device],
        (w) => [padding(0), w(device), padding(17), w(recB), padding(300)],
        join(root, 'p2.coffer'),
      ),
      largest: withStanzas(
        src,
        [device],
        (w) => {
          const stanzas = [w(device)];
          const fixed = 18 + 24 + 32 + (STANZA_HEAD_SIZE + 72) + STANZA_HEAD_SIZE;
          return [...stanzas, padding(MAX_HEADER_BYTES - fixed)];
        },
        join(root, 'p3.coffer'),
      ),
      nonZero: withStanzas(src, [device], (w) => [w(device), padding(500, 0xa5)], join(root, 'p4.coffer')),
      paddingWithDeviceKeyId: withStanzas(
        src,
        [device],
        (w) => {
          const d = w(device);
          return [{ ...padding(400), keyId: d.keyId }, d];
        },
        join(root, 'p5.coffer'),
      ),
    };
    expect(parseHeader(readHeaderFd(openSync(abusive.largest, 'r'))).bytes.length).toBe(MAX_HEADER_BYTES);

    const ok = { sha256: expected, size: content.length };
    for (const [what, path] of Object.entries({ fresh, inPlace, noRoom, ...abusive })) {
      const { old, now } = both(path, [device]);
      expect(now, what).toMatchObject(ok);
      expect(old, what).toEqual(now);
    }
    // The org key B that the rewraps added opens them in the old reader too.
    for (const path of [inPlace, noRoom, abusive.severalPaddings]) {
      const { old, now } = both(path, [idB]);
      expect(now, path).toMatchObject(ok);
      expect(old, path).toEqual(now);
    }

    // The rewriter keeps an abusive header's length and leaves one padding stanza, last.
    for (const [what, path] of Object.entries(abusive)) {
      const before = readHeaderFd(openSync(path, 'r')).length;
      const result = await rewriter.rewrap(path, [device], [device, recA, recB]);
      expect(result.outcome, what).toBe('in-place');
      const header = parseHeader(readHeaderFd(openSync(path, 'r')));
      expect(header.bytes.length, what).toBe(before);
      expect(
        header.stanzas.map((s) => s.type),
        what,
      ).toEqual([1, 2, 2, STANZA_PADDING]);
      const { old, now } = both(path, [idB]);
      expect(now, what).toMatchObject(ok);
      expect(old, what).toEqual(now);
    }
  });
});
