import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCofferError } from '../../../../crypto/errors.js';
import { compilePatterns, countCustom } from './custom.js';
import {
  countFindings,
  FindingCounter,
  FindStream,
  makeDetectors,
  makeFinder,
  type Findings,
} from './index.js';

const d = makeDetectors();
const count = (text: string): Findings => countFindings(text, d);

describe('email', () => {
  it('counts valid addresses, each once', () => {
    expect(
      count('To: john.doe@example.com, "Jane" <jane_smith+news@mail.example.co.uk>; o\'brien@ex-ample.org.'),
    ).toEqual({ email: 3 });
  });
  it('does not count what is not an address', () => {
    expect(
      count(
        'john@localhost, @example.com, john..doe@example.com, .@x.com, a@b.c, x@-bad.com, me@exa_mple.com',
      ),
    ).toEqual({});
  });
});

describe('phone', () => {
  it.each([
    ['+44 20 7946 0958'],
    ['+1 (415) 555-2671'],
    ['+33.1.23.45.67.89'],
    ['+447700900123'],
    ['+44 (0)20 7946 0958'],
    ['0044 20 7946 0958'],
    ['00 44 20 7946 0958'],
    ['(+44) 20 7946 0958'],
    ['(+1) 415-555-2671'],
    ['(415) 555-2671'],
    ['(415)555-2671'],
    ['415-555-2671'],
    ['415.555.2671'],
    ['415 555 2671'],
    ['1-415-555-2671'],
    ['020 7946 0958'],
    ['07700 900123'],
    ['01 23 45 67 89'],
    ['(030) 901820'],
    ['020-1234567'],
  ])('counts %s', (phone) => {
    expect(count(`call ${phone} today`)).toEqual({ phone: 1 });
  });

  it.each([
    ['2024-01-15'],
    ['15.01.2024'],
    ['12/05/2024'],
    ['01-02-2024'],
    ['01 02 2024'],
    ['v1.2.3'],
    ['1.2.3.4'],
    ['192.168.100.200'],
    ['1.234.567,89'],
    ['3.14159'],
    ['4155552671'],
    ['07700900123'],
    ['555-2671'],
    ['+12 345'],
    ['+0 20 7946 0958'],
    ['415/555/2671'],
    ['115-555-2671'],
    ['ref-020 7946 0958-x'],
    ['4111 1111 1111 1112'],
    ['4111111111111112'],
    ['123-45-6789-0'],
    ['00 12345678'],
    ['00 1234 5678'],
    ['000 1234 5678'],
    ['(+44) 20'],
    ['(+44 20 7946 0958'],
  ])('does not count %s', (notPhone) => {
    expect(count(`value ${notPhone} here`)).toEqual({});
  });
});

describe('payment-card', () => {
  it('counts Luhn-valid numbers of known issuers, bare or grouped by spaces or dashes', () => {
    const cards = [
      '4111 1111 1111 1111', // Visa
      '4111-1111-1111-1111',
      '4111111111111111',
      '5555 5555 5555 4444', // Mastercard
      '2223 0031 2200 3222', // Mastercard 2-series
      '3782 822463 10005', // Amex
      '6011 1111 1111 1117', // Discover
      '3530 1113 3330 0000', // JCB
      '3056 9309 0259 04', // Diners
    ];
    expect(count(cards.join(', '))).toEqual({ 'payment-card': cards.length });
  });
  it('does not count bad Luhn, unknown prefixes, wrong lengths or mixed separators', () => {
    const decoys = [
      '4111 1111 1111 1112', // bad Luhn
      '1234 5678 9012 3452', // Luhn-valid, no issuer starts with 1
      '3782 822463 100050', // Amex prefix, 16 digits (Amex is 15)
      '4111-1111 1111-1111', // mixed separators
      '41 1111 1111 1111 11', // first group of 2
    ];
    expect(count(decoys.join(', '))).toEqual({});
  });
});

