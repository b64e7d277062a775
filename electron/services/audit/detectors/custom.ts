/**
 * Organization patterns from policy `customerDataPatterns` ({name, regex}): compiled once, rejected with a
 * clear error when invalid or unsafe, then counted with bounded time.
 *
 * Catastrophic backtracking ("(a+)+b" on "aaaa…c") is guarded at two depths:
 * 1. V8 runs a regex on its backtracking engine (fast) and, after an excessive number of backtracks, falls
 *    back to its linear-time engine for that match (flag set below, process-wide, before any policy regex
 *    is compiled). A pattern that the linear engine cannot run (back-references, look-around, very large
 *    counted repetition) could not fall back, so it is rejected when the policy is loaded.
 * 2. The text is matched in windows of CHUNK characters (each read OVERLAP further, so that no match is cut),
 *    and a pattern that spends more than `budgetMs` on one text throws AUDIT_PATTERN_SLOW instead of
 *    holding the worker.
 */
import v8 from 'node:v8';
import { CofferError } from '../../../../crypto/errors.js';

v8.setFlagsFromString('--enable-experimental-regexp-engine');
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

export interface CompiledPattern {
  readonly name: string;
  readonly re: RegExp;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/i;
const MAX_SOURCE = 500;
/** Characters whose matches are counted in one go (a window; see OVERLAP for matches across its end). */
export const CHUNK = 64 * 1024;
/** Time one pattern may spend on one text (one countFindings call) before it is given up as too slow. */
export const PATTERN_BUDGET_MS = 5_000;

const HINT =
  'Fix the pattern in the policy: a JavaScript regular expression, optionally written /…/m or /…/s, without ' +
  'back-references or look-around. Then scan again.';

function invalid(name: string, why: string): CofferError {
  return new CofferError('AUDIT_PATTERN_INVALID', `Policy customerDataPatterns "${name}": ${why}.`, HINT);
}

/** Splits "/source/flags" into its parts; a plain string is the source with no flags. */
function parse(regex: string): { source: string; flags: string } {
  const m = /^\/(.+)\/([a-z]*)$/s.exec(regex);
  return m === null ? { source: regex, flags: '' } : { source: m[1] ?? '', flags: m[2] ?? '' };
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
      throw invalid(p.name, `the regex must be 1 to ${MAX_SOURCE} characters long`);
    const { source, flags } = parse(p.regex);
    // V8's linear-time engine (the fallback that bounds the time) runs neither i nor u: write [Cc] instead.
    if (!/^[ms]*$/.test(flags))
      throw invalid(p.name, `only the flags m and s are allowed (got "${flags}"); for any case write [Aa]`);
    let re: RegExp;
    try {
      re = new RegExp(source, `g${flags}`);
    } catch (error) {
      throw invalid(p.name, `not a valid regular expression (${(error as Error).message})`);
    }
    try {
      new RegExp(source, `l${flags}`);
    } catch {
      throw invalid(
        p.name,
        'it uses a back-reference, a look-around or a very large repetition count, which cannot be matched in bounded time',
      );
    }
    if (re.test('')) throw invalid(p.name, 'the regex matches empty text, so it would match everywhere');
    re.lastIndex = 0;
    return { name: p.name, re };
  });
}

/**
 * Longest policy match (characters) counted across the end of a match window or of a streamed piece: each
 * window is read OVERLAP characters past its end, so a match that starts in it is seen whole. The windows
 * used to be cut at a line break, or anywhere on a line longer than CHUNK (minified JSON), and the match
 * that straddled the cut was lost.
 */
export const OVERLAP = 4 * 1024;

/**
 * Counts the non-overlapping matches of `c` that START in text[from, stop), as one /g search over the whole
 * text would, reading text up to `limit` (>= stop; past `stop` only to finish a match). Window by window
 * (CHUNK characters, plus OVERLAP), within `budgetMs` for the file of which `spentMs` is already spent.
 * `next`: where a later search resumes (>= stop: past the end of a match that crossed `stop`). The
 * character before `from` is given to the regex as context (for \b and ^ with the m flag), never matched.
 */
export function countPatternRange(
  text: string,
  c: CompiledPattern,
  from: number,
  stop: number,
  limit: number,
  budgetMs = PATTERN_BUDGET_MS,
  spentMs = 0,
): { n: number; next: number } {
  const re = c.re;
  const started = performance.now();
  let n = 0;
  while (from < stop) {
    const bound = Math.min(stop, from + CHUNK);
    const context = from > 0 ? 1 : 0;
    const base = from - context;
    const window = text.slice(base, Math.min(limit, bound + OVERLAP));
    let next = bound;
    re.lastIndex = context;
    for (let m = re.exec(window); m !== null; m = re.exec(window)) {
      const at = base + m.index;
      if (at >= bound) break; // the next window's (or the next piece's) to count
      // An empty match ("\b", "a|") is not a finding, and must not stop the loop from moving on.
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      n++;
      next = Math.max(bound, at + m[0].length);
    }
    from = next;
    if (spentMs + performance.now() - started > budgetMs) {
      throw new CofferError(
        'AUDIT_PATTERN_SLOW',
        `Policy customerDataPatterns "${c.name}" took over ${budgetMs / 1000} s on one file and was stopped.`,
        'Simplify the pattern (avoid nested repetition such as (a+)+), then scan again.',
      );
    }
  }
  return { n, next: from };
}

/**
 * Counts the matches of one pattern in `text` (those that start from `start` to `end`), window by window,
 * within `budgetMs` for the file, of which `spentMs` went on its earlier pieces.
 */
export function countCustom(
  text: string,
  c: CompiledPattern,
  budgetMs = PATTERN_BUDGET_MS,
  start = 0,
  end = text.length,
  spentMs = 0,
): number {
  return countPatternRange(text, c, start, end, end, budgetMs, spentMs).n;
}
