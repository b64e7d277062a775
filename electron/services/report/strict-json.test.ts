/**
 * The strict reader of report files (docs/REPORT.md §2, strict-json.ts): it reads what JSON.parse reads for
 * every well-formed report, and refuses what would let the text say something else than what was signed.
 */
import { describe, expect, it } from 'vitest';
import { parseStrictJson, StrictJsonError } from './strict-json.js';

function refused(text: string): string {
  try {
    parseStrictJson(text);
  } catch (error) {
    expect(error).toBeInstanceOf(StrictJsonError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${text}`);
}

describe('parseStrictJson', () => {
  it('reads what JSON.parse reads: layout, escapes, nesting, empty containers, a BOM', () => {
    const samples = [
      '{"a":1,"b":[true,false,null,"x\\n\\u00e9\\ud83d\\ude00\\"\\\\\\/"],"c":{},"d":[]}',
      '\r\n\t { "z" : -12 , "y" : [ [ ] , { "k" : "v" } ] } \n',
      '"just a string"',
      '9007199254740991',
      '-9007199254740991',
      JSON.stringify(
        { host: 'ada laptop', user: 'Zoë', n: [0, 1, 22], nested: { deeper: { deepest: 'ok' } } },
        null,
        2,
      ),
    ];
    for (const text of samples) expect(parseStrictJson(text), text).toEqual(JSON.parse(text));
    expect(parseStrictJson('\ufeff{"a":1}')).toEqual({ a: 1 });
  });

  it('keeps a member named __proto__ as a member, as JSON.parse does', () => {
    const value = parseStrictJson('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });

  it('refuses duplicate names, at any depth, also when written with escapes', () => {
    expect(refused('{"a":1,"a":1}')).toContain('"a" appears twice');
    expect(refused('{"x":{"b":0,"b":1}}')).toContain('"b" appears twice');
    expect(refused('{"a":1,"\\u0061":2}')).toContain('"a" appears twice');
  });

  it('refuses every number form but plain integers, and -0, and integers past 2^53', () => {
    for (const n of [
      '1.0',
      '0.99999999999999999',
      '1e0',
      '1E2',
      '10e-1',
      '-0',
      '01',
      '+1',
      '9007199254740992',
      '.5',
      'NaN',
      'Infinity',
    ]) {
      refused(`{"n":${n}}`);
    }
  });

  it('refuses broken text: trailing data, raw control characters, bad escapes, unclosed containers, deep nesting', () => {
    for (const text of [
      '{"a":1} x',
      '{"a":1}{"b":2}',
      '"a\tb"',
      '"\\x41"',
      '"\\u12"',
      '{"a":1',
      '[1,]',
      '{,}',
      '{"a" 1}',
      '',
      ' ',
    ]) {
      refused(text);
    }
    expect(refused('['.repeat(100_000))).toContain('nested deeper');
  });
});
