/**
 * The six built-in detectors in ONE pass over the text, reading char codes (no regex, no substring): a word
 * that starts with a letter is skipped whole unless it starts like an IBAN or a NINO; a run of digits (with
 * single separators) is parsed once as a "number token" and then classified as at most one of SSN, payment
 * card or phone; an '@' triggers the e-mail check around it. Only candidates are validated (checks.ts), and
 * only counts leave this module. The exact rules are in README.md beside this file.
 */
import { ibanLength, ibanMod97, knownCardPrefix, luhnValid, ninoPrefixValid, ssnValid } from './checks.js';
import type { Findings } from './index.js';

// Character classes of the ASCII range; anything >= 128 is "other" (a boundary).
const OTHER = 0;
const DIGIT = 1;
const UPPER = 2;
const LOWER = 3; // lower-case letters and '_': word characters that start nothing
const CLASS = new Uint8Array(128);
for (let c = 48; c <= 57; c++) CLASS[c] = DIGIT;
for (let c = 65; c <= 90; c++) CLASS[c] = UPPER;
for (let c = 97; c <= 122; c++) CLASS[c] = LOWER;
CLASS[95] = LOWER;

const AT = 64;
const PLUS = 43;
const OPEN = 40;
const CLOSE = 41;
const SPACE = 32;
const DASH = 45;
const DOT = 46;
const SLASH = 47;

/**
 * What the main loop does at each UTF-16 code unit, one table lookup for all 65,536 (no range test, no chain of
 * comparisons on the hot path: most characters are letters of words to skip and spaces): ACT_SKIP moves on,
 * the others start a word or a candidate. Word characters are those of CLASS.
 */
const ACT_SKIP = 0;
const ACT_LOWER = 1;
const ACT_DIGIT = 2;
const ACT_UPPER = 3;
const ACT_OTHER = 4; // '@', '+', '(': looked at more closely
const ACTION = new Uint8Array(65536);
for (let c = 0; c < 128; c++) {
  const k = CLASS[c] ?? OTHER;
  ACTION[c] = k === LOWER ? ACT_LOWER : k === DIGIT ? ACT_DIGIT : k === UPPER ? ACT_UPPER : ACT_SKIP;
}
ACTION[64] = ACT_OTHER;
ACTION[43] = ACT_OTHER;
ACTION[40] = ACT_OTHER;
/** 1 for a word character (CLASS not OTHER), over all 65,536 code units. */
const WORD = new Uint8Array(65536);
for (let c = 0; c < 128; c++) WORD[c] = (CLASS[c] ?? OTHER) === OTHER ? 0 : 1;

function cls(c: number): number {
  return c < 128 ? (CLASS[c] ?? OTHER) : OTHER;
}

function isWord(c: number): boolean {
  return c < 128 && (CLASS[c] ?? OTHER) !== OTHER;
}

/** A number separator: one of these between two digit groups keeps the token going. */
function isSep(c: number): boolean {
  return c === SPACE || c === DASH || c === DOT || c === SLASH;
}

/** A token this long or longer is classified only by its parts (split at spaces); no value is longer. */
const MAX_DIGITS = 24;
const MAX_GROUPS = 12;
/** A token's digits and groups kept for the split at spaces; a longer token is ended at a space. */
const BUF_DIGITS = 96;
const BUF_GROUPS = 32;
/** Longest value, in digits and groups, tried as a part of a token (a 19-digit card, "+44 (0)20 …"). */
const PART_DIGITS = 20;
const PART_GROUPS = 8;

/** What classify() made of a token. */
const NONE = 0; // fits no shape: its parts may still be values
const COUNTED = 1;
const DECOY = 2; // fits a shape but fails its check: nothing is counted, not even its parts

