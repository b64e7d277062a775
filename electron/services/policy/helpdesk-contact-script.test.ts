/**
 * Review of issue 12 item 6 (policy `helpdeskContact`, printed on the recovery kit). A contact written in
 * Persian needs the zero-width non-joiner (U+200C) inside words ("پشتیبانی‌فنی", its standard spelling),
 * Hindi and Malayalam conjuncts need U+200C/U+200D, emoji sequences U+200D: it was refused as "not one line
 * of plain text", which makes the WHOLE policy invalid (Coffer then refuses new protection on every laptop
 * it reaches). Direction controls stay refused. Lone surrogates (half a character; shown as "�") and
 * private-use characters (a glyph only some fonts draw, or none on the printer) are not text: refused.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from './schema.js';

const ctx = { parseRecoveryPublicKey: () => new Uint8Array(32), homeDir: '/home/ada' };
const contactOf = (helpdeskContact: string) => {
  const parsed = parsePolicy({ helpdeskContact }, ctx);
  return parsed.ok ? (parsed.policy.helpdeskContact ?? '(none)') : parsed.problems.join('; ');
};

describe('helpdeskContact in every script', () => {
  it.each([
    ['Persian with its zero-width non-joiner', 'پشتیبانی\u200cفنی ۰۲۱-۵۵۵۰۱۰۰'],
    ['Hindi with a zero-width joiner', 'आईटी सहायता क्\u200dष 011-555-0100'],
    ['an emoji sequence', 'IT desk 👩\u200d💻 ext. 100'],
  ])('takes %s', (_name, text) => {
    expect(contactOf(text)).toBe(text);
  });

  it.each([
    ['a right-to-left override', 'IT \u202edesk'],
    ['a right-to-left isolate', 'IT \u2067desk\u2069'],
    ['a lone surrogate', 'IT \ud800 desk'],
    ['a private-use character', 'IT \ue000 desk'],
  ])('refuses %s', (_name, text) => {
    expect(contactOf(text)).toBe('helpdeskContact: must be one line of plain text');
  });
});
