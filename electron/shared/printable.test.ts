import { describe, expect, it } from 'vitest';
import { printable } from './printable.js';

describe('printable', () => {
  it('makes terminal controls, C1 and bidi overrides visible', () => {
    expect(printable('a\u001b]0;owned\u0007b')).toBe('a\\u{1B}]0;owned\\u{7}b');
    expect(printable('line\r\nfake: OK')).toBe('line\\u{D}\\u{A}fake: OK');
    expect(printable('invoice\u202efdp.exe')).toBe('invoice\\u{202E}fdp.exe');
    expect(printable('\u0000\u007f\u0080\u009b\u061c\u200e\u200f\u2028\u2029\u202a\u2066\u2069')).toBe(
      '\\u{0}\\u{7F}\\u{80}\\u{9B}\\u{61C}\\u{200E}\\u{200F}\\u{2028}\\u{2029}\\u{202A}\\u{2066}\\u{2069}',
    );
  });

  it('leaves ordinary names alone, in any script', () => {
    for (const name of [
      'Q3 report (final).xlsx',
      'C:\\Users\\ada\\Résumé.docx',
      'ملف.txt',
      '報告書.pdf',
      '🙂.png',
    ]) {
      expect(printable(name)).toBe(name);
    }
  });
});