describe('us-ssn', () => {
  it('counts valid numbers with dashes or spaces', () => {
    expect(count('SSN 123-45-6789 and 123 45 6789 and 772-01-2345')).toEqual({ 'us-ssn': 3 });
  });
  it('does not count area 000/666/9xx, group 00, serial 0000, voided numbers, or bare 9-digit runs', () => {
    expect(
      count(
        '000-12-3456 666-12-3456 900-12-3456 999-12-3456 123-00-4567 123-45-0000 078-05-1120 219-09-9999 123456789',
      ),
    ).toEqual({});
  });
});

describe('uk-nino', () => {
  it('counts valid numbers, bare or spaced', () => {
    expect(count('NINO AB123456C, AB 12 34 56 C and JG103759A.')).toEqual({ 'uk-nino': 3 });
  });
  it('does not count bad prefixes or suffixes', () => {
    expect(
      count(
        'DA123456A FA123456A QQ123456C AO123456A BG123456A GB123456A NK123456A TN123456A ZZ123456A AB123456E',
      ),
    ).toEqual({});
  });
});

describe('iban', () => {
  it('counts IBANs whose mod-97 and country length hold, bare or in groups of four', () => {
    expect(
      count(
        'GB82 WEST 1234 5698 7654 32, DE89370400440532013000, FR1420041010050500013M02606, NO9386011117947',
      ),
    ).toEqual({ iban: 4 });
  });
  it('does not count a bad check, a wrong length, an unknown country or a broken grouping', () => {
    expect(
      count(
        'GB82 WEST 1234 5698 7654 33, DE8937040044053201300, XX89370400440532013000, GB82 WES T123 4569 8765 432',
      ),
    ).toEqual({});
  });
});

