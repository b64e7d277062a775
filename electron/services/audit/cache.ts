/**
 * The data audit's incremental cache, in app data: per file, its identity when read (size, mtime, ctime,
 * inode) and what the read found: counts per detector, or why no text could be taken from it. A file
 * whose identity is unchanged is not read again. Minimal data (issue 11): no matched value and no text is
 * ever stored, for protected files neither; only the counts a report shows anyway.
 *
 * It is an optimization, never a source of truth for anything else: a cache that cannot be read, was
 * written by another version or for other detectors (`fingerprint`) is ignored and rebuilt. With a key
 * (cache-key.ts, in the keychain) the file is `<header line>\n<body>` and the header holds an HMAC-SHA256 of
 * the body: an edited cache (an entry set to "no findings") does not verify and costs a re-read of every
 * file, never a wrong count. Without a key (tests, tools without a keychain) it is plain JSON.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import { NOFOLLOW, NONBLOCK } from '../safe-file/open.js';
import { fsyncDir } from '../state/atomic-write.js';
import type { ListedFile } from './scanner-walk.js';
import type { FindingCounts } from './types.js';

const CACHE_FORMAT = 'coffer-audit-cache-2';
/** ~200 bytes an entry: room for a few million files; anything larger is not a cache this wrote. */
const MAX_CACHE_BYTES = 1024 * 1024 * 1024;
const SIGNED_FORMAT = 'coffer-audit-cache-signed-1';
const MAC_CONTEXT = 'coffer audit cache mac v1\0';

const headerSchema = z.object({ format: z.literal(SIGNED_FORMAT), mac: z.string() });

/** What reading a file gave; only outcomes that depend on the content alone are cached. */
export type CachedOutcome =
  | { readonly kind: 'scanned'; readonly findings: FindingCounts; readonly modifiedMs: number }
  | { readonly kind: 'content'; readonly code: string; readonly reason: string };

/**
 * An entry as the file holds it and as loaded: a row `[size, mtimeMs, ctimeMs, ino, dev, findings,
 * modifiedMs]` for a file read, `[size, mtimeMs, ctimeMs, ino, dev, code, reason]` for one without text.
 * Rows, not objects with named fields and an outcome object: half the JSON and ~70 bytes less a file in
 * memory at 100,000 files (issue 11: memory whatever the file count).
 */
type Row =
  | readonly [number, number, number, number, number, FindingCounts, number]
  | readonly [number, number, number, number, number, string, string];

/** What identifies a file as read: ListedFile has these fields too. */
interface Identity {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
  readonly dev: number;
}

/** An entry stored by this scan: the listed file itself as its identity, not a copy of its fields. */
interface Stored {
  readonly file: Identity;
  readonly outcome: CachedOutcome;
}

type Entry = Row | Stored;

/** One shared empty count for the many files that hold nothing. */
export const NO_FINDINGS: FindingCounts = Object.freeze({});

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isFindings(value: unknown): value is FindingCounts {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const n of Object.values(value)) if (!isCount(n)) return false;
  return true;
}

/** The row when `value` is one (checked by hand: a schema's copy of each was ~30 MB of garbage). */
function asRow(value: unknown): Row | null {
  if (!Array.isArray(value) || value.length !== 7) return null;
  const row = value as unknown[];
  for (let i = 0; i < 5; i++) if (typeof row[i] !== 'number' || !Number.isFinite(row[i])) return null;
  if (typeof row[5] === 'string' && typeof row[6] === 'string') return row as unknown as Row;
  if (!isFindings(row[5]) || typeof row[6] !== 'number') return null;
  if (Object.keys(row[5]).length === 0) row[5] = NO_FINDINGS;
  return row as unknown as Row;
}

function isRow(entry: Entry): entry is Row {
  return Array.isArray(entry);
}

/** The entry is for this very file as listed. */
function sameFile(entry: Entry, file: Identity): boolean {
  // ctime too: a same-size rewrite that restores the mtime (touch -r, rsync -t) still moves the ctime.
  if (isRow(entry))
    return (
      entry[0] === file.size &&
      entry[1] === file.mtimeMs &&
      entry[2] === file.ctimeMs &&
      entry[3] === file.ino &&
      entry[4] === file.dev
    );
  const e = entry.file;
  return (
    e.size === file.size &&
    e.mtimeMs === file.mtimeMs &&
    e.ctimeMs === file.ctimeMs &&
    e.ino === file.ino &&
    e.dev === file.dev
  );
}

