/**
 * Property tests: round trips around chunk boundaries on every backend pairing (files written by one
 * backend open with the other), and that no single flipped bit anywhere in a file goes unnoticed.
 */
import fc from 'fast-check';
// Test data from node:crypto: libsodium.js fills large buffers slowly (seconds per MB).
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCofferError } from './errors.js';
import { decryptFd, encryptFd } from './file.js';
import { generateDeviceKey, generateRecoveryKeyPair, type Identity, type Recipient } from './keys.js';
import type { FileMetadata } from './metadata.js';
import { DecryptSession, DEFAULT_CHUNK_SIZE, EncryptSession, encryptedLength } from './session.js';
import { loadBackend, type SodiumBackend } from './sodium.js';
import { createDecryptStream, createEncryptStream } from './stream.js';

let wasm: SodiumBackend;
let native: SodiumBackend;
let device: Identity & { kind: 'device' };
let org: { publicKey: Uint8Array; secretKey: Uint8Array };
let recipients: Recipient[];

beforeAll(async () => {
  wasm = await loadBackend('wasm');
  native = await loadBackend('native');
  device = { kind: 'device', key: generateDeviceKey(wasm) };
  org = generateRecoveryKeyPair(wasm);
  recipients = [device, { kind: 'recovery', publicKey: org.publicKey }];
});

const meta = (size: number): FileMetadata => ({ name: 'f.bin', size, mode: 0o600, mtimeMs: 1 });

function encryptInMemory(sodium: SodiumBackend, plaintext: Uint8Array, chunkSize: number): Uint8Array {
  const session = new EncryptSession(sodium, { recipients, metadata: meta(plaintext.length), chunkSize });
  const parts = [session.start().slice()];
  let read = 0;
  while (!session.done) {
    const n = session.nextChunkLength();
    parts.push(session.push(plaintext.subarray(read, read + n)).slice());
    read += n;
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** Decrypts a whole file held in memory; throws the CofferError a reader must throw. */
function decryptInMemory(sodium: SodiumBackend, file: Uint8Array, identities: Identity[]): Uint8Array {
  const headerLength = new DataView(file.buffer, file.byteOffset).getUint32(9, true);
  const session = new DecryptSession(
    sodium,
    file.subarray(0, Math.min(headerLength, file.length)),
    identities,
  );
  const out: Uint8Array[] = [];
  let offset = session.header.bytes.length;
  for (let n = session.nextLength(); n > 0; n = session.nextLength()) {
    if (offset + n > file.length) throw Object.assign(new Error('short'), { code: 'TRUNCATED' });
    out.push(session.pull(file.subarray(offset, offset + n)).slice());
    offset += n;
  }
  if (offset !== file.length) throw Object.assign(new Error('trailing'), { code: 'TRAILING_DATA' });
  return new Uint8Array(Buffer.concat(out));
}

/** Sizes that sit on and around multiples of the chunk size, where off-by-one errors live. */
const sizeAround = (chunk: number) =>
  fc.oneof(
    fc.constantFrom(0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk, 3 * chunk - 1),
    fc
      .tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: -2, max: 2 }))
      .map(([k, d]) => Math.max(0, k * chunk + d)),
    fc.integer({ min: 0, max: 8 * chunk }),
  );