/** Scratch state of one scan (one per call: scans may run concurrently in one worker). */
class Scan {
  nEmail = 0;
  nPhone = 0;
  nIban = 0;
  nCard = 0;
  nSsn = 0;
  nNino = 0;
  readonly digits = new Uint8Array(BUF_DIGITS);
  readonly groups = new Uint8Array(BUF_GROUPS);
  readonly seps = new Uint8Array(BUF_GROUPS);
  readonly parens = new Uint8Array(BUF_GROUPS);
  // The whole token, kept while its parts are loaded into the arrays above one by one (split()).
  readonly tokDigits = new Uint8Array(BUF_DIGITS);
  readonly tokGroups = new Uint8Array(BUF_GROUPS);
  readonly tokSeps = new Uint8Array(BUF_GROUPS);
  readonly tokParens = new Uint8Array(BUF_GROUPS);
  readonly chars = new Uint16Array(40);

  /**
   * Scans `s` from `from` to `to`. A range inside a bigger text must start and end at line breaks (the
   * char before `from` and the last one before `to` are '\n'): no value spans a line, so nothing is read
   * across the range's ends.
   */
  constructor(
    readonly s: string,
    readonly from: number,
    readonly n: number,
  ) {}

  /** Start of the last token begun by runUntil(). */
  lastStart = 0;

  run(): void {
    const s = this.s;
    const n = this.n;
    let i = this.from;
    while (i < n) {
      // Characters that start nothing (spaces, punctuation, non-ASCII) in a tight loop.
      let a = ACTION[s.charCodeAt(i)] ?? ACT_SKIP;
      while (a === ACT_SKIP) {
        if (++i >= n) return;
        a = ACTION[s.charCodeAt(i)] ?? ACT_SKIP;
      }
      i = a === ACT_LOWER ? this.skipWord(i + 1) : this.step(i);
    }
  }

  /** Like run(), but begins no token at or after `stop`; returns where it stopped (the end of the last token). */
  runUntil(stop: number): number {
    let i = this.from;
    while (i < stop) {
      this.lastStart = i;
      i = this.step(i);
    }
    return i;
  }

  /** Reads the token (or the one character) at `i`; returns where the scan goes on. */
  private step(i: number): number {
    const s = this.s;
    {
      const c = s.charCodeAt(i);
      const k = c < 128 ? (CLASS[c] ?? OTHER) : OTHER;
      if (k === LOWER) {
        i = this.skipWord(i + 1);
      } else if (k === DIGIT) {
        i = this.number(i, false);
      } else if (k === UPPER) {
        i = this.upperWord(i);
      } else if (c === AT) {
        i = this.emailAt(i);
      } else if ((c === PLUS || c === OPEN) && cls(s.charCodeAt(i + 1)) === DIGIT) {
        i = this.number(i, c === PLUS);
      } else if (c === OPEN && s.charCodeAt(i + 1) === PLUS && cls(s.charCodeAt(i + 2)) === DIGIT) {
        i = this.number(i, true); // "(+44) 20 7946 0958"
      } else {
        i++;
      }
    }
    return i;
  }

  private skipWord(i: number): number {
    const s = this.s;
    const n = this.n;
    while (i < n && WORD[s.charCodeAt(i)] === 1) i++;
    return i;
  }

  /**
   * True when a value ending before `end` ends there: not followed by a word character, an '@', or a
   * '-', '.' or '/' that joins it to more of an identifier (e.g. "123-45-6789-X"). A sentence's full stop
   * is fine.
   */
  private endsAt(end: number): boolean {
    const s = this.s;
    const c = s.charCodeAt(end);
    if (Number.isNaN(c)) return true;
    if (isWord(c) || c === AT) return false;
    if (c === DASH || c === DOT || c === SLASH) return !isWord(s.charCodeAt(end + 1));
    return true;
  }

  /** True when a value starting at `start` starts there (mirror of endsAt). */
  private startsAt(start: number): boolean {
    const s = this.s;
    if (start === 0) return true;
    const c = s.charCodeAt(start - 1);
    if (isWord(c) || c === AT) return false;
    if (c === DASH || c === DOT || c === SLASH) return start < 2 || !isWord(s.charCodeAt(start - 2));
    return true;
  }

