/** The restore's one code field (screens/RestoreKey.tsx) and folder names (format.ts baseName). */
import { describe, expect, it } from 'vitest';
import { baseName } from './format.js';
import { codeGroupsOf, formatCodeInput } from './screens/RestoreKey.js';

describe('the one-field recovery code', () => {
  it('adds dashes as digits are typed or pasted, drops anything else, stops at 48 digits', () => {
    expect(formatCodeInput('1234567')).toBe('123456-7');
    expect(formatCodeInput('123456 234567-345678')).toBe('123456-234567-345678');
    expect(formatCodeInput('12a34')).toBe('1234');
    expect(formatCodeInput('1'.repeat(60)).replace(/-/g, '')).toHaveLength(48);
  });

  it('names every complete group that is not a multiple of 11, and is complete only with 8 good groups', () => {
    const good = Array.from({ length: 8 }, (_, i) => String((i + 1) * 11 * 101).padStart(6, '0'));
    expect(codeGroupsOf(good.join(''))).toMatchObject({ typos: [], complete: true });
    const typo = [...good];
    typo[2] = '000012';
    typo[6] = '999999'; // a multiple of 11 above 65535 × 11
    expect(codeGroupsOf(typo.join(''))).toMatchObject({ typos: [3, 7], complete: false });
    expect(codeGroupsOf(good.slice(0, 7).join(''))).toMatchObject({ typos: [], complete: false });
  });
});

describe('baseName', () => {
  it('takes the last part of POSIX and Windows paths', () => {
    expect(baseName('/home/ada/Customers')).toBe('Customers');
    expect(baseName('/home/ada/Customers/')).toBe('Customers');
    expect(baseName('C:\\Users\\ada\\Customers')).toBe('Customers');
    expect(baseName('/')).toBe('/');
  });
});
