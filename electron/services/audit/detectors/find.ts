/**
 * `audit find TERM…`: which of the terms appear in a file's name or content, case-insensitively. Only the
 * terms found are reported, never the surrounding text.
 */
import { CofferError } from '../../../../crypto/errors.js';

export interface Finder {
  readonly terms: readonly string[];
  /** @internal one case-insensitive literal regex per term */
  readonly res: readonly RegExp[];
  readonly longest: number;
}

function escape(term: string): string {
  return term.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function makeFinder(terms: readonly string[]): Finder {
  const clean = [...new Set(terms.map((t) => t.normalize('NFC').trim()))].filter((t) => t.length > 0);
  if (clean.length === 0)
    throw new CofferError('AUDIT_FIND_NO_TERM', 'No term to find.', 'Give at least one non-empty term.');
  return {
    terms: clean,
    res: clean.map((t) => new RegExp(escape(t), 'iu')),
    longest: Math.max(...clean.map((t) => t.length)),
  };
}

/** Text that NFC may change (all of ASCII, Latin-1 and the spacing modifiers are NFC already). */
const MAY_NEED_NFC = /[\u0300-\uffff]/;
/** Raw characters kept per character of the longest term (a base letter with its marks, decomposed). */
const RAW_PER_NFC_CHAR = 4;

/** Searches a text given in chunks; a term cut by a chunk border is still found. */
export class FindStream {
  private tail = '';
  private readonly found = new Set<number>();

  constructor(private readonly finder: Finder) {}

  /** Every term has been found: the caller may stop reading. */
  get complete(): boolean {
    return this.found.size === this.finder.terms.length;
  }

  /** Searches the file name (its last path segment or the whole path, as the caller prefers). */
  name(name: string): void {
    this.search(name.normalize('NFC'));
  }

  /**
   * Content is searched in NFC, as the terms are: a name written decomposed (u + U+0308, as macOS and PDF
   * text layers write it) was never found. The raw tail kept for the next piece is a few times the longest
   * term, so that a term cut by the border is found also when its letters and marks are apart in the text.
   */
  push(text: string): void {
    const all = this.tail + text;
    this.search(MAY_NEED_NFC.test(all) ? all.normalize('NFC') : all);
    this.tail = all.slice(Math.max(0, all.length - RAW_PER_NFC_CHAR * this.finder.longest));
  }

  /** The terms found so far, in the order given. */
  matched(): string[] {
    return this.finder.terms.filter((_, i) => this.found.has(i));
  }

  private search(text: string): void {
    this.finder.res.forEach((re, i) => {
      if (!this.found.has(i) && re.test(text)) this.found.add(i);
    });
  }
}
