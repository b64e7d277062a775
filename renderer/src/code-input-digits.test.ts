/**
 * Review of issue 12 item 6 (Bad input: a mistyped code gets a clear message; the one-field type-back): a
 * code typed with a Japanese or Chinese input method left in full-width mode (１２３４５６) or on an Arabic or
 * Persian keyboard (١٢٣ / ۱۲۳) is the right code. Those digits were dropped as "not a digit" while typed:
 * the field stayed empty with no word of why. They are read as the digits they are.
 */
import { describe, expect, it } from 'vitest';
import { codeGroupsOf, formatCodeInput } from './screens/RestoreKey.js';

const GOOD = Array.from({ length: 8 }, (_, i) => String((i + 1) * 11 * 101).padStart(6, '0'));

/** The same digits in another script whose zero is `zero` (digits 0-9 follow it in Unicode). */
function inScript(text: string, zero: number): string {
  return text.replace(/\d/g, (d) => String.fromCodePoint(zero + Number(d)));
}

describe('the code field reads digits of every script', () => {
  it.each([
    ['full-width', 0xff10],
    ['Arabic-Indic', 0x0660],
    ['Persian', 0x06f0],
    ['Devanagari', 0x0966],
  ])('%s digits are the code', (_name, zero) => {
    const typed = inScript(GOOD.join(' '), zero);
    expect(formatCodeInput(typed)).toBe(GOOD.join('-'));
    expect(codeGroupsOf(typed)).toMatchObject({ complete: true, typos: [], groups: GOOD });
  });

  it('still drops what is not a digit, and stops at 48 digits', () => {
    expect(formatCodeInput('12a3\u00b24')).toBe('1234'); // a superscript two is not a decimal digit
    expect(formatCodeInput(inScript('1'.repeat(60), 0xff10)).replace(/-/g, '')).toBe('1'.repeat(48));
  });
});