  /**
   * Parses the number token at `start` (a digit, '+' or '(' before a digit) and counts it as at most one
   * detector. Returns where the scan goes on.
   */
  private number(start: number, plus: boolean): number {
    const s = this.s;
    const n = this.n;
    if (!plus && s.charCodeAt(start) !== OPEN) {
      // Fast path for the most common token: one group of digits that no separator continues (an id, a
      // count, an amount's integer part). Under 13 digits and without a '+', it can be nothing here.
      let j = start + 1;
      while (j < n) {
        const c = s.charCodeAt(j);
        if (c < 48 || c > 57) break;
        j++;
      }
      const after = s.charCodeAt(j);
      if (j - start < 13 && !isSep(after) && after !== OPEN) return isWord(after) ? this.skipWord(j) : j;
    }
    // "(+44)": the country code in parentheses with its '+'.
    let openFirst = plus && s.charCodeAt(start) === OPEN;
    let i = openFirst ? start + 2 : plus ? start + 1 : start;
    let nd = 0; // digits
    let ng = 0; // groups
    for (;;) {
      let paren = 0;
      if (openFirst) {
        paren = 1;
        openFirst = false;
      } else if (s.charCodeAt(i) === OPEN) {
        paren = 1;
        i++;
      }
      let len = 0;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c < 48 || c > 57) break;
        if (nd < BUF_DIGITS) this.digits[nd] = c - 48;
        nd++;
        len++;
        i++;
      }
      if (paren === 1) {
        if (s.charCodeAt(i) !== CLOSE) {
          // "(123" without its ')': the token ends before the '('.
          if (ng === 0) return this.skipWord(i);
          i -= len + 1;
          nd -= len;
          break;
        }
        i++;
      }
      if (ng < BUF_GROUPS) {
        this.groups[ng] = len;
        this.parens[ng] = paren;
      }
      ng++;
      // Another group follows after one separator, or right after a ')' ("(415)555-2671").
      const c = s.charCodeAt(i);
      const next = s.charCodeAt(i + 1);
      const sepThenGroup =
        isSep(c) && (cls(next) === DIGIT || (next === OPEN && cls(s.charCodeAt(i + 2)) === DIGIT));
      // A long run of space-separated numbers (a table row) is cut at a space before the buffers fill.
      if (sepThenGroup && c === SPACE && (ng >= BUF_GROUPS - 1 || nd >= BUF_DIGITS - PART_DIGITS)) break;
      if (sepThenGroup) {
        if (ng - 1 < BUF_GROUPS) this.seps[ng - 1] = c;
        i++;
        continue;
      }
      if (paren === 1 && (cls(c) === DIGIT || c === OPEN)) {
        if (ng - 1 < BUF_GROUPS) this.seps[ng - 1] = CLOSE;
        continue;
      }
      break;
    }
    const end = i;
    // Fewer than 8 digits is nothing here (ids, amounts, times): most tokens stop at this test.
    if (nd < 8 || nd > BUF_DIGITS || ng > BUF_GROUPS) return this.skipWord(end);
    const startOk = this.startsAt(start);
    const endOk = this.endsAt(end);
    const whole =
      startOk && endOk && nd <= MAX_DIGITS && ng <= MAX_GROUPS ? this.classify(plus, nd, ng) : NONE;
    // Values side by side, split by single spaces ("1980-01-02 123-45-6789"), fit no shape as one token.
    if (whole === NONE) this.split(plus, ng, startOk, endOk);
    return endOk ? end : this.skipWord(end);
  }

  /**
   * Classifies the parts of a token that fitted no shape as a whole, split at its spaces: from each part's
   * start, the longest run of parts that fits a shape is taken (counted, or a decoy), and the scan goes on
   * after it. The first part must start, and the last end, as a value does (startsAt/endsAt).
   */
  private split(plus: boolean, ng: number, startOk: boolean, endOk: boolean): void {
    let hasSpace = false;
    for (let k = 0; k < ng - 1; k++) if (this.seps[k] === SPACE) hasSpace = true;
    if (!hasSpace) return;
    // Plain loops, not set(subarray()): this runs per token, and a subarray is an allocation.
    let nd = 0;
    for (let k = 0; k < ng; k++) {
      this.tokGroups[k] = this.groups[k] ?? 0;
      this.tokSeps[k] = this.seps[k] ?? 0;
      this.tokParens[k] = this.parens[k] ?? 0;
      nd += this.groups[k] ?? 0;
    }
    for (let k = 0; k < nd; k++) this.tokDigits[k] = this.digits[k] ?? 0;
    let s = 0;
    let offset = 0; // digits before group s
    while (s < ng) {
      let taken = -1;
      if (s > 0 || startOk) {
        // Ends at a space or at the token's end, longest first, within the size of a value.
        let e = s;
        let digits = this.tokGroups[s] ?? 0;
        while (
          e + 1 < ng &&
          e + 1 - s < PART_GROUPS &&
          digits + (this.tokGroups[e + 1] ?? 0) <= PART_DIGITS
        ) {
          e++;
          digits += this.tokGroups[e] ?? 0;
        }
        for (; e >= s && taken < 0; e--) {
          const atEnd = e === ng - 1;
          if ((atEnd && !endOk) || (!atEnd && this.tokSeps[e] !== SPACE)) {
            digits -= this.tokGroups[e] ?? 0;
            continue;
          }
          const partPlus = plus && s === 0;
          if (
            this.mayBeValue(s, offset, digits, partPlus) &&
            this.loadPart(s, e, offset, digits, partPlus) !== NONE
          )
            taken = e;
          digits -= this.tokGroups[e] ?? 0;
        }
      }
      // Go on after the part taken, else at the next part (after the next space).
      let next = taken >= 0 ? taken + 1 : s + 1;
      if (taken < 0) while (next < ng && this.tokSeps[next - 1] !== SPACE) next++;
      for (let k = s; k < next; k++) offset += this.tokGroups[k] ?? 0;
      s = next;
    }
  }

  /**
   * A cheap test that a part starting at group `s` could fit a shape of classify() (most parts cannot: dates,
   * times, amounts): under 13 digits and without '+', only an SSN or a NANP number (first group of 3 or a
   * lone 1), a number starting with 0 (00 or trunk 0) or one whose first group is in parentheses can.
   */
  private mayBeValue(s: number, offset: number, digits: number, plus: boolean): boolean {
    if (digits < 8) return false;
    if (plus || digits >= 13 || this.tokParens[s] === 1) return true;
    const first = this.tokGroups[s] ?? 0;
    const d0 = this.tokDigits[offset] ?? 0;
    return first === 3 || d0 === 0 || (first === 1 && d0 === 1);
  }

  /** Loads groups s..e of the kept token into the working arrays and classifies them. */
  private loadPart(s: number, e: number, offset: number, digits: number, plus: boolean): number {
    const ng = e - s + 1;
    for (let k = 0; k < ng; k++) {
      this.groups[k] = this.tokGroups[s + k] ?? 0;
      this.parens[k] = this.tokParens[s + k] ?? 0;
      this.seps[k] = this.tokSeps[s + k] ?? 0;
    }
    for (let k = 0; k < digits; k++) this.digits[k] = this.tokDigits[offset + k] ?? 0;
    return this.classify(plus, digits, ng);
  }

  private sameSeps(ng: number, allowed: (c: number) => boolean): boolean {
    if (ng === 1) return true;
    const first = this.seps[0] ?? 0;
    if (!allowed(first)) return false;
    for (let g = 1; g < ng - 1; g++) if (this.seps[g] !== first) return false;
    return true;
  }

  private anyParen(ng: number): boolean {
    for (let g = 0; g < ng; g++) if (this.parens[g] === 1) return true;
    return false;
  }

  /** Counts the token in the working arrays as at most one detector; says whether it fitted a shape. */
  private classify(plus: boolean, nd: number, ng: number): number {
    const g = this.groups;
    const d = this.digits;
    const paren = this.anyParen(ng);
    if (!plus && !paren) {
      // US SSN: 123-45-6789 or 123 45 6789 (a bare 9-digit run is too often something else).
      if (
        ng === 3 &&
        g[0] === 3 &&
        g[1] === 2 &&
        g[2] === 4 &&
        this.sameSeps(3, (c) => c === DASH || c === SPACE)
      ) {
        if (!ssnValid(d)) return DECOY;
        this.nSsn++;
        return COUNTED;
      }
      // Payment card: 13–19 digits not starting with 0 (no issuer does), bare or in groups (first group of 4) split by spaces or dashes.
      if (
        nd >= 13 &&
        nd <= 19 &&
        d[0] !== 0 &&
        this.sameSeps(ng, (c) => c === SPACE || c === DASH) &&
        this.cardGroups(ng)
      ) {
        if (!luhnValid(d, nd) || !knownCardPrefix(d, nd)) return DECOY;
        this.nCard++;
        return COUNTED;
      }
    }
    if (!this.isPhone(plus, nd, ng)) return NONE;
    this.nPhone++;
    return COUNTED;
  }

  private cardGroups(ng: number): boolean {
    if (ng === 1) return true;
    if (this.groups[0] !== 4) return false;
    for (let k = 1; k < ng; k++) {
      const len = this.groups[k] ?? 0;
      if (len < 2 || len > 6) return false;
    }
    return true;
  }

  private isPhone(plus: boolean, nd: number, ng: number): boolean {
    const g = this.groups;
    const d = this.digits;
    const seps = this.seps;
    let slash = false;
    let dot = false;
    for (let k = 0; k < ng - 1; k++) {
      if (seps[k] === SLASH) slash = true;
      if (seps[k] === DOT) dot = true;
    }
    if (slash) return false; // dates (12/05/2024), fractions, paths
    if (plus) {
      // International (E.164): '+', a country code not starting with 0, 8–15 digits; a "(0)" trunk is extra.
      let trunk = 0;
      for (let k = 0; k < ng; k++) if (this.parens[k] === 1 && g[k] === 1 && this.trunkZeroAt(k)) trunk = 1;
      return d[0] !== 0 && nd - trunk >= 8 && nd - trunk <= 15;
    }
    // "00" + a 1–3 digit country code, then groups: 0044 20 7946 0958, 00 44 20 7946 0958.
    if (ng >= 2 && d[0] === 0 && d[1] === 0 && d[2] !== 0 && nd - 2 >= 8 && nd - 2 <= 15 && !dot) {
      const g0 = g[0] ?? 0;
      const g1 = g[1] ?? 0;
      if ((g0 >= 3 && g0 <= 5) || (g0 === 2 && g1 >= 1 && g1 <= 3 && ng >= 3)) return true;
    }
    // North America (NANP): (415) 555-2671, 415-555-2671, 415.555.2671, 415 555 2671, 1-415-555-2671.
    const lead = ng === 4 && g[0] === 1 && d[0] === 1 ? 1 : 0;
    if (ng - lead === 3 && g[lead] === 3 && g[lead + 1] === 3 && g[lead + 2] === 4) {
      const a = d[lead] ?? 0;
      const x = d[lead + 3] ?? 0;
      if (a >= 2 && x >= 2) {
        const p = this.parens[lead] === 1;
        // Separators between the last groups agree; after a "(415)" any of space, ')' or '-' may follow.
        const s1 = seps[lead + 1] ?? 0;
        const s0 = seps[lead] ?? 0;
        if (
          p
            ? s1 === DASH || s1 === SPACE || s1 === DOT
            : s0 === s1 && (s0 === DASH || s0 === SPACE || s0 === DOT)
        )
          return true;
      }
    }
    // National with a trunk 0 (UK, France, Germany, Italy, Netherlands…): 020 7946 0958, 07700 900123,
    // 01 23 45 67 89, (030) 901820: 9–11 digits in groups of at least 2, split by spaces or dashes.
    if (dot || ng < 2 || d[0] !== 0 || d[1] === 0 || nd < 9 || nd > 11) return false;
    for (let k = 0; k < ng; k++) {
      if ((g[k] ?? 0) < 2) return false;
      if (k > 0 && this.parens[k] === 1) return false;
    }
    return true;
  }

  /** Whether the k-th group (one digit in parentheses) is a 0: "+44 (0)20 …". */
  private trunkZeroAt(k: number): boolean {
    let before = 0;
    for (let j = 0; j < k; j++) before += this.groups[j] ?? 0;
    return this.digits[before] === 0;
  }

  /** A word starting with an upper-case letter: an IBAN or a NINO, or else skipped whole. */
  private upperWord(i: number): number {
    const s = this.s;
    const b = s.charCodeAt(i + 1);
    if (cls(b) === UPPER && this.startsAt(i)) {
      const end = this.iban(i) || this.nino(i);
      if (end > 0) return end;
    }
    return this.skipWord(i + 1);
  }

  /** IBAN at `i`: CC + 2 check digits + BBAN of the country's length, bare or in groups of four. */
  private iban(i: number): number {
    const s = this.s;
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    if (cls(s.charCodeAt(i + 2)) !== DIGIT || cls(s.charCodeAt(i + 3)) !== DIGIT) return 0;
    const want = ibanLength(a, b);
    if (want === undefined) return 0;
    const chars = this.chars;
    const spaced = s.charCodeAt(i + 4) === SPACE;
    let got = 0;
    let p = i;
    while (got < want) {
      const c = s.charCodeAt(p);
      const k = cls(c);
      if (k === DIGIT || k === UPPER) {
        chars[got++] = c;
        p++;
        if (spaced && got % 4 === 0 && got < want) {
          if (s.charCodeAt(p) !== SPACE) return 0;
          p++;
        }
      } else {
        return 0;
      }
    }
    if (!this.endsAt(p)) return 0;
    if (ibanMod97(chars, want)) this.nIban++;
    return p;
  }

  /** UK NINO at `i`: AB123456C or AB 12 34 56 C, prefix rules, suffix A–D. */
  private nino(i: number): number {
    const s = this.s;
    let p = i + 2;
    const spaced = s.charCodeAt(p) === SPACE;
    for (let pair = 0; pair < 3; pair++) {
      if (spaced) {
        if (s.charCodeAt(p) !== SPACE) return 0;
        p++;
      }
      if (cls(s.charCodeAt(p)) !== DIGIT || cls(s.charCodeAt(p + 1)) !== DIGIT) return 0;
      p += 2;
    }
    if (spaced) {
      if (s.charCodeAt(p) !== SPACE) return 0;
      p++;
    }
    const suffix = s.charCodeAt(p);
    if (suffix < 65 || suffix > 68) return 0;
    p++;
    if (!this.endsAt(p)) return 0;
    if (ninoPrefixValid(s.charCodeAt(i), s.charCodeAt(i + 1))) this.nNino++;
    return p;
  }

  /**
   * E-mail around the '@' at `at`: local part of 1–64 of [A-Za-z0-9._%+-'] (no leading, trailing or double
   * dot), domain of 2+ labels of [A-Za-z0-9-] (1–63, no leading/trailing '-'), top level of 2–24 letters.
   */
  private emailAt(at: number): number {
    const s = this.s;
    let j = at - 1;
    while (j >= 0 && at - j <= 65 && isLocal(s.charCodeAt(j))) j--;
    let start = j + 1;
    if (at - start > 64) return at + 1;
    while (start < at && s.charCodeAt(start) === DOT) start++; // "...john@": punctuation before the address
    if (start === at || s.charCodeAt(at - 1) === DOT) return at + 1;
    for (let k = start + 1; k < at; k++)
      if (s.charCodeAt(k) === DOT && s.charCodeAt(k - 1) === DOT) return at + 1;
    // Domain labels.
    let p = at + 1;
    let labels = 0;
    let lastAlpha = false;
    let lastLen = 0;
    for (;;) {
      const labelStart = p;
      let alpha = true;
      while (p < this.n) {
        const c = s.charCodeAt(p);
        const k = cls(c);
        if (k === DIGIT) alpha = false;
        else if (c === DASH) alpha = false;
        else if (k !== UPPER && !(k === LOWER && c !== 95)) break;
        p++;
      }
      const len = p - labelStart;
      if (len === 0 || len > 63 || s.charCodeAt(labelStart) === DASH || s.charCodeAt(p - 1) === DASH) {
        if (labels >= 2) {
          p = labelStart - 1; // the dot before an empty or bad label ends the address
          break;
        }
        return p > at + 1 ? p : at + 1;
      }
      labels++;
      lastAlpha = alpha;
      lastLen = len;
      if (s.charCodeAt(p) === DOT && isWord(s.charCodeAt(p + 1))) {
        p++;
        continue;
      }
      break;
    }
    if (labels >= 2 && lastAlpha && lastLen >= 2 && lastLen <= 24 && s.charCodeAt(p) !== AT) this.nEmail++;
    return p;
  }

  /** Adds this scan's counts into `out`. */
  write(out: Findings): void {
    add(out, 'email', this.nEmail);
    add(out, 'phone', this.nPhone);
    add(out, 'iban', this.nIban);
    add(out, 'payment-card', this.nCard);
    add(out, 'us-ssn', this.nSsn);
    add(out, 'uk-nino', this.nNino);
  }
}