function outcomeOf(entry: Entry): CachedOutcome {
  if (!isRow(entry)) return entry.outcome;
  const [, , , , , a, b] = entry;
  return typeof a === 'string'
    ? { kind: 'content', code: a, reason: String(b) }
    : { kind: 'scanned', findings: a, modifiedMs: Number(b) };
}

/** The entry as the file holds it (a Row). */
function entryJson(entry: Entry): string {
  if (isRow(entry)) return JSON.stringify(entry);
  const { size, mtimeMs, ctimeMs, ino, dev } = entry.file;
  const o = entry.outcome;
  return JSON.stringify(
    o.kind === 'content'
      ? [size, mtimeMs, ctimeMs, ino, dev, o.code, o.reason]
      : [size, mtimeMs, ctimeMs, ino, dev, o.findings, o.modifiedMs],
  );
}

/** End of the JSON string that starts at `from` (a quote), past its closing quote; -1 when not all there. */
function stringEnd(text: string, from: number): number {
  for (let i = from + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

/** End of the JSON array or object that starts at `from`, past its close; -1 when not all there. */
function valueEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const end = stringEnd(text, i);
      if (end < 0) return -1;
      i = end - 1;
    } else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

const CHUNK_BYTES = 1 << 20;
/**
 * No entry save() writes is this long (a path of 4 KiB escaped, counts, a reason): a longer one waited for
 * is a planted file. Waiting for its end scanned all it had again at each chunk, a time that grew with the
 * square of the file (a 1 GiB cache with one key that never ends: hours, and its text in memory).
 */
const MAX_ENTRY_CHARS = 1 << 20;

/**
 * The entries of the cache at `file` as a Map, read and checked entry by entry in chunks of 1 MiB, with the
 * MAC (when `key`) computed over the same bytes; null when the file is absent, not a regular file of at most
 * MAX_CACHE_BYTES, not exactly the document save() writes for this fingerprint (any other format or
 * fingerprint), holds an entry that is not a row, or does not verify. Not the whole text, its bytes, its
 * parsed document and the Map at once: at 300,000 files that was ~100 MiB at the start of a second scan
 * (issue 11: memory whatever the file count). A FIFO or a link planted as the cache neither blocks nor is
 * followed (as safe-read.ts).
 */
/**
 * Whether the body of the signed cache open at `fd` verifies under `key`: a first pass over its bytes in
 * chunks (pread: the file's offset stays at 0), so that a forged file's rows are never taken in. The reader
 * below checks the MAC again over what it parses (the file may change between the two passes).
 */
function macVerifies(fd: number, size: number, key: Uint8Array, chunk: Buffer): boolean {
  const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size), 0);
  const nl = chunk.subarray(0, Math.min(n, 1025)).indexOf(0x0a);
  if (nl < 0) return false;
  const parsed = headerSchema.safeParse(JSON.parse(chunk.subarray(0, nl).toString('utf8')));
  if (!parsed.success) return false;
  const given = Buffer.from(parsed.data.mac, 'base64');
  const hmac = createHmac('sha256', key).update(MAC_CONTEXT);
  hmac.update(chunk.subarray(nl + 1, n));
  for (let at = n; at < size;) {
    const got = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
    if (got === 0) break;
    hmac.update(chunk.subarray(0, got));
    at += got;
  }
  const expected = hmac.digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function readEntries(file: string, fingerprint: string, key: Uint8Array | null): Map<string, Entry> | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | NOFOLLOW | NONBLOCK);
  } catch {
    return null; // absent, a link (ELOOP), unreadable
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile() || stats.size > MAX_CACHE_BYTES) return null;
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    // Authenticated before parsed: a forged file of rows under a made-up MAC was taken in whole (a Map of
    // every row, ~1.7 GB of heap for 400 MiB) before the MAC said no.
    if (key && !macVerifies(fd, stats.size, key, chunk)) return null;
    const decoder = new StringDecoder('utf8');
    const hmac = key ? createHmac('sha256', key).update(MAC_CONTEXT) : null;
    let header: Buffer | null = key ? Buffer.alloc(0) : null; // bytes of the header line until its newline
    const prefix = `{"format":${JSON.stringify(CACHE_FORMAT)},"fingerprint":${JSON.stringify(fingerprint)},"entries":{`;
    const entries = new Map<string, Entry>();
    let text = '';
    // A union, not 'prefix' narrowed: take() moves it.
    let state = 'prefix' as 'prefix' | 'entry' | 'next' | 'end';
    let total = 0;
    let given: Buffer | null = null;
    /** Takes what `text` holds complete; false when it is not the document save() writes. */
    const take = (): boolean => {
      let at = 0;
      for (;;) {
        if (state === 'prefix') {
          if (text.length <= prefix.length) break; // and the character after it
          if (!text.startsWith(prefix)) return false;
          at = prefix.length;
          state = text[at] === '}' ? 'next' : 'entry';
        } else if (state === 'entry') {
          if (at >= text.length) break;
          if (text[at] !== '"') return false;
          const keyEnd = stringEnd(text, at);
          if (keyEnd < 0 || keyEnd + 1 >= text.length) {
            if (text.length - at > MAX_ENTRY_CHARS) return false;
            break;
          }
          if (text[keyEnd] !== ':' || text[keyEnd + 1] !== '[') return false;
          const end = valueEnd(text, keyEnd + 1);
          if (end < 0) {
            if (text.length - at > MAX_ENTRY_CHARS) return false;
            break;
          }
          const row = asRow(JSON.parse(text.slice(keyEnd + 1, end)));
          if (!row) return false;
          entries.set(JSON.parse(text.slice(at, keyEnd)) as string, row);
          at = end;
          state = 'next';
        } else if (state === 'next') {
          if (at >= text.length) break;
          if (text[at] === ',') {
            at++;
            state = 'entry';
          } else if (text[at] === '}') {
            if (at + 1 >= text.length) break;
            if (text[at + 1] !== '}') return false;
            at += 2;
            state = 'end';
          } else return false;
        } else {
          if (at < text.length) return false; // nothing after the document
          break;
        }
      }
      text = text.slice(at);
      return true;
    };
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      total += n;
      if (total > stats.size) return null; // grew while read: not one of ours as it was written
      let body = chunk.subarray(0, n);
      if (header) {
        const nl = body.indexOf(0x0a);
        header = Buffer.concat([header, nl < 0 ? body : body.subarray(0, nl)]);
        if (header.length > 1024) return null;
        if (nl < 0) continue;
        const parsed = headerSchema.safeParse(JSON.parse(header.toString('utf8')));
        if (!parsed.success) return null;
        given = Buffer.from(parsed.data.mac, 'base64');
        header = null;
        body = body.subarray(nl + 1);
      }
      hmac?.update(body);
      text += decoder.write(body);
      if (!take()) return null;
    }
    text += decoder.end();
    if (key && (header !== null || given === null)) return null; // no header line
    if (!take() || state !== 'end') return null;
    if (hmac && given) {
      const expected = hmac.digest();
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    }
    return entries;
  } catch {
    return null; // not JSON where a key or row was expected, a read error
  } finally {
    fs.closeSync(fd);
  }
}

