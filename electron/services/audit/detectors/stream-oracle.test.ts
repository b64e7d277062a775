/**
 * Adversarial review (issue 11): counts over a text given in pieces, or over a text longer than one match
 * window, against an oracle that needs no cutting at all: for a policy pattern, the number of matches of its
 * regex over the whole text in one go; for the built-ins, countFindings on the whole text in one call.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHUNK } from './custom.js';
import {
  countFindings,
  FindingCounter,
  FindStream,
  makeDetectors,
  makeFinder,
  type Findings,
} from './index.js';

/** Non-overlapping matches of `regex` over all of `text` (what /g finds in one go). */
function oracle(text: string, regex: string): number {
  return text.match(new RegExp(regex, 'g'))?.length ?? 0;
}

function streamed(text: string, det: ReturnType<typeof makeDetectors>, piece: number, offset = 0): Findings {
  const counter = new FindingCounter(det);
  if (offset > 0) counter.push(text.slice(0, offset));
  for (let at = offset; at < text.length; at += piece) counter.push(text.slice(at, at + piece));
  return counter.end();
}

describe('policy patterns on long lines (adversarial review)', () => {
  it('a match across the 64 Ki match window of a line without line breaks counts once', () => {
    const det = makeDetectors([{ name: 'customer-id', regex: 'CUST-\\d{6}' }]);
    // The window was cut at CHUNK when the line had no '\n': the match straddling it was lost.
    for (const before of [CHUNK - 11, CHUNK - 5, CHUNK - 1, 2 * CHUNK - 7]) {
      const text = `${'x'.repeat(before)} CUST-000123 ${'y'.repeat(100)}`;
      expect(countFindings(text, det), `value at ${before}`).toEqual({
        'customer-id': oracle(text, 'CUST-\\d{6}'),
      });
    }
  });

  it('a pattern that holds field delimiters counts every match of a minified JSON read in 256 Ki pieces', () => {
    // A JSON key with its value is the natural policy pattern for JSON exports; the counter cut each piece of
    // a long line at its first and last field delimiter ('"', ',', '}'), which split such a match in two.
    const regex = '"cid":"\\d{5}"';
    const det = makeDetectors([{ name: 'cid', regex }]);
    const rows = Array.from({ length: 40_000 }, (_, i) => ({
      cid: String(10_000 + i),
      note: 'n'.repeat(i % 23),
    }));
    const text = JSON.stringify(rows);
    expect(text.length).toBeGreaterThan(4 * 256 * 1024);
    const want = oracle(text, regex);
    expect(want).toBe(40_000);
    for (const offset of [0, 1, 7, 13, 100]) {
      expect(streamed(text, det, 256 * 1024, offset), `offset ${offset}`).toEqual({ cid: want });
    }
  });

  it('gives the regex oracle count wherever pieces of one long line are cut', () => {
    const regex = '[Kk]unde;\\d{4}';
    const det = makeDetectors([{ name: 'kunde', regex }]);
    const text = Array.from({ length: 3_000 }, (_, i) => `Kunde;${1000 + i};x|`).join('');
    const want = oracle(text, regex);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 16 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const counter = new FindingCounter(det, 64);
        let from = 0;
        for (const p of [...points, text.length]) {
          counter.push(text.slice(from, p));
          from = p;
        }
        expect(counter.end()).toEqual({ kunde: want });
      }),
      { numRuns: 50 },
    );
  });
});