function add(out: Findings, name: string, n: number): void {
  if (n > 0) out[name] = (out[name] ?? 0) + n;
}

function isLocal(c: number): boolean {
  return isWord(c) || c === DOT || c === PLUS || c === DASH || c === 37 /* % */ || c === 39; /* ' */
}

export function scanBuiltIns(text: string, out: Findings, from = 0, to = text.length): void {
  const scan = new Scan(text, from, to);
  scan.run();
  scan.write(out);
}

/**
 * How far past the position a token's reading returns a scan may have looked (an IBAN tried over 42
 * characters before "GB82" is skipped as a word; endsAt's two characters).
 */
export const LOOKAHEAD = 64;
/** How far before a scan's start it may look back (an e-mail's local part: 64 characters and one more). */
export const LOOKBEHIND = 66;

/**
 * Counts the tokens of `text` that begin in [from, stop) and returns where the next scan must begin: the end
 * of the last of them. A token whose reading came within LOOKAHEAD of the text's end may go on in text not
 * read yet: it is left for the next scan (the return is its start), unless `force` (a token of ~all the
 * text: read as if it ended there). The next scan is exactly the rest of one scan of the whole text when it
 * keeps LOOKBEHIND characters before that point as context (FindingCounter: a long run with no place that
 * ends every value).
 */
export function scanBuiltInsUntil(
  text: string,
  out: Findings,
  from: number,
  stop: number,
  force: boolean,
): number {
  const scan = new Scan(text, from, text.length);
  const end = scan.runUntil(stop);
  if (end + LOOKAHEAD <= text.length || force || scan.lastStart === from) {
    if (end + LOOKAHEAD <= text.length || force) {
      scan.write(out);
      return end;
    }
    return from;
  }
  const again = new Scan(text, from, text.length);
  const start = again.runUntil(scan.lastStart);
  again.write(out);
  return start;
}