/** A save takes seconds at most: a temporary copy older than this was left by a scan that was killed. */
const OLD_TEMP_MS = 60 * 60 * 1000;

/**
 * Removes the temporary copies that saves killed mid-write (SIGKILL, power loss) left: nothing else ever
 * did, and each was a copy of the cache (~12 MB at 100,000 files, with their names). A fresh one may be
 * another process's save under way (the app's and the CLI's scans): kept.
 */
function removeOldTemps(dir: string, prefix: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  const before = Date.now() - OLD_TEMP_MS;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const temp = path.join(dir, name);
    try {
      const stats = fs.lstatSync(temp);
      if (stats.isFile() && stats.mtimeMs < before) fs.rmSync(temp, { force: true });
    } catch {
      // Gone meanwhile, or not ours to remove: the save goes on.
    }
  }
}

export class AuditCache {
  private entries = new Map<string, Entry>();
  private dirty = false;
  /**
   * Entries looked up with a hit or stored since load: prune() keeps these (no copy of the listing needed;
   * the entries, not their paths, so that no listed name is kept alive twice).
   */
  private readonly seen = new Set<Entry>();

  private constructor(
    private readonly file: string,
    /** The detectors and extractors in use: a change invalidates every entry. */
    private readonly fingerprint: string,
    /** The MAC key (cache-key.ts); the caller owns and zeroes it after save(). */
    private readonly key: Uint8Array | null,
  ) {}

  /**
   * Loads the cache at `file`; anything unreadable, for another fingerprint or (with `key`) whose MAC does
   * not verify starts empty.
   */
  static load(file: string, fingerprint: string, key: Uint8Array | null = null): AuditCache {
    const cache = new AuditCache(file, fingerprint, key);
    const entries = readEntries(file, fingerprint, key);
    // Absent, edited, written without the key, for other detectors, not a file this wrote (a FIFO, a link):
    // replaced, signed, at the next save.
    if (entries) cache.entries = entries;
    else cache.dirty = true;
    return cache;
  }

