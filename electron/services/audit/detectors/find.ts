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

  push(text: string): void {
    const all = this.tail + text;
    this.search(all);
    this.tail = all.slice(Math.max(0, all.length - (this.finder.longest - 1)));
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