describe('built-ins on long lines without field delimiters (adversarial review)', () => {
  const det = makeDetectors();
  // Values grouped by spaces (an IBAN, a phone, a card) in prose: the counter cut a line longer than its
  // carry at the last space, splitting the value there; old Mac text (CR line ends) is one such line.
  const words = [
    'the',
    'client',
    'paid',
    'from',
    'GB82 WEST 1234 5698 7654 32',
    '+44 20 7946 0958',
    '4111 1111 1111 1111',
    'AB 12 34 56 C',
    'é',
    'Ref',
    'ACME',
    '2024',
  ];
  function prose(n: number, seed: number, end: string): string {
    let s = seed;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      out.push(words[s % words.length] ?? '');
      if (s % 17 === 0) out.push(end);
    }
    return out.join(' ');
  }

  it.each([
    ['spaces only', ''],
    ['CR line ends', '\r'],
  ])('%s: the counts of one call, read in 256 Ki pieces', (_label, end) => {
    const text = prose(200_000, 5, end);
    expect(text.includes(',')).toBe(false);
    const whole = countFindings(text, det);
    expect(whole.iban).toBeGreaterThan(1000);
    for (const offset of [0, 3, 11])
      expect(streamed(text, det, 256 * 1024, offset), `offset ${offset}`).toEqual(whole);
  });
});

describe('built-ins on long runs with no delimiter and no safe space', () => {
  // Past 64 Ki characters with no field delimiter and no space that ends every value, the counter cut the
  // line at any space, else anywhere: a value across that cut was missed or counted as a shorter value.
  const det = makeDetectors();
  function run(words: readonly string[], join: string, n: number, seed: number): string {
    let s = seed;
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      out.push(words[s % words.length] ?? '');
    }
    return out.join(join);
  }

  it.each([
    [
      'values and codes split by spaces',
      [
        'GB82 WEST 1234 5698 7654 32',
        '+44 20 7946 0958',
        '4111 1111 1111 1111',
        'AB 12 34 56 C',
        'REF',
        '2024',
        '123-45-6789',
        '(415) 555-2671',
      ],
      ' ',
    ],
    [
      'values split by # (no space at all)',
      [
        'GB82WEST12345698765432',
        '+442079460958',
        '4111111111111111',
        'AB123456C',
        '123-45-6789',
        'ann@example.com',
        'X',
      ],
      '#',
    ],
  ])('%s: the counts of one call, whatever the pieces', (_label, words, join) => {
    const text = run(words, join, 40_000, 7);
    expect(/[,;\t"<>|}\]\r\n]/.test(text)).toBe(false);
    const whole = countFindings(text, det);
    expect(Object.values(whole).reduce((a, b) => a + b, 0)).toBeGreaterThan(10_000);
    for (const piece of [256 * 1024, 65_521, 4_099])
      for (const offset of [0, 3, 11, 29])
        expect(streamed(text, det, piece, offset), `piece ${piece} offset ${offset}`).toEqual(whole);
  });

  it('gives the counts of one call wherever the pieces of such a run are cut (small carry)', () => {
    const text = run(
      ['4111 1111 1111 1111', '+44 20 7946 0958', 'GB82 WEST 1234 5698 7654 32', 'Z'],
      ' ',
      600,
      3,
    );
    const whole = countFindings(text, det);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 24 }), (cuts) => {
        const counter = new FindingCounter(det, 256);
        let from = 0;
        for (const p of [...[...new Set(cuts)].sort((a, b) => a - b), text.length]) {
          counter.push(text.slice(from, p));
          from = p;
        }
        expect(counter.end()).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });
});

describe('audit find on decomposed text (adversarial review)', () => {
  // The terms are NFC; the content was searched as it is. A name typed as "Müller" (NFC) was not found in a
  // text that writes it decomposed (u + U+0308: macOS, PDF text layers), also when a piece border falls
  // between the letter and its mark. An erasure request missed the file.
  it.each([0, 1, 2, 3, 4])('finds an NFC term in NFD content cut at %i', (cut) => {
    const finder = makeFinder(['Müller', 'josé@example.com']);
    const text = 'Kunde: Mu\u0308ller, jose\u0301@example.com\n';
    const at = text.indexOf('\u0308') - 2 + cut;
    const stream = new FindStream(finder);
    stream.push(text.slice(0, at));
    stream.push(text.slice(at));
    expect(stream.matched()).toEqual(['Müller', 'josé@example.com']);
  });
});
