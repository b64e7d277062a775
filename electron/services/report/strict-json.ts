/**
 * The JSON reader of report verification (docs/REPORT.md §2): I-JSON as RFC 8785 requires, restricted to
 * integers. JSON.parse keeps the last of two members with one name and reads `0.99999999999999999` as 1, so a
 * file could show people (or a first-wins parser, or a decimal one) another value than the one whose
 * canonical form was signed. Here a repeated member name, a number with a fraction or exponent, `-0`, and any
 * text after the value are refused: the file says exactly what was signed.
 */
import type { Json } from './canonical.js';

/** Deeper than any report (§6 nests 4 levels): a file nested deeper is not one, and never exhausts the stack. */
const MAX_DEPTH = 32;

export class StrictJsonError extends Error {}

const INTEGER = /-?(?:0|[1-9][0-9]*)/y;
const NUMBER_TAIL = /[.eE]/y;
// A JSON string literal (RFC 8259 §7): no raw control characters, only the defined escapes.
// eslint-disable-next-line no-control-regex -- raw control characters are what a JSON string must not hold
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WHITE = /[ \t\n\r]*/y;

export function parseStrictJson(text: string): Json {
  // A byte-order mark changes nothing a reader sees (RFC 8259 §8.1 lets a parser ignore it): Notepad adds one.
  let at = text.startsWith('\ufeff') ? 1 : 0;

  const skipWhite = (): void => {
    WHITE.lastIndex = at;
    WHITE.exec(text);
    at = WHITE.lastIndex;
  };
  const fail = (why: string): never => {
    throw new StrictJsonError(`${why} at position ${at}`);
  };
  const match = (re: RegExp): string | null => {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) return null;
    at = re.lastIndex;
    return m[0];
  };
  const literal = (word: string): void => {
    if (!text.startsWith(word, at)) fail('unexpected text');
    at += word.length;
  };
  const string = (): string => {
    const raw = match(STRING) ?? fail('bad string');
    return JSON.parse(raw) as string; // the escapes decoded exactly as JSON.parse decodes them
  };

  const value = (depth: number): Json => {
    if (depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH}`);
    skipWhite();
    const c = text[at];
    if (c === '{') {
      at++;
      const members = new Map<string, Json>();
      skipWhite();
      if (text[at] === '}') {
        at++;
        return {};
      }
      for (;;) {
        skipWhite();
        const start = at;
        const key = string();
        if (members.has(key)) {
          at = start;
          fail(`member ${JSON.stringify(key)} appears twice`);
        }
        skipWhite();
        if (text[at] !== ':') fail('expected ":"');
        at++;
        members.set(key, value(depth + 1));
        skipWhite();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === '}') {
          at++;
          // fromEntries defines own properties, so a member named "__proto__" stays a member.
          return Object.fromEntries<Json>(members);
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      at++;
      const items: Json[] = [];
      skipWhite();
      if (text[at] === ']') {
        at++;
        return items;
      }
      for (;;) {
        items.push(value(depth + 1));
        skipWhite();
        if (text[at] === ',') {
          at++;
          continue;
        }
        if (text[at] === ']') {
          at++;
          return items;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return string();
    if (c === 't') {
      literal('true');
      return true;
    }
    if (c === 'f') {
      literal('false');
      return false;
    }
    if (c === 'n') {
      literal('null');
      return null;
    }
    const start = at;
    const digits = match(INTEGER) ?? fail('unexpected text');
    NUMBER_TAIL.lastIndex = at;
    if (NUMBER_TAIL.test(text)) {
      at = start;
      fail('a number with a fraction or exponent (a report holds integers only)');
    }
    if (digits === '-0') {
      at = start;
      fail('-0 (written 0 in a report)');
    }
    const n = Number(digits);
    if (!Number.isSafeInteger(n)) {
      at = start;
      fail(`${digits} is beyond ±(2^53−1)`);
    }
    return n;
  };

  const result = value(0);
  skipWhite();
  if (at !== text.length) fail('text after the JSON value');
  return result;
}
