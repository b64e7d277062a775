/**
 * Text of an RTF document: control words stripped, groups that hold no text for people skipped (font and
 * colour tables, style sheets, pictures, objects, field instructions, any `\*` destination), `\'hh` read as
 * Windows-1252, `\uN` as Unicode (skipping its `\ucN` fallback characters), `\par`/`\line`/`\row` as line
 * breaks and `\tab`/`\cell` as tabs. One pass, no recursion: nesting depth cannot exhaust the stack.
 * (RTF 1.9.1 specification, "Conventions of an RTF reader".)
 */
import { TextDecoder } from 'node:util';
import { TextTooLong, Unreadable } from './errors.js';

const SKIP_DESTINATIONS = new Set([
  'fonttbl',
  'colortbl',
  'stylesheet',
  'listtable',
  'listoverridetable',
  'revtbl',
  'rsidtbl',
  'generator',
  'info',
  'pict',
  'object',
  'objdata',
  'datastore',
  'themedata',
  'colorschememapping',
  'latentstyles',
  'xmlnstbl',
  'fldinst',
  'filetbl',
  'bkmkstart',
  'bkmkend',
]);

const WORD_CHARS: Readonly<Record<string, string>> = {
  par: '\n',
  line: '\n',
  row: '\n',
  sect: '\n',
  page: '\n',
  tab: '\t',
  cell: '\t',
  emdash: '\u2014',
  endash: '\u2013',
  lquote: '\u2018',
  rquote: '\u2019',
  ldblquote: '\u201C',
  rdblquote: '\u201D',
  bullet: '\u2022',
  emspace: ' ',
  enspace: ' ',
  qmspace: ' ',
};

const cp1252 = new TextDecoder('windows-1252');

/**
 * Groups open at once. Each '{' keeps its parent's state on a stack: 30 M braces (a 30 MB file, under the
 * input limit) ran a 256 MB heap out of memory. Word nests a few dozen levels.
 */
export const MAX_RTF_DEPTH = 1_000;

interface Group {
  skip: boolean;
  uc: number;
}

export function isRtf(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 5)).toString('latin1') === '{\\rtf';
}

/** `s` is the file decoded as Windows-1252 (RTF is 7-bit; stray 8-bit bytes are taken as ANSI). */
export function rtfText(s: string, maxChars: number): string {
  const out: string[] = [];
  let size = 0;
  const emit = (text: string): void => {
    size += text.length;
    if (size > maxChars) throw new TextTooLong();
    out.push(text);
  };
  const stack: Group[] = [];
  let group: Group = { skip: false, uc: 1 };
  let fallback = 0; // characters still to skip after a \uN
  let groupStart = false; // just after '{': a control word here names the group's destination
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x7b /* { */) {
      if (stack.length >= MAX_RTF_DEPTH)
        throw new Unreadable(`its groups are nested too deeply (over ${MAX_RTF_DEPTH} levels)`);
      stack.push(group);
      group = { skip: group.skip, uc: group.uc };
      groupStart = true;
      fallback = 0;
      i++;
      continue;
    }
    if (c === 0x7d /* } */) {
      group = stack.pop() ?? { skip: false, uc: 1 };
      groupStart = false;
      fallback = 0;
      i++;
      continue;
    }
    if (c === 0x5c /* \ */) {
      const next = s.charCodeAt(i + 1);
      if (isLetter(next)) {
        let j = i + 1;
        while (j < n && isLetter(s.charCodeAt(j))) j++;
        const word = s.slice(i + 1, j);
        let param: number | undefined;
        let k = j;
        if (s.charCodeAt(k) === 0x2d /* - */ || isDigit(s.charCodeAt(k))) {
          k++;
          while (k < n && isDigit(s.charCodeAt(k))) k++;
          param = Number(s.slice(j, k));
        }
        if (s.charCodeAt(k) === 0x20) k++; // the space that ends a control word is not text
        i = k;
        if (word === 'bin' && param !== undefined && param > 0) {
          i += param; // raw binary data
          continue;
        }
        if (groupStart && SKIP_DESTINATIONS.has(word)) group.skip = true;
        groupStart = false;
        if (word === 'uc' && param !== undefined) group.uc = Math.max(0, Math.min(param, 10));
        if (group.skip) continue;
        if (word === 'u' && param !== undefined) {
          emit(String.fromCharCode(param < 0 ? param + 65536 : param));
          fallback = group.uc;
          continue;
        }
        const char = WORD_CHARS[word];
        if (char !== undefined) emit(char);
        continue;
      }
      groupStart = false;
      if (next === 0x2a /* * */) {
        group.skip = true; // an ignorable destination: no text for people
        i += 2;
        continue;
      }
      if (next === 0x27 /* ' */) {
        const byte = parseInt(s.slice(i + 2, i + 4), 16);
        i += 4;
        if (group.skip || Number.isNaN(byte)) continue;
        if (fallback > 0) {
          fallback--;
          continue;
        }
        emit(cp1252.decode(Uint8Array.of(byte)));
        continue;
      }
      i += 2;
      if (group.skip) continue;
      if (next === 0x5c || next === 0x7b || next === 0x7d) emit(String.fromCharCode(next));
      else if (next === 0x7e /* ~ */) emit('\u00A0');
      else if (next === 0x5f /* _ */) emit('-');
      else if (next === 0x0a || next === 0x0d) emit('\n');
      continue;
    }
    groupStart = false;
    if (c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    // A run of plain text, emitted as one slice.
    let from = i;
    while (i < n) {
      const d = s.charCodeAt(i);
      if (d === 0x7b || d === 0x7d || d === 0x5c || d === 0x0a || d === 0x0d) break;
      i++;
    }
    if (group.skip) continue;
    if (fallback > 0) {
      const k = Math.min(fallback, i - from);
      from += k;
      fallback -= k;
    }
    if (from < i) emit(s.slice(from, i));
  }
  return out.join('');
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