describe('round trips', () => {
  const pairs = [
    ['wasm', 'wasm'],
    ['wasm', 'native'],
    ['native', 'wasm'],
    ['native', 'native'],
  ] as const;

  it.each(pairs)('written by %s, read by %s, sizes around chunk boundaries', (writer, reader) => {
    const w = writer === 'wasm' ? wasm : native;
    const r = reader === 'wasm' ? wasm : native;
    fc.assert(
      fc.property(
        fc.constantFrom(256, 1000, 4096).chain((chunk) => fc.tuple(fc.constant(chunk), sizeAround(chunk))),
        ([chunk, size]) => {
          const plaintext = randomBytes(size);
          const file = encryptInMemory(w, plaintext, chunk);
          const headerLength = new DataView(file.buffer).getUint32(9, true);
          expect(file.length).toBe(encryptedLength(headerLength, size, chunk));
          expect(Buffer.compare(decryptInMemory(r, file, [device]), plaintext)).toBe(0);
          const recovery: Identity = { kind: 'recovery', ...org };
          expect(Buffer.compare(decryptInMemory(r, file, [recovery]), plaintext)).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('through real files with the default chunk size, both ways across backends', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-rt-'));
    const chunk = DEFAULT_CHUNK_SIZE;
    for (const size of [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 12345]) {
      for (const [w, r] of [
        [wasm, native],
        [native, wasm],
      ] as const) {
        const plaintext = randomBytes(size);
        writeFileSync(join(dir, 'in'), plaintext);
        const inFd = openSync(join(dir, 'in'), 'r');
        const encFd = openSync(join(dir, 'enc'), 'w');
        encryptFd(w, inFd, encFd, { recipients, name: 'in' });
        closeSync(inFd);
        closeSync(encFd);
        const encIn = openSync(join(dir, 'enc'), 'r');
        const outFd = openSync(join(dir, 'out'), 'w');
        const metadata = decryptFd(r, encIn, outFd, [device]);
        closeSync(encIn);
        closeSync(outFd);
        expect(metadata.size).toBe(size);
        expect(Buffer.compare(readFileSync(join(dir, 'out')), plaintext)).toBe(0);
      }
    }
  });

  it('through Node streams split at arbitrary points', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }),
        async (size, cuts) => {
          const plaintext = randomBytes(size);
          const pieces = (data: Uint8Array) => {
            const out: Uint8Array[] = [];
            for (let i = 0, k = 0; i < data.length; k++) {
              const step = cuts[k % cuts.length] ?? 1;
              out.push(data.subarray(i, i + step));
              i += step;
            }
            return out;
          };
          const encrypted = await buffer(
            Readable.from(pieces(plaintext)).pipe(
              createEncryptStream(wasm, { recipients, metadata: meta(size), chunkSize: 256 }),
            ),
          );
          const decrypt = createDecryptStream(native, [device]);
          const decrypted = await buffer(Readable.from(pieces(encrypted)).pipe(decrypt));
          expect(Buffer.compare(decrypted, plaintext)).toBe(0);
          expect(decrypt.metadata?.size).toBe(size);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an encrypt stream refuses input that does not match the declared size', async () => {
    const tooShort = Readable.from([new Uint8Array(10)]).pipe(
      createEncryptStream(wasm, { recipients, metadata: meta(11), chunkSize: 256 }),
    );
    await expect(buffer(tooShort)).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
    const tooLong = Readable.from([new Uint8Array(12)]).pipe(
      createEncryptStream(wasm, { recipients, metadata: meta(11), chunkSize: 256 }),
    );
    await expect(buffer(tooLong)).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
  });
});

function flipBit(bytes: Uint8Array, bit: number): void {
  bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) ^ (1 << (bit & 7));
}

describe('tamper evidence', () => {
  function rejects(file: Uint8Array): string {
    try {
      decryptInMemory(native, file, [device]);
    } catch (error) {
      if (isCofferError(error) || (error instanceof Error && 'code' in error))
        return String((error as { code: unknown }).code);
      throw error;
    }
    return 'ACCEPTED';
  }

  it('rejects every single-bit flip of a small multi-chunk file (exhaustive)', () => {
    const file = encryptInMemory(native, randomBytes(600), 256);
    const accepted: number[] = [];
    for (let bit = 0; bit < file.length * 8; bit++) {
      const copy = file.slice();
      flipBit(copy, bit);
      if (rejects(copy) === 'ACCEPTED') accepted.push(bit);
    }
    expect(accepted).toEqual([]);
  });

  it('rejects any single-bit flip in random small files', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1500 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (size, where) => {
          const file = encryptInMemory(wasm, randomBytes(size), 256);
          const bit = Math.min(file.length * 8 - 1, Math.floor(where * file.length * 8));
          flipBit(file, bit);
          expect(rejects(file)).not.toBe('ACCEPTED');
        },
      ),
      { numRuns: 300 },
    );
  });
});
