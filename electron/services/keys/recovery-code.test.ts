import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadBackend } from '../../../crypto/sodium.js';
import { isCofferError } from '../../../crypto/errors.js';
import {
  formatRecoveryCode,
  generateRecoveryCode,
  parseRecoveryCode,
  recoveryCodeKeyId,
} from './recovery-code.js';

const sodium = await loadBackend('wasm');

function codeError(text: string): string {
  try {
    parseRecoveryCode(text);
  } catch (error) {
    if (isCofferError(error, 'BAD_RECOVERY_CODE')) return error.message;
    throw error;
  }
  throw new Error('parsed');
}

describe('personal recovery code (FORMAT.md §11.3)', () => {
  it('is 8 groups of 6 digits, each a multiple of 11, and round-trips any 128 bits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatRecoveryCode(bytes);
        expect(text).toMatch(/^\d{6}(-\d{6}){7}$/);
        for (const group of text.split('-')) expect(Number(group) % 11).toBe(0);
        expect(parseRecoveryCode(text)).toEqual(bytes);
      }),
    );
  });

  it('pins the encoding: group i is 11 × little-endian u16 of bytes 2i, 2i+1', () => {
    const bytes = Uint8Array.from([0, 0, 1, 0, 0, 1, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(formatRecoveryCode(bytes)).toBe('000000-000011-002816-720885-000000-000000-000000-000000');
  });

  it('tolerates spaces and dashes in the input', () => {
    const code = generateRecoveryCode(sodium);
    const text = formatRecoveryCode(code);
    expect(parseRecoveryCode(text.replace(/-/g, ' '))).toEqual(code);
    expect(parseRecoveryCode(text.replace(/-/g, ''))).toEqual(code);
    expect(parseRecoveryCode(` ${text.slice(0, 3)} ${text.slice(3)}\n`)).toEqual(code);
  });

  it('names a mistyped group by its number', () => {
    const text = formatRecoveryCode(generateRecoveryCode(sodium));
    const groups = text.split('-');
    for (const index of [0, 2, 7]) {
      const wrong = [...groups];
      const g = wrong[index] ?? '';
      // Changing one digit by ±1 always breaks the multiple of 11.
      const digit = Number(g[5]);
      wrong[index] = g.slice(0, 5) + String(digit === 9 ? 8 : digit + 1);
      expect(codeError(wrong.join('-'))).toBe(`Group ${index + 1} of the recovery code is mistyped`);
    }
  });

  it('rejects a group above 11 × 65535 and a wrong digit count, naming the count', () => {
    expect(codeError('720896-' + '000000-'.repeat(6) + '000000')).toBe(
      'Group 1 of the recovery code is mistyped',
    );
    expect(codeError('000000-000000')).toBe('A recovery code has 48 digits; this one has 12');
    expect(codeError('00000a-' + '000000-'.repeat(7))).toMatch(/only digits/);
  });

  it('has a key ID that differs per code and is stable', () => {
    const a = generateRecoveryCode(sodium);
    const b = generateRecoveryCode(sodium);
    expect(recoveryCodeKeyId(sodium, a)).toEqual(recoveryCodeKeyId(sodium, a.slice()));
    expect(recoveryCodeKeyId(sodium, a)).not.toEqual(recoveryCodeKeyId(sodium, b));
    expect(recoveryCodeKeyId(sodium, a)).toHaveLength(8);
  });
});
