/**
 * Text of XML and HTML through htmlparser2 (tags stripped, entities decoded). One walker, configured per
 * format: which elements end a line or a cell, which stand for a character, which hold no text for people
 * (scripts, styles, formulas), and whether attribute values count as text (plain XML data files).
 */
import { Parser } from 'htmlparser2';
import { TextTooLong, Unreadable } from './errors.js';

export interface MarkupRules {
  readonly xmlMode: boolean;
  /** Elements (qualified names, lower case) after whose end a line break is written. */
  readonly breakAfter: ReadonlySet<string>;
  /** Elements written as a character where they open (tabs, line breaks, spaces). */
  readonly asChar?: ReadonlyMap<string, string>;
  /** Elements whose text is left out. */
  readonly skip?: ReadonlySet<string>;
  /** Write attribute values as text (plain XML, where data often sits in attributes). */
  readonly attributes?: boolean;
  /** Break after every element (plain XML: each element is a field). */
  readonly breakEveryElement?: boolean;
  /** Leave out an element depending on its attributes (e.g. a spreadsheet cell that holds a string index). */
  readonly skipWhen?: (name: string, attributes: Readonly<Record<string, string>>) => boolean;
}

export { TextTooLong, Unreadable };

/**
 * Open elements allowed at once. htmlparser2 keeps its open elements with Array.unshift, so each open tag
 * costs the current depth: 200,000 levels (600 KB) took 18 s, 10 M levels (30 MB) would take hours, in one
 * synchronous write() that no timer interrupts. Real documents nest a few dozen levels (tables in tables).
 */
export const MAX_DEPTH = 1_000;

/** Characters of text copied into one flat block (see markupStream). */
const BLOCK = 64 * 1024;

/** Callbacks between two looks at the clock (performance.now() is cheap, but not per text node). */
const CLOCK_EVERY = 4_096;

/**
 * The text of `source`. Throws TextTooLong past `maxChars`, Unreadable when nested over MAX_DEPTH or once
 * `deadline` (a performance.now() time) is past: the parse is synchronous, so the time is checked inside it.
 */
export function markupText(
  source: string,
  rules: MarkupRules,
  maxChars: number,
  deadline = Number.POSITIVE_INFINITY,
): string {
  const stream = markupStream(rules, maxChars, deadline);
  stream.write(source);
  return stream.end();
}

/** The markup given in pieces (a zip part as it inflates): only its text is kept, never the whole markup. */
export interface MarkupStream {
  write(piece: string): void;
  end(): string;
}

export function markupStream(
  rules: MarkupRules,
  maxChars: number,
  deadline = Number.POSITIVE_INFINITY,
): MarkupStream {
  // Text nodes are slices of the markup they came from, and V8 keeps a slice's whole parent alive: kept as
  // they are, the text of a 60 MiB part held all of its markup (OOM at a 150 MiB heap). So the pieces are
  // copied into flat blocks of at least BLOCK characters as they come.
  const blocks: string[] = [];
  let parts: string[] = [];
  let pending = 0;
  let size = 0;
  let skipping = 0;
  let depth = 0;
  let calls = 0;
  const tick = (): void => {
    if (++calls % CLOCK_EVERY === 0 && performance.now() > deadline)
      throw new Unreadable('took too long to read');
  };
  const push = (text: string): void => {
    size += text.length;
    if (size > maxChars) throw new TextTooLong();
    parts.push(text);
    pending += text.length;
    if (pending >= BLOCK) {
      blocks.push(parts.join(''));
      parts = [];
      pending = 0;
    }
  };
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        tick();
        if (++depth > MAX_DEPTH)
          throw new Unreadable(`its markup is nested too deeply (over ${MAX_DEPTH} levels)`);
        if (skipping > 0 || rules.skip?.has(name) === true || rules.skipWhen?.(name, attributes) === true) {
          skipping++;
          return;
        }
        const char = rules.asChar?.get(name);
        if (char !== undefined) {
          const count = name === 'text:s' ? Math.min(Number(attributes['text:c'] ?? '1') || 1, 100) : 1;
          push(char.repeat(count));
        }
        if (rules.attributes === true) {
          for (const value of Object.values(attributes)) if (value.length > 0) push(`\n${value}\n`);
        }
      },
      ontext(text) {
        tick();
        if (skipping === 0) push(text);
      },
      onclosetag(name) {
        depth--;
        if (skipping > 0) {
          skipping--;
          return;
        }
        if (rules.breakEveryElement === true || rules.breakAfter.has(name)) push('\n');
      },
    },
    {
      xmlMode: rules.xmlMode,
      decodeEntities: true,
      lowerCaseTags: !rules.xmlMode,
      lowerCaseAttributeNames: !rules.xmlMode,
      recognizeSelfClosing: true,
    },
  );
  if (performance.now() > deadline) throw new Unreadable('took too long to read');
  return {
    write: (piece) => {
      parser.write(piece);
    },
    end: () => {
      parser.end();
      blocks.push(parts.join(''));
      parts = [];
      return blocks.join('');
    },
  };
}

const HTML_BLOCKS = [
  'address article aside blockquote br caption dd details div dl dt fieldset figcaption figure footer form h1',
  'h2 h3 h4 h5 h6 header hr li main nav ol option p pre section summary table tbody td tfoot th thead title tr ul',
].join(' ');

export const HTML: MarkupRules = {
  xmlMode: false,
  breakAfter: new Set(HTML_BLOCKS.split(' ')),
  asChar: new Map([['br', '\n']]),
  skip: new Set(['script', 'style', 'template', 'noscript']),
};

export const XML: MarkupRules = {
  xmlMode: true,
  breakAfter: new Set(),
  attributes: true,
  breakEveryElement: true,
};

/** Word: w:t runs join into words; paragraphs, tabs and breaks separate. */
export const DOCX: MarkupRules = {
  xmlMode: true,
  breakAfter: new Set(['w:p', 'w:tc', 'w:tr']),
  asChar: new Map([
    ['w:tab', '\t'],
    ['w:br', '\n'],
    ['w:cr', '\n'],
    // The hyphen people type in phone numbers so they do not wrap (w:softHyphen, an optional one, is nothing).
    ['w:noBreakHyphen', '-'],
  ]),
  skip: new Set(['w:instrtext', 'w:instrText', 'w:fldData']),
};

/** Excel: shared strings (one per <si>) and worksheets (one cell per line; string cells point into si). */
export const XLSX: MarkupRules = {
  xmlMode: true,
  breakAfter: new Set(['si', 'c', 'row']),
  skip: new Set(['f', 'rPh', 'extLst']),
  // t="s": the value is an index into sharedStrings.xml, whose text is read from there.
  skipWhen: (name, attributes) => name === 'c' && attributes.t === 's',
};

/** PowerPoint slides and notes. */
export const PPTX: MarkupRules = {
  xmlMode: true,
  breakAfter: new Set(['a:p', 'a:tc']),
  asChar: new Map([['a:br', '\n']]),
};

/** OpenDocument content.xml (text and spreadsheet). */
export const ODF: MarkupRules = {
  xmlMode: true,
  breakAfter: new Set(['text:p', 'text:h', 'table:table-cell', 'table:table-row', 'text:list-item']),
  asChar: new Map([
    ['text:tab', '\t'],
    ['text:line-break', '\n'],
    ['text:s', ' '],
  ]),
  skip: new Set(['office:scripts', 'office:font-face-decls', 'office:automatic-styles']),
};
