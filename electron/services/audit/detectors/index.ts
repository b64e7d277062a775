/**
 * Customer-data detectors for the data audit (issue 11 item 1). Public surface for the scanner:
 *
 * - `makeDetectors(patterns)` compiles the built-in detectors plus the policy's `customerDataPatterns`
 *   once (throws `CofferError('AUDIT_PATTERN_INVALID')` for a bad or unsafe policy pattern);
 * - `countFindings(text, d)` counts validated matches per detector in one text, keeping NO matched value;
 * - `FindingCounter` does the same over a text that arrives in chunks (big plain-text files), with bounded
 *   memory and no match lost at a chunk border;
 * - `makeFinder(terms)` / `FindStream` answer `audit find TERM…` (case-insensitive, on name and content).
 *
 * What each built-in detector counts is written in detectors/README.md.
 */
import { LOOKBEHIND, scanBuiltIns, scanBuiltInsUntil } from './builtin.js';
import {
  compilePatterns,
  countCustom,
  countPatternRange,
  OVERLAP,
  PATTERN_BUDGET_MS,
  type CompiledPattern,
} from './custom.js';

export { makeFinder, FindStream, type Finder } from './find.js';
export { RG_PATTERNS } from './rg-patterns.js';

export const BUILT_IN_DETECTORS = ['email', 'phone', 'iban', 'payment-card', 'us-ssn', 'uk-nino'] as const;
export type BuiltInDetectorName = (typeof BUILT_IN_DETECTORS)[number];
/** A built-in name, or the `name` of one of the policy's `customerDataPatterns`. */
export type DetectorName = BuiltInDetectorName | (string & Record<never, never>);

/** One organization pattern from policy `customerDataPatterns`. */
export interface CustomerDataPattern {
  readonly name: string;
  readonly regex: string;
}

/** Counts per detector; only detectors with at least one finding appear. Never holds a matched value. */
export type Findings = Record<string, number>;

/** Compiled detectors: build once per scan (or per worker) and reuse for every file. */
export interface Detectors {
  /** Every detector name, built-ins first, then the policy patterns in policy order. */
  readonly names: readonly DetectorName[];
  /** @internal compiled policy patterns */
  readonly custom: readonly CompiledPattern[];
}

export function makeDetectors(patterns: readonly CustomerDataPattern[] = []): Detectors {
  const custom = compilePatterns(patterns, BUILT_IN_DETECTORS);
  return { names: [...BUILT_IN_DETECTORS, ...custom.map((c) => c.name)], custom };
}

/** Counts findings per detector in `text`. Pure; only non-zero counts are returned. */
export function countFindings(text: string, d: Detectors): Findings {
  const out: Findings = {};
  countInto(text, 0, text.length, d, out);
  return out;
}

/**
 * Adds the findings of `text[from, to)` into `out`; a range inside a text must be whole lines. `spent`
 * (one entry per policy pattern, in ms) carries each pattern's time over the calls for one file, so the
 * budget is per file even when the file is counted piece by piece.
 */
function countInto(
  text: string,
  from: number,
  to: number,
  d: Detectors,
  out: Findings,
  spent: number[] = [],
): void {
  scanBuiltIns(text, out, from, to);
  d.custom.forEach((c, i) => {
    const before = spent[i] ?? 0;
    const started = performance.now();
    const n = countCustom(text, c, PATTERN_BUDGET_MS, from, to, before);
    spent[i] = before + performance.now() - started;
    if (n > 0) out[c.name] = (out[c.name] ?? 0) + n;
  });
}

/** Adds `more` into `into` (in place) and returns `into`. */
export function addFindings(into: Findings, more: Readonly<Findings>): Findings {
  for (const [name, n] of Object.entries(more)) into[name] = (into[name] ?? 0) + n;
  return into;
}

/**
 * Char codes of , ; TAB " < > | } ] and CR (FindingCounter.cutLongLine): no value holds one. CR: a text
 * with CR line ends (classic Mac) has no '\n' at all and is one long line to the counter.
 */