  /** A cache that holds nothing and is never saved (no key to trust one with). */
  static none(fingerprint: string): AuditCache {
    return new AuditCache('', fingerprint, null);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached outcome when the file is exactly as it was read then. */
  lookup(file: ListedFile): CachedOutcome | undefined {
    const found = this.entries.get(file.path);
    if (!found) return undefined;
    const same = sameFile(found, file);
    if (!same) return undefined;
    this.seen.add(found);
    return outcomeOf(found);
  }

  store(file: ListedFile, outcome: CachedOutcome): void {
    const entry: Stored = { file, outcome };
    this.entries.set(file.path, entry);
    this.seen.add(entry);
    this.dirty = true;
  }

  forget(path: string): void {
    if (this.entries.delete(path)) this.dirty = true;
  }

  /**
   * Drops the entries under `roots` that this scan neither took (lookup) nor stored: files the listing did
   * not find (deleted or moved), or found changed and could not read. The cache does not keep names of files
   * long gone. Call it after a complete scan only.
   */
  prune(roots: readonly string[], within: (p: string, root: string) => boolean): void {
    for (const [path, entry] of this.entries) {
      if (!this.seen.has(entry) && roots.some((r) => within(path, r))) {
        this.entries.delete(path);
        this.dirty = true;
      }
    }
  }

  /**
   * Writes the cache atomically (0600) when something changed, entry by entry: the same JSON as one
   * JSON.stringify of the document, without its copy as an object, its string (~21 MB at 100,000 files),
   * the signed text and the bytes all held at once (issue 11: memory whatever the file count). The header's
   * MAC is known at the end; its line has a fixed length (a 32-byte MAC in base64), so it is written over
   * its place then.
   */
  save(): void {
    if (!this.dirty) return;
    const dir = path.dirname(this.file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const prefix = `.${path.basename(this.file)}.tmp-`;
    removeOldTemps(dir, prefix);
    const temp = path.join(dir, `${prefix}${randomBytes(6).toString('hex')}`);
    const fd = fs.openSync(temp, 'wx', 0o600);
    try {
      const hmac = this.key ? createHmac('sha256', this.key).update(MAC_CONTEXT) : null;
      const header = (mac: string): string => `${JSON.stringify({ format: SIGNED_FORMAT, mac })}\n`;
      const headerBytes = hmac ? Buffer.byteLength(header('A'.repeat(44))) : 0;
      let at = headerBytes;
      // Each entry's text goes into one reused buffer as soon as it is made, not into a string of 1 MiB of
      // entries: that string held every piece until it was written, so the pieces outlived the young
      // generation and were copied into the old one, garbage there until a full collection (the end of a
      // scan of 300,000 files peaked ~25 MiB higher, 90 with a small young generation).
      const chunk = Buffer.allocUnsafe(1 << 20);
      let used = 0;
      const flush = (): void => {
        const bytes = chunk.subarray(0, used);
        hmac?.update(bytes);
        fs.writeSync(fd, bytes, 0, used, at);
        at += used;
        used = 0;
      };
      const put = (text: string): void => {
        // UTF-8 takes at most 3 bytes per UTF-16 unit.
        if (used + text.length * 3 > chunk.length) flush();
        if (text.length * 3 > chunk.length) {
          const bytes = Buffer.from(text);
          hmac?.update(bytes);
          fs.writeSync(fd, bytes, 0, bytes.length, at);
          at += bytes.length;
        } else {
          used += chunk.write(text, used);
        }
      };
      put(
        `{"format":${JSON.stringify(CACHE_FORMAT)},"fingerprint":${JSON.stringify(this.fingerprint)},"entries":{`,
      );
      let first = true;
      for (const [file, entry] of this.entries) {
        put(`${first ? '' : ','}${JSON.stringify(file)}:${entryJson(entry)}`);
        first = false;
      }
      put('}}');
      flush();
      if (hmac) {
        const line = Buffer.from(header(hmac.digest().toString('base64')));
        if (line.length !== headerBytes) throw new Error('audit cache: header length changed');
        fs.writeSync(fd, line, 0, line.length, 0);
      }
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(temp, this.file);
    } catch (error) {
      try {
        fs.closeSync(fd);
      } catch {
        // closed already
      }
      fs.rmSync(temp, { force: true });
      throw error;
    }
    fsyncDir(dir);
    this.dirty = false;
  }
}