describe('one text, every detector', () => {
  it('counts each value once, under one detector', () => {
    const text = [
      'name,email,phone,card,ssn,nino,iban',
      'Ann,ann@example.com,+44 20 7946 0958,4111 1111 1111 1111,123-45-6789,AB123456C,GB82WEST12345698765432',
      'Bob,bob@example.org,(415) 555-2671,5555-5555-5555-4444,772-01-2345,JG103759A,DE89 3704 0044 0532 0130 00',
      'Eve,not-an-email,2024-01-15,4111 1111 1111 1112,000-12-3456,QQ123456C,GB82WEST12345698765433',
    ].join('\n');
    expect(count(text)).toEqual({
      email: 2,
      phone: 2,
      'payment-card': 2,
      'us-ssn': 2,
      'uk-nino': 2,
      iban: 2,
    });
  });

  it('findings hold counts only, never a matched value', () => {
    const findings = count('ann@example.com 4111 1111 1111 1111 AB123456C');
    for (const [name, n] of Object.entries(findings)) {
      expect(d.names).toContain(name);
      expect(typeof n).toBe('number');
    }
    expect(JSON.stringify(findings)).not.toMatch(/ann|4111|AB12/);
  });

  it('does not hang or blow up on adversarial text', () => {
    const nasty = [
      '@'.repeat(100_000),
      'a@'.repeat(100_000),
      `x@${'a'.repeat(200_000)}`,
      '1-'.repeat(100_000),
      '(1'.repeat(100_000),
      '+1 '.repeat(100_000),
      'GB82 '.repeat(100_000),
      `${'a.'.repeat(100_000)}@example.com`,
    ];
    const started = performance.now();
    for (const text of nasty) count(text);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('policy patterns (customerDataPatterns)', () => {
  it('counts matches per pattern name, with optional /…/m or /…/s flags', () => {
    const det = makeDetectors([
      { name: 'customer-id', regex: 'CUST-\\d{6}\\b' },
      { name: 'contract', regex: '/[Cc][Tt][Rr]-[a-zA-Z]{3}\\d{4}$/m' },
    ]);
    expect(countFindings('CUST-123456 CUST-1234567 ctr-abc1234\nCTR-XYZ9999\nctr-abc1234 no', det)).toEqual({
      'customer-id': 1,
      contract: 2,
    });
    expect(det.names).toEqual([
      'email',
      'phone',
      'iban',
      'payment-card',
      'us-ssn',
      'uk-nino',
      'customer-id',
      'contract',
    ]);
  });

  it.each([
    [{ name: 'bad', regex: 'CUST-(\\d{6}' }, /not a valid regular expression/],
    [{ name: 'backref', regex: '(a)\\1' }, /back-reference/],
    [{ name: 'lookahead', regex: 'x(?=y)' }, /look-around/],
    [{ name: 'empty', regex: 'a*' }, /matches empty text/],
    [{ name: 'email', regex: 'x' }, /already used/],
    [{ name: 'has space', regex: 'x' }, /name must be/],
    [{ name: 'flags', regex: '/x/g' }, /only the flags/],
    [{ name: 'nocase', regex: '/x/i' }, /for any case write/],
    [{ name: 'long', regex: 'x'.repeat(501) }, /1 to 500 characters/],
  ])('rejects %o with a clear error', (pattern, message) => {
    let caught: unknown;
    try {
      makeDetectors([pattern]);
    } catch (error) {
      caught = error;
    }
    expect(isCofferError(caught, 'AUDIT_PATTERN_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toContain(pattern.name);
  });

  it('a pattern over its time budget on one text stops with AUDIT_PATTERN_SLOW', () => {
    const [compiled] = compilePatterns([{ name: 'slowish', regex: '(x+x+)+y' }], []);
    if (compiled === undefined) throw new Error('not compiled');
    const text = `${'x'.repeat(2_000)}\n`.repeat(200);
    let caught: unknown;
    try {
      countCustom(text, compiled, 0);
    } catch (error) {
      caught = error;
    }
    expect(isCofferError(caught, 'AUDIT_PATTERN_SLOW')).toBe(true);
    expect((caught as Error).message).toContain('"slowish"');
  });

  it('a catastrophic-backtracking pattern finishes in bounded time', () => {
    // The same match without the linear-time fallback does not finish (checked in a child with a timeout).
    const script = "const s='a'.repeat(40)+'c'; /(a+)+b/.exec(s); console.log('done')";
    const bare = spawnSync(process.execPath, ['-e', script], { timeout: 3_000, encoding: 'utf8' });
    expect(bare.stdout).not.toContain('done');

    const det = makeDetectors([{ name: 'evil', regex: '(a+)+b' }]);
    const text = `${'a'.repeat(5_000)}c\n`.repeat(20) + 'aab';
    const started = performance.now();
    expect(countFindings(text, det)).toEqual({ evil: 1 });
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe('FindingCounter (text in chunks)', () => {
  const sample = [
    'ann@example.com,+44 20 7946 0958,4111 1111 1111 1111,123-45-6789,AB123456C,GB82 WEST 1234 5698 7654 32',
    'bob@example.org,(415) 555-2671,5555-5555-5555-4444,772-01-2345,JG103759A,DE89370400440532013000 CUST-000123',
  ].join('\n');
  const det = makeDetectors([{ name: 'customer-id', regex: 'CUST-\\d{6}' }]);

  it('gives the same counts as one call, wherever the chunks are cut', () => {
    const text = `${sample}\n`.repeat(3);
    const whole = countFindings(text, det);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const counter = new FindingCounter(det);
        let from = 0;
        for (const p of [...points, text.length]) {
          counter.push(text.slice(from, p));
          from = p;
        }
        expect(counter.end()).toEqual(whole);
      }),
    );
  });

  it('counts a value cut by a chunk border once on a line longer than the carry (minified JSON)', () => {
    // No line break at all: the counter cuts the carried line at its last field delimiter.
    const text = JSON.stringify({ rows: `${sample}\n`.repeat(4).split('\n') });
    const whole = countFindings(text, det);
    expect(whole['payment-card']).toBe(8);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 24 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const counter = new FindingCounter(det, 64);
        let from = 0;
        for (const p of [...points, text.length]) {
          counter.push(text.slice(from, p));
          from = p;
        }
        expect(counter.end()).toEqual(whole);
      }),
    );
  });

  it('keeps memory bounded on a text without line breaks', () => {
    const counter = new FindingCounter(det, 1024);
    for (let k = 0; k < 1000; k++) counter.push('ann@example.com '.repeat(10));
    expect(counter.end()).toEqual({ email: 10_000 });
  });
});

describe('values side by side on one line (adversarial review)', () => {
  // A digit run joined by single spaces was read as ONE token: two values separated by a space (a PDF table
  // row, whose cells pdf-read.ts joins with spaces; a space-aligned report) fitted no shape and counted
  // nothing. Each of these counted {} before.
  it.each([
    ['Ann Smith 1980-01-02 123-45-6789', { 'us-ssn': 1 }],
    ['Ann Smith 123-45-6789 555-867-5309', { 'us-ssn': 1, phone: 1 }],
    ['123-45-6789 772-01-2345', { 'us-ssn': 2 }],
    ['4111 1111 1111 1111 12/25', { 'payment-card': 1 }],
    ['card 4111111111111111 123', { 'payment-card': 1 }],
    ['+44 20 7946 0958 123-45-6789', { phone: 1, 'us-ssn': 1 }],
    ['12 4111 1111 1111 1111', { 'payment-card': 1 }],
    ['1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 123-45-6789', { 'us-ssn': 1 }],
  ])('%s', (text, want) => {
    expect(countFindings(text, makeDetectors())).toEqual(want);
  });

  it('a decoy stays a decoy: its parts are not counted on their own', () => {
    const det = makeDetectors();
    expect(countFindings('4111 1111 1111 1112', det)).toEqual({}); // bad Luhn
    expect(countFindings('666-12-3456 000-12-3456', det)).toEqual({}); // invalid SSNs side by side
    expect(countFindings('ref-7 123-45-6789', det)).toEqual({ 'us-ssn': 1 }); // "ref-7" is not a value
    expect(countFindings('123-45-6789 55-X', det)).toEqual({ 'us-ssn': 1 });
    expect(countFindings('123-45-6789 5-X', det)).toEqual({ 'us-ssn': 1 });
  });
});

describe('policy patterns under attack (adversarial review)', () => {
  // The 5 s budget is per file (README): a streamed file is counted push by push, and each push used to get
  // a fresh budget, so a pattern at ~1 s per 64 Ki characters held a worker for hours on a 1 GB CSV.
  it('the time budget holds over a whole streamed file, not per pushed piece', () => {
    const det = makeDetectors([{ name: 'slow-stream', regex: '(a|aa)+c' }]);
    const piece = `${'a'.repeat(30)}b aac\n`.repeat(200); // ~7 KiB: well under the budget on its own
    const counter = new FindingCounter(det);
    const started = performance.now();
    let caught: unknown;
    try {
      while (performance.now() - started < 15_000) counter.push(piece);
    } catch (error) {
      caught = error;
    }
    expect(isCofferError(caught, 'AUDIT_PATTERN_SLOW')).toBe(true);
    expect((caught as Error).message).toContain('"slow-stream"');
  }, 30_000);
});

describe('find (audit find TERM…)', () => {
  it('finds terms case-insensitively in the name and in content cut across chunks', () => {
    const finder = makeFinder(['Ann@Example.com', 'CUST-000123', 'Müller', 'absent']);
    const s = new FindStream(finder);
    s.name('report-cust-000123.csv');
    s.push('Dear Mr MÜLL');
    s.push('ER, your address ann@exa');
    s.push('mple.COM is on file.');
    expect(s.matched()).toEqual(['Ann@Example.com', 'CUST-000123', 'Müller']);
    expect(s.complete).toBe(false);
  });

  it('rejects an empty term list', () => {
    expect(() => makeFinder(['', '  '])).toThrow(/No term/);
  });
});
