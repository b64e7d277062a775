import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCofferError } from '../../crypto/errors.js';
import { generateDeviceKey, type Identity } from '../../crypto/keys.js';
import { EncryptSession } from '../../crypto/session.js';
import { loadBackend, type SodiumBackend } from '../../crypto/sodium.js';
import { TailVerifier } from './tail-verify.js';

let sodium: SodiumBackend;
let device: Identity & { kind: 'device' };

beforeAll(async () => {
  sodium = await loadBackend('native');
  device = { kind: 'device', key: generateDeviceKey(sodium) };
});

function ciphertext(size: number): Uint8Array {
  const plaintext = randomBytes(size);
  const session = new EncryptSession(sodium, {
    recipients: [device],
    metadata: { name: 'big.bin', size, mode: 0o600, mtimeMs: 0 },
    chunkSize: 4096,
  });
  const parts = [session.start().slice()];
  for (let read = 0; !session.done;) {
    const n = session.nextChunkLength();
    parts.push(session.push(plaintext.subarray(read, read + n)).slice());
    read += n;
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** Writes `bytes` in pieces, pausing now and then so the verifier catches up and has to wait. */
async function writeSlowly(bytes: Uint8Array): Promise<{ path: string; verifier: TailVerifier }> {
  const path = join(mkdtempSync(join(tmpdir(), 'coffer-tail-')), 'out.coffer');
  const fd = openSync(path, 'w');
  const { dev, ino } = fstatSync(fd);
  const verifier = new TailVerifier(sodium.name, path, { dev, ino }, [
    { kind: 'device', key: device.key.slice() },
  ]);
  for (let offset = 0, i = 0; offset < bytes.length; offset += 50_000, i++) {
    writeSync(fd, bytes.subarray(offset, offset + 50_000));
    verifier.wrote();
    if (i % 5 === 0) await sleep(20);
  }
  closeSync(fd);
  return { path, verifier };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (error) {
    if (isCofferError(error)) return error.code;
    throw error;
  }
}

describe('TailVerifier', () => {
  it('authenticates a file while it is written', async () => {
    const { verifier } = await writeSlowly(ciphertext(1_000_000));
    expect(verifier.finish()).toMatchObject({ name: 'big.bin', size: 1_000_000 });
  });

  it('catches a flipped bit', async () => {
    const bytes = ciphertext(600_000);
    bytes[400_000] = (bytes[400_000] ?? 0) ^ 1;
    const { verifier } = await writeSlowly(bytes);
    expect(codeOf(() => verifier.finish())).toBe('AUTH_FAILED');
  });

  it('catches a file that stops short, and bytes after the end', async () => {
    const bytes = ciphertext(300_000);
    const short = await writeSlowly(bytes.subarray(0, bytes.length - 100));
    expect(codeOf(() => short.verifier.finish())).toBe('TRUNCATED');
    const long = await writeSlowly(Buffer.concat([bytes, Buffer.from('x')]));
    expect(codeOf(() => long.verifier.finish())).toBe('TRAILING_DATA');
  });
});