const FIELD_DELIMITER = new Uint8Array(128);
for (const c of ',;\t"<>|}]\r') FIELD_DELIMITER[c.charCodeAt(0)] = 1;

/**
 * Char codes that may end a part of a value that goes on after a space (builtin.ts: digit groups, an IBAN's
 * or a NINO's groups, "(0)", "+44"): digits, upper-case letters and ( ) + - . /. A space after any other
 * character (a lower-case word, an e-mail, non-ASCII) ends every value, so the text may be cut there.
 */
const MAY_GO_ON = new Uint8Array(128);
for (let c = 48; c <= 57; c++) MAY_GO_ON[c] = 1;
for (let c = 65; c <= 90; c++) MAY_GO_ON[c] = 1;
for (const c of '()+-./ ') MAY_GO_ON[c.charCodeAt(0)] = 1;

/** Index just after the last space after `min` that no value crosses (see MAY_GO_ON); 0: none. */
function afterLastSafeSpace(text: string, min: number): number {
  for (let i = text.length - 1; i > min; i--) {
    if (text.charCodeAt(i) !== 32) continue;
    const before = text.charCodeAt(i - 1);
    if (before >= 128 || MAY_GO_ON[before] !== 1) return i + 1;
  }
  return 0;
}

/**
 * Index just after the last field delimiter of `text` (0: none). One backward pass that stops at the first
 * delimiter it meets: a lastIndexOf per delimiter read the whole carried line once for each delimiter absent
 * from it, which cost as much again as counting a minified JSON file (profiled).
 */
function afterFirstDelimiter(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && FIELD_DELIMITER[c] === 1) return i + 1;
  }
  return 0;
}

function afterLastDelimiter(text: string, min = 0): number {
  for (let i = text.length - 1; i >= min; i--) {
    const c = text.charCodeAt(i);
    if (c < 128 && FIELD_DELIMITER[c] === 1) return i + 1;
  }
  return 0;
}

/**
 * Counts findings over a text given in chunks (e.g. a 1 GB CSV decoded piece by piece). The built-ins: a
 * chunk is scanned up to its last line break; the rest is carried into the next chunk, so a value is never
 * cut in two (values never span a line). A line longer than `maxCarry` characters is cut at a field
 * delimiter, else at a space no value crosses, else between two tokens with context kept (cutLongLine):
 * the counts are those of one scan of the whole line. The policy patterns are not cut there (a pattern may hold
 * a delimiter, e.g. a JSON key and its value): they read the text as it comes, each match counted where it
 * starts, with OVERLAP characters kept for a match that runs into the next chunk (custom.ts).
 */
export class FindingCounter {
  private carry = '';
  /**
   * Where the built-ins' next scan of the carry begins: what comes before was counted already and is kept
   * only as context (cutLongLine: a long run with no place that ends every value).
   */
  private carryStart = 0;
  private readonly totals: Findings = {};
  /** Time each policy pattern has taken on this file so far (its budget is per file, not per piece). */
  private readonly spent: number[] = [];

  /** The policy patterns' unread text (at most ~OVERLAP characters between pushes) and where each resumes. */
  private customText = '';
  private readonly customFrom: number[];

  constructor(
    private readonly detectors: Detectors,
    private readonly maxCarry = 64 * 1024,
  ) {
    this.customFrom = detectors.custom.map(() => 0);
  }

  private pushCustom(text: string): void {
    if (this.detectors.custom.length === 0) return;
    this.customText += text;
    if (this.customText.length > 2 * OVERLAP) this.countCustom(false);
  }

