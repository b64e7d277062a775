/**
 * The format vectors (FORMAT.md §10), one file per case, run through every reader — the file-descriptor
 * path and the stream path, on both backends — and each must end in exactly its expected outcome.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { isCofferError } from './errors.js';
import { decryptFd } from './file.js';
import type { Identity } from './keys.js';
import type { FileMetadata } from './metadata.js';
import { loadBackend, type BackendName, type SodiumBackend } from './sodium.js';
import { createDecryptStream } from './stream.js';

const dir = join(import.meta.dirname, 'testdata');

interface Vector {
  description: string;
  identities: (
    { kind: 'device'; key: string } | { kind: 'recovery'; publicKey: string; secretKey: string }
  )[];
  expect: { ok: true; sha256: string; metadata: FileMetadata } | { error: string };
}

const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

function identitiesOf(vector: Vector): Identity[] {
  return vector.identities.map((i) =>
    i.kind === 'device'
      ? { kind: 'device', key: bytes(i.key) }
      : { kind: 'recovery', publicKey: bytes(i.publicKey), secretKey: bytes(i.secretKey) },
  );
}

type Outcome = { sha256: string; metadata: FileMetadata } | { error: string };

const scratch = mkdtempSync(join(tmpdir(), 'coffer-vectors-'));

/** Decrypts to a real file, so that the write path is exercised too. */
function viaFd(sodium: SodiumBackend, path: string, identities: Identity[]): Outcome {
  const outPath = join(scratch, `${basename(path)}.${sodium.name}`);
  const inFd = openSync(path, 'r');
  const outFd = openSync(outPath, 'w');
  try {
    const metadata = decryptFd(sodium, inFd, outFd, identities);
    return { sha256: createHash('sha256').update(readFileSync(outPath)).digest('hex'), metadata };
  } catch (error) {
    if (isCofferError(error)) return { error: error.code };
    throw error;
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
}

function verifyOnly(
  sodium: SodiumBackend,
  path: string,
  identities: Identity[],
): { metadata: FileMetadata } | { error: string } {
  const inFd = openSync(path, 'r');
  try {
    return { metadata: decryptFd(sodium, inFd, null, identities) };
  } catch (error) {
    if (isCofferError(error)) return { error: error.code };
    throw error;
  } finally {
    closeSync(inFd);
  }
}

async function viaStream(sodium: SodiumBackend, path: string, identities: Identity[]): Promise<Outcome> {
  const hash = createHash('sha256');
  const decrypt = createDecryptStream(sodium, identities);
  // Feed odd-sized pieces so that every state of the accumulator is crossed.
  const data = readFileSync(path);
  const pieces: Buffer[] = [];
  for (let i = 0, step = 1; i < data.length; i += step, step = (step * 7) % 97 || 1) {
    pieces.push(data.subarray(i, i + step));
  }
  try {
    await pipeline(
      Readable.from(pieces),
      decrypt,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          hash.update(chunk);
          cb();
        },
      }),
    );
  } catch (error) {
    if (isCofferError(error)) return { error: error.code };
    throw error;
  }
  const metadata = decrypt.metadata;
  if (!metadata) throw new Error('stream ended without metadata');
  return { sha256: hash.digest('hex'), metadata };
}

describe.each(['wasm', 'native'] as BackendName[])('format vectors (%s backend)', (backendName) => {
  it('has the vectors the format promises', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
  });

  it.each(cases)('%s', async (name) => {
    const sodium = await loadBackend(backendName);
    const vector = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Vector;
    const path = join(dir, `${name}.coffer`);
    const identities = identitiesOf(vector);
    const expected: Outcome =
      'error' in vector.expect
        ? { error: vector.expect.error }
        : { sha256: vector.expect.sha256, metadata: vector.expect.metadata };
    expect(viaFd(sodium, path, identities)).toEqual(expected);
    expect(await viaStream(sodium, path, identities)).toEqual(expected);
    // A check with no output (the read-back before a plaintext is removed) authenticates without decrypting:
    // the same verdict.
    expect(verifyOnly(sodium, path, identities)).toEqual(
      'error' in expected ? expected : { metadata: expected.metadata },
    );
  });
});
