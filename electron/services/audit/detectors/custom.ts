/**
 * Organization patterns from policy `customerDataPatterns` ({name, regex}): compiled once, rejected with a
 * clear error when invalid or unsafe, then counted with bounded work.
 */
import { CofferError } from '../../../../crypto/errors.js';

export interface CompiledPattern {
  readonly name: string;
  readonly re: RegExp;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/i;
const MAX_SOURCE = 500;

function invalid(name: string, why: string): CofferError {
  return new CofferError(
    'AUDIT_PATTERN_INVALID',
    `Policy customerDataPatterns "${name}": ${why}`,
    'Fix the pattern in the policy (a JavaScript regular expression without nested repetition), then scan again.',
  );
}

export function compilePatterns(
  patterns: readonly { readonly name: string; readonly regex: string }[],
  reserved: readonly string[],
): CompiledPattern[] {
  const seen = new Set<string>(reserved);
  return patterns.map((p) => {
    if (!NAME.test(p.name)) throw invalid(p.name, 'the name must be 1-40 letters, digits, "-" or "_"');
    if (seen.has(p.name)) throw invalid(p.name, 'the name is already used by another detector');
    seen.add(p.name);
    if (p.regex.length === 0 || p.regex.length > MAX_SOURCE)
      throw invalid(p.name, `the regex must be 1-${MAX_SOURCE} characters long`);
    let re: RegExp;
    try {
      re = new RegExp(p.regex, 'g');
    } catch (error) {
      throw invalid(p.name, `not a valid regular expression (${(error as Error).message})`);
    }
    if (re.test('')) throw invalid(p.name, 'the regex matches empty text, so it would match everywhere');
    re.lastIndex = 0;
    return { name: p.name, re };
  });
}

export function countCustom(text: string, c: CompiledPattern): number {
  const re = c.re;
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) n++;
  return n;
}
