/**
 * The FORMAT.md §11 vectors (crypto/testdata/keys/<case>.json), one file per case, built from the spec
 * text by scripts/make-vectors.ts, each run through the real reader of its format.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  openEscrowWithCode,
  openEscrowWithRecoveryKey,
  parseEscrowRecord,
} from '../electron/services/keys/escrow.js';
import { parsePublicKey } from '../electron/services/keys/public-key-text.js';
import {
  formatRecoveryCode,
  parseRecoveryCode,
  recoveryCodeKeyId,
} from '../electron/services/keys/recovery-code.js';
import { openRecoveryKeyFile } from '../electron/services/keys/recovery-key-file.js';
import { isCofferError } from './errors.js';
import { loadBackend } from './sodium.js';

const dir = join(import.meta.dirname, 'testdata', 'keys');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

interface KeyVector {
  format: 'key-file' | 'public-key' | 'recovery-code' | 'escrow';
  description: string;
  input: Record<string, string>;
  expect: Record<string, string>;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string | undefined) => new Uint8Array(Buffer.from(text ?? '', 'hex'));

async function run(vector: KeyVector): Promise<Record<string, string>> {
  const sodium = await loadBackend('wasm');
  const { input } = vector;
  switch (vector.format) {
    case 'key-file': {
      const identity = await openRecoveryKeyFile(bytes(input.fileHex), input.passphrase ?? '');
      return { publicKey: hex(identity.publicKey), secretKey: hex(identity.secretKey) };
    }
    case 'public-key':
      return { publicKey: hex(parsePublicKey(sodium, input.text ?? '')) };
    case 'recovery-code': {
      const code = parseRecoveryCode(input.text ?? '');
      return {
        code: hex(code),
        keyId: hex(recoveryCodeKeyId(sodium, code)),
        formatted: formatRecoveryCode(code),
      };
    }
    case 'escrow': {
      const record = parseEscrowRecord(input.record ?? '');
      const key =
        input.code !== undefined
          ? openEscrowWithCode(sodium, record, parseRecoveryCode(input.code))
          : openEscrowWithRecoveryKey(sodium, record, {
              kind: 'recovery',
              publicKey: bytes(input.recoveryPublicKey),
              secretKey: bytes(input.recoverySecretKey),
            });
      return { deviceKey: hex(key) };
    }
  }
}

describe('FORMAT.md §11 key vectors', () => {
  it('has a vector for every §11 format', () => {
    const formats = new Set(
      cases.map((name) => (JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as KeyVector).format),
    );
    expect([...formats].sort()).toEqual(['escrow', 'key-file', 'public-key', 'recovery-code']);
  });

  it.each(cases)('%s', async (name) => {
    const vector = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as KeyVector;
    const { error, messageIncludes, ...ok } = vector.expect;
    let outcome: Record<string, string>;
    try {
      outcome = await run(vector);
    } catch (caught) {
      if (!isCofferError(caught)) throw caught;
      expect({ error: caught.code }).toEqual({ error });
      if (messageIncludes !== undefined) expect(caught.message).toContain(messageIncludes);
      return;
    }
    expect(error, `expected ${error ?? ''}, but it opened`).toBeUndefined();
    expect(outcome).toEqual(ok);
  });
});
