import { describe, expect, it } from 'vitest';
import { loadBackend } from '../../../crypto/sodium.js';
import { isCofferError } from '../../../crypto/errors.js';
import { encodePublicKey, parsePublicKey, PUBLIC_KEY_PREFIX } from './public-key-text.js';

const sodium = await loadBackend('wasm');

function rejects(text: string): boolean {
  try {
    parsePublicKey(sodium, text);
    return false;
  } catch (error) {
    return isCofferError(error, 'BAD_PUBLIC_KEY');
  }
}

describe('recovery public key text line (FORMAT.md §11.2)', () => {
  const { publicKey } = sodium.boxKeypair();
  const line = encodePublicKey(sodium, publicKey);

  it('is one line: prefix and 48 base64url characters, and round-trips', () => {
    expect(line).toMatch(/^coffer-recovery-1:[A-Za-z0-9_-]{48}$/);
    expect(parsePublicKey(sodium, `  ${line}\n`)).toEqual(publicKey);
  });

  it('rejects every single-character change (checksum), a cut copy, and a wrong prefix', () => {
    const body = line.slice(PUBLIC_KEY_PREFIX.length);
    for (let i = 0; i < body.length; i++) {
      const c = body[i] === 'A' ? 'B' : 'A';
      expect(rejects(PUBLIC_KEY_PREFIX + body.slice(0, i) + c + body.slice(i + 1))).toBe(true);
    }
    expect(rejects(line.slice(0, -1))).toBe(true);
    expect(rejects(line.replace('coffer-recovery-1', 'coffer-recovery-2'))).toBe(true);
  });

  it('works with both backends alike', async () => {
    const native = await loadBackend('native').catch(() => null);
    if (!native) {
      console.warn('skipped the native half: sodium-native does not load here');
      return;
    }
    expect(encodePublicKey(native, publicKey)).toBe(line);
  });
});
