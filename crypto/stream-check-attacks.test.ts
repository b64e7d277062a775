/**
 * Adversarial review of the read-back check that decides whether a plaintext may be deleted
 * (DecryptSession.authenticate / StreamPuller.check, which authenticates without decrypting). Every test
 * takes real streams and compares the check's verdict with libsodium's own
 * crypto_secretstream_xchacha20poly1305_pull on both backends: any disagreement is a break.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCofferError } from './errors.js';
import { decryptFd, encryptFd } from './file.js';
import { generateDeviceKey, type Identity, type Recipient } from './keys.js';
import { METADATA_BYTES } from './metadata.js';
import { loadBackend, secretstreamChecker, STREAM_ABYTES, type SodiumBackend } from './sodium.js';

interface Na {
  crypto_secretstream_xchacha20poly1305_STATEBYTES: number;
  crypto_secretstream_xchacha20poly1305_init_push(s: Uint8Array, h: Uint8Array, k: Uint8Array): void;
  crypto_secretstream_xchacha20poly1305_init_pull(s: Uint8Array, h: Uint8Array, k: Uint8Array): void;
  crypto_secretstream_xchacha20poly1305_push(
    s: Uint8Array,
    c: Uint8Array,
    m: Uint8Array,
    ad: null,
    tag: number,
  ): number;
  crypto_secretstream_xchacha20poly1305_pull(
    s: Uint8Array,
    m: Uint8Array,
    tag: Uint8Array,
    c: Uint8Array,
    ad: null,
  ): number;
}
const na = createRequire(import.meta.url)('sodium-native') as Na;

let native: SodiumBackend;
let wasm: SodiumBackend;
let dir: string;
let device: Identity & { kind: 'device' };
let recipients: Recipient[];

beforeAll(async () => {
  native = await loadBackend('native');
  wasm = await loadBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'coffer-check-'));
  device = { kind: 'device', key: generateDeviceKey(native) };
  recipients = [device];
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const CHUNK = 256; // MIN_CHUNK_SIZE: many chunks (and many tag/state transitions) in few bytes

/** A file produced by the real engine (encryptFd between real files). */
function engineFile(size: number): Buffer {
  const src = join(dir, 'src');
  const out = join(dir, 'out.coffer');
  writeFileSync(src, randomBytes(size));
  const inFd = openSync(src, 'r');
  const outFd = openSync(out, 'w');
  try {
    encryptFd(native, inFd, outFd, { recipients, name: 'f.bin', chunkSize: CHUNK });
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
  return readFileSync(out);
}

/** The outcome of reading `file` back: 'ok:<size>' or the error code. */
function outcome(sodium: SodiumBackend, file: Uint8Array, authenticateOnly: boolean): string {
  const path = join(dir, 'probe.coffer');
  writeFileSync(path, file);
  const inFd = openSync(path, 'r');
  const outFd = authenticateOnly ? null : openSync('/dev/null', 'w');
  try {
    const meta = decryptFd(sodium, inFd, outFd, [device]);
    return `ok:${meta.size}`;
  } catch (error) {
    if (isCofferError(error)) return error.code;
    throw error;
  } finally {
    closeSync(inFd);
    if (outFd !== null) closeSync(outFd);
  }
}

/** All four readers (check and pull, native and wasm) agree; returns the common verdict. */
function agreed(file: Uint8Array, label: string): string {
  const pullNative = outcome(native, file, false);
  const verdicts = {
    pullNative,
    pullWasm: outcome(wasm, file, false),
    checkNative: outcome(native, file, true),
    checkWasm: outcome(wasm, file, true),
  };
  expect(verdicts, label).toEqual({
    pullNative,
    pullWasm: pullNative,
    checkNative: pullNative,
    checkWasm: pullNative,
  });
  return pullNative;
}

/** Offsets of the content chunks (after header and metadata message) of an engine file. */
function chunkOffsets(file: Buffer, size: number): { start: number; end: number }[] {
  const headerLength = file.readUInt32LE(9);
  let at = headerLength + METADATA_BYTES + STREAM_ABYTES;
  const chunks: { start: number; end: number }[] = [];
  let left = size;
  do {
    const plain = Math.min(left, CHUNK);
    chunks.push({ start: at, end: at + plain + STREAM_ABYTES });
    at += plain + STREAM_ABYTES;
    left -= plain;
  } while (left > 0);
  expect(at).toBe(file.length);
  return chunks;
}

describe('read-back check vs libsodium pull on damaged engine files', () => {
  const sizes = [0, 1, 15, 16, 47, 48, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7];

  it.each(sizes)('intact file of %i bytes: all four readers accept it', (size) => {
    expect(agreed(engineFile(size), 'intact')).toBe(`ok:${size}`);
  });

  it('one bit flipped at every byte of the file: every reader refuses, with the same code', () => {
    const size = 3 * CHUNK + 7;
    const file = engineFile(size);
    // Every byte of the metadata message and the chunks' edges, and a sample of the rest (this shared
    // machine runs four readers per case).
    const chunks = chunkOffsets(file, size);
    const edges = chunks.flatMap((c) => [c.start, c.start + 1, c.end - STREAM_ABYTES, c.end - 1]);
    const first = chunks[0]?.start ?? 0;
    const metadataBytes = Array.from({ length: METADATA_BYTES + STREAM_ABYTES }, (_, k) => first - 1 - k);
    const sample = Array.from({ length: 150 }, () => randomInt(file.length));
    for (const i of new Set([...edges, ...metadataBytes, ...sample, 0, file.length - 1])) {
      const damaged = Buffer.from(file);
      damaged[i] = (damaged[i] ?? 0) ^ (1 << randomInt(8));
      expect(agreed(damaged, `bit at ${i}`)).not.toMatch(/^ok/);
    }
  });

  it('cut at every length, and any bytes after the end: refused alike', () => {
    const size = 2 * CHUNK + 3;
    const file = engineFile(size);
    const ends = chunkOffsets(file, size).flatMap((c) => [c.start - 1, c.start, c.start + 1, c.end - 1]);
    const sample = Array.from({ length: 100 }, () => randomInt(file.length));
    for (const n of new Set([0, 1, ...ends, ...sample])) {
      expect(agreed(file.subarray(0, n), `cut to ${n}`)).not.toMatch(/^ok/);
    }
    for (const extra of [Buffer.alloc(1), randomBytes(STREAM_ABYTES), file.subarray(file.length - 40)]) {
      expect(agreed(Buffer.concat([file, extra]), `+${extra.length}`)).toBe('TRAILING_DATA');
    }
  });

  it('chunks dropped, duplicated, swapped, moved, or taken from another file: refused alike', () => {
    const size = 4 * CHUNK;
    const file = engineFile(size);
    const other = engineFile(size);
    const chunks = chunkOffsets(file, size);
    const otherChunks = chunkOffsets(other, size);
    const part = (f: Buffer, c: { start: number; end: number }): Buffer => f.subarray(c.start, c.end);
    const head = file.subarray(0, chunks[0]?.start);
    const rebuild = (parts: Buffer[]): Buffer => Buffer.concat([head, ...parts]);
    const own = chunks.map((c) => part(file, c));
    const cases: [string, Buffer[]][] = [];
    for (let i = 0; i < own.length; i++) {
      cases.push([`drop ${i}`, own.filter((_, j) => j !== i)]);
      cases.push([`duplicate ${i}`, [...own.slice(0, i + 1), ...own.slice(i)]]);
      const theirs = otherChunks[i];
      if (theirs)
        cases.push([`chunk ${i} of another file`, own.map((c, j) => (j === i ? part(other, theirs) : c))]);
      for (let j = 0; j < own.length; j++) {
        if (i === j) continue;
        const swapped = [...own];
        [swapped[i], swapped[j]] = [own[j] ?? Buffer.alloc(0), own[i] ?? Buffer.alloc(0)];
        cases.push([`swap ${i} ${j}`, swapped]);
      }
    }
    cases.push(['reversed', [...own].reverse()]);
    cases.push(['final chunk only', own.slice(-1)]);
    for (const [label, parts] of cases) expect(agreed(rebuild(parts), label)).not.toMatch(/^ok/);
    // Another file's header with this file's payload, and the other way round.
    const otherHead = other.subarray(0, otherChunks[0]?.start);
    expect(agreed(Buffer.concat([otherHead, ...own]), 'header of another file')).not.toMatch(/^ok/);
  });
});

/** Pushes messages with the given tags under a fresh key; the pull side gets the same header and key. */
function pushStream(tags: readonly number[], lengths?: readonly number[]) {
  const key = randomBytes(32);
  const state = new Uint8Array(na.crypto_secretstream_xchacha20poly1305_STATEBYTES);
  const header = new Uint8Array(24);
  na.crypto_secretstream_xchacha20poly1305_init_push(state, header, key);
  const messages = tags.map((tag, i) => {
    const plain = randomBytes(lengths?.[i] ?? randomInt(100));
    const c = new Uint8Array(plain.length + STREAM_ABYTES);
    na.crypto_secretstream_xchacha20poly1305_push(state, c, plain, null, tag);
    return c;
  });
  return { key, header, messages };
}

describe('read-back check vs libsodium pull on every tag byte', () => {
  it('all 256 tag values, each followed by more messages (the state after it must match)', () => {
    for (let tag = 0; tag < 256; tag++) {
      const { key, header, messages } = pushStream([0, tag, 0, 2, tag, 3]);
      const pulled = native.streamPull(header, key, 4096);
      const pulledWasm = wasm.streamPull(header, key, 4096);
      const checked = native.streamPull(header, key, 4096);
      for (const [i, m] of messages.entries()) {
        const a = pulled.pull(m);
        const w = pulledWasm.pull(m);
        const b = checked.check(m);
        expect(a, `tag ${tag} message ${i}`).not.toBeNull();
        expect(b, `tag ${tag} message ${i}`).toEqual({ final: a?.final });
        expect(w?.final, `tag ${tag} message ${i}`).toBe(a?.final);
      }
    }
  });

  it('a FINAL tag re-encrypted as MESSAGE (and the reverse) is caught the same way', () => {
    // The tag byte is encrypted and authenticated: flipping its low bits in the ciphertext changes the MAC.
    const { key, header, messages } = pushStream([0, 0, 3], [10, 10, 10]);
    for (const flip of [1, 2, 3]) {
      const last = Uint8Array.from(messages[2] ?? []);
      last[0] = (last[0] ?? 0) ^ flip;
      const pulled = native.streamPull(header, key, 4096);
      const checked = native.streamPull(header, key, 4096);
      for (const m of messages.slice(0, 2)) {
        expect(pulled.pull(m)).not.toBeNull();
        expect(checked.check(m)).not.toBeNull();
      }
      expect(pulled.pull(last)).toBeNull();
      expect(checked.check(last)).toBeNull();
    }
  });
});

describe('read-back check vs libsodium pull at the 32-bit counter wrap (rekey)', () => {
  it('counter 0xfffffffd..0 and on: the same verdict and state as pull', () => {
    for (const start of [0xfffffffd, 0xfffffffe, 0xffffffff]) {
      const key = randomBytes(32);
      const push = new Uint8Array(na.crypto_secretstream_xchacha20poly1305_STATEBYTES);
      const header = new Uint8Array(24);
      na.crypto_secretstream_xchacha20poly1305_init_push(push, header, key);
      const pull = new Uint8Array(push.length);
      na.crypto_secretstream_xchacha20poly1305_init_pull(pull, header, key);
      // Both states move to the same counter, as after ~2^32 messages (FORMAT.md allows up to 2^32 chunks).
      new DataView(push.buffer).setUint32(32, start, true);
      new DataView(pull.buffer).setUint32(32, start, true);
      const checkState = pull.slice();
      const check = secretstreamChecker(
        na as unknown as Parameters<typeof secretstreamChecker>[0],
        checkState,
      );
      const tag = new Uint8Array(1);
      for (let i = 0; i < 6; i++) {
        const plain = randomBytes(33);
        const c = new Uint8Array(plain.length + STREAM_ABYTES);
        na.crypto_secretstream_xchacha20poly1305_push(push, c, plain, null, i === 5 ? 3 : 0);
        const m = new Uint8Array(plain.length);
        na.crypto_secretstream_xchacha20poly1305_pull(pull, m, tag, c, null);
        expect(check(c), `start ${start.toString(16)} message ${i}`).toEqual({ final: tag[0] === 3 });
        expect(Buffer.from(checkState).equals(Buffer.from(pull)), `state after message ${i}`).toBe(true);
      }
    }
  });
});