  /**
   * Counts each policy pattern's matches that start before the last OVERLAP characters (all of them when
   * `final`) and keeps the text from where the furthest-behind pattern resumes (one character before it,
   * as the regex's context).
   */
  private countCustom(final: boolean): void {
    const text = this.customText;
    const stop = final ? text.length : text.length - OVERLAP;
    let keep = text.length;
    this.detectors.custom.forEach((c, i) => {
      const from = this.customFrom[i] ?? 0;
      let next = from;
      if (from < stop) {
        const before = this.spent[i] ?? 0;
        const started = performance.now();
        const r = countPatternRange(text, c, from, stop, text.length, PATTERN_BUDGET_MS, before);
        this.spent[i] = before + performance.now() - started;
        if (r.n > 0) this.totals[c.name] = (this.totals[c.name] ?? 0) + r.n;
        next = r.next;
      }
      this.customFrom[i] = next;
      keep = Math.min(keep, Math.max(0, next - 1));
    });
    if (final) return;
    this.customText = text.slice(keep);
    for (let i = 0; i < this.customFrom.length; i++) this.customFrom[i] = (this.customFrom[i] ?? 0) - keep;
  }

  push(text: string): void {
    this.pushCustom(text);
    const last = text.lastIndexOf('\n');
    if (last < 0) {
      if (this.carry.length + text.length > this.maxCarry && this.cutInPlace(text)) return;
      this.carry += text;
      if (this.carry.length > this.maxCarry) this.cutLongLine();
      return;
    }
    // The line the carry started, then the chunk's whole lines in place (no copy of the chunk), and its
    // last, unfinished line carried.
    const first = text.indexOf('\n');
    const head = this.carry + text.slice(0, first + 1);
    scanBuiltIns(head, this.totals, this.carryStart);
    if (last > first) scanBuiltIns(text, this.totals, first + 1, last + 1);
    this.carry = text.slice(last + 1);
    this.carryStart = 0;
  }

  /**
   * A piece of one huge line that holds a field delimiter: counted in place up to its last delimiter, the
   * way a piece with line breaks is (a delimiter bounds a value as a line break does: no value holds one,
   * and the detectors read nothing past one); only its first field joins the carry. Appending the piece to
   * the carry made V8 flatten ~256 Ki characters per piece (profiled). False: no delimiter in the piece.
   */
  private cutInPlace(text: string): boolean {
    const cut = afterLastDelimiter(text);
    if (cut === 0) return false;
    const first = afterFirstDelimiter(text);
    const head = this.carry + text.slice(0, first);
    scanBuiltIns(head, this.totals, this.carryStart);
    if (cut > first) scanBuiltIns(text, this.totals, first, cut);
    this.carry = text.slice(cut);
    this.carryStart = 0;
    return true;
  }

  /**
   * One huge line (minified JSON, a log): scanned up to its last field delimiter, which no value contains;
   * else up to its last space that no value crosses (afterLastSafeSpace: prose, text with CR line ends
   * before CR was a delimiter). A run with neither (values and codes split by spaces, or by '#'; a cut at
   * any space split a grouped card or IBAN, one anywhere any value) is scanned up to the end of its last
   * token that surely ends in it (scanBuiltInsUntil), and the rest carried with LOOKBEHIND characters of
   * context before it: the counts are those of one scan of the whole line.
   */
  private cutLongLine(): void {
    const all = this.carry;
    const from = this.carryStart;
    let cut = afterLastDelimiter(all, from);
    if (cut === 0) cut = afterLastSafeSpace(all, from);
    if (cut > 0) {
      // Scanned as a string of its own, so the range rule (whole lines) does not apply.
      scanBuiltIns(all.slice(0, cut), this.totals, from);
      this.carry = all.slice(cut);
      this.carryStart = 0;
      return;
    }
    // Half the carry's bound is left unread, so that the last token read surely ends before the text does;
    // a token of more than ~3 bounds (a run of letters or digits) is read as if it ended there.
    const stop = all.length - Math.min(4096, this.maxCarry >> 1);
    const next = scanBuiltInsUntil(all, this.totals, from, stop, all.length > 4 * this.maxCarry);
    const keep = Math.max(0, next - LOOKBEHIND);
    this.carry = all.slice(keep);
    this.carryStart = next - keep;
  }

  /** Scans what is left and returns the totals. */
  end(): Findings {
    const rest = this.carry;
    if (rest.length > this.carryStart) scanBuiltIns(rest, this.totals, this.carryStart);
    this.carry = '';
    this.carryStart = 0;
    this.countCustom(true);
    this.customText = '';
    return { ...this.totals };
  }
}
