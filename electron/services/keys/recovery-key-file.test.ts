import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import sodiumJs from 'libsodium-wrappers-sumo';
import { loadBackend } from '../../../crypto/sodium.js';
import { isCofferError } from '../../../crypto/errors.js';
import {
  KEY_FILE_BYTES,
  keyFileLimits,
  openRecoveryKeyFile,
  readRecoveryKeyFile,
  sealRecoveryKeyFile,
  writeRecoveryKeyFile,
} from './recovery-key-file.js';

const sodium = await loadBackend('wasm');
const fast = await keyFileLimits({ COFFER_TEST_INSECURE_KDF: '1' }, { allowTestKdf: true });

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isCofferError(error)) return error.code;
    throw error;
  }
  return 'ok';
}

describe('organization recovery key file (FORMAT.md §11.1)', () => {
  const pair = sodium.boxKeypair();

  it('uses Argon2id MODERATE limits unless the test-only variable is set', async () => {
    await sodiumJs.ready;
    expect(await keyFileLimits({}, { allowTestKdf: true })).toEqual({
      opslimit: sodiumJs.crypto_pwhash_OPSLIMIT_MODERATE,
      memlimit: sodiumJs.crypto_pwhash_MEMLIMIT_MODERATE,
    });
    expect(fast.memlimit).toBe(sodiumJs.crypto_pwhash_MEMLIMIT_MIN);
    // An installed build (allowTestKdf false) ignores the variable.
    expect(await keyFileLimits({ COFFER_TEST_INSECURE_KDF: '1' }, { allowTestKdf: false })).toEqual({
      opslimit: sodiumJs.crypto_pwhash_OPSLIMIT_MODERATE,
      memlimit: sodiumJs.crypto_pwhash_MEMLIMIT_MODERATE,
    });
  });

  it('opens with the passphrase and gives back the key pair', async () => {
    const bytes = await sealRecoveryKeyFile(pair, 'correct horse battery', fast);
    expect(bytes).toHaveLength(KEY_FILE_BYTES);
    const identity = await openRecoveryKeyFile(bytes, 'correct horse battery');
    expect(identity).toEqual({ kind: 'recovery', publicKey: pair.publicKey, secretKey: pair.secretKey });
  });

  it('says BAD_PASSPHRASE for a wrong passphrase and for altered limits, salt or public key (all in the AD)', async () => {
    const bytes = await sealRecoveryKeyFile(pair, 'correct horse battery', fast);
    expect(await codeOf(openRecoveryKeyFile(bytes, 'correct horse batterY'))).toBe('BAD_PASSPHRASE');
    for (const offset of [13, 20, 40, 70, 100]) {
      const altered = bytes.slice();
      altered[offset] = (altered[offset] ?? 0) ^ 1;
      expect(await codeOf(openRecoveryKeyFile(altered, 'correct horse battery'))).toBe('BAD_PASSPHRASE');
    }
  });

  it('says BAD_KEY_FILE for a wrong length, magic, version or hostile limits, before any hashing', async () => {
    const bytes = await sealRecoveryKeyFile(pair, 'pw', fast);
    expect(await codeOf(openRecoveryKeyFile(bytes.subarray(0, 100), 'pw'))).toBe('BAD_KEY_FILE');
    const magic = bytes.slice();
    magic[1] = 0;
    expect(await codeOf(openRecoveryKeyFile(magic, 'pw'))).toBe('BAD_KEY_FILE');
    const version = bytes.slice();
    version[8] = 2;
    expect(await codeOf(openRecoveryKeyFile(version, 'pw'))).toBe('BAD_KEY_FILE');
    const hostile = bytes.slice();
    new DataView(hostile.buffer).setUint32(13, 0xffffffff, true); // 4 GiB of memory
    const started = performance.now();
    expect(await codeOf(openRecoveryKeyFile(hostile, 'pw'))).toBe('BAD_KEY_FILE');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('is written with mode 0600 and never over an existing file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-keyfile-'));
    const file = path.join(dir, 'org.key');
    writeRecoveryKeyFile(file, await sealRecoveryKeyFile(pair, 'pw', fast));
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(() => {
      writeRecoveryKeyFile(file, new Uint8Array(KEY_FILE_BYTES));
    }).toThrow(/already exists/);
    expect((await readRecoveryKeyFile(file, 'pw')).publicKey).toEqual(pair.publicKey);
    expect(await codeOf(readRecoveryKeyFile(path.join(dir, 'missing.key'), 'pw'))).toBe(
      'KEY_FILE_UNREADABLE',
    );
  });
});
