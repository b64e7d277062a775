/**
 * AuditCache.load checks each entry (cache.ts readEntries): a file with one entry that is not an entry, or
 * entries that are not an object, is ignored whole, as when the document was checked by one schema.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditCache, type CachedOutcome } from './cache.js';

const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-audit-cache-')));
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A row of the cache file (cache.ts Row): size, mtime, ctime, inode, device, counts, modified. */
const entry = (findings: Record<string, number>) => [10, 1, 1, 7, 1, findings, 1];

function load(entries: unknown): AuditCache {
  const file = path.join(dir, 'cache.json');
  fs.writeFileSync(file, JSON.stringify({ format: 'coffer-audit-cache-2', fingerprint: 'fp', entries }), {
    mode: 0o600,
  });
  return AuditCache.load(file, 'fp');
}

describe('AuditCache.load', () => {
  it('keeps valid entries and answers for an unchanged file', () => {
    const cache = load({ '/a.csv': entry({ email: 2 }), '/b.csv': entry({}) });
    expect(cache.size).toBe(2);
    const listed = { path: '/a.csv', size: 10, mtimeMs: 1, ctimeMs: 1, ino: 7, dev: 1 };
    expect(cache.lookup({ ...listed, protected: false, inProtectedFolder: false })).toEqual({
      kind: 'scanned',
      findings: { email: 2 },
      modifiedMs: 1,
    });
  });

  it.each([
    ['a negative count', { '/a.csv': entry({ email: 2 }), '/b.csv': entry({ email: -1 }) }],
    ['an entry without its outcome', { '/a.csv': [1, 1, 1, 1, 1] }],
    ['counts with a string for the modified time', { '/a.csv': [1, 1, 1, 1, 1, {}, 'x'] }],
    ['an entry of the first format', { '/a.csv': { size: 1, mtimeMs: 1, ctimeMs: 1, ino: 1, dev: 1 } }],
    ['entries as a list', [entry({ email: 1 })]],
    ['entries as a string', 'x'],
  ])('ignores the whole cache for %s', (_, entries) => {
    expect(load(entries).size).toBe(0);
  });
});

/**
 * The cache is read in chunks of 1 MiB (cache.ts readEntries), entry by entry: names with quotes,
 * backslashes and characters of several UTF-8 bytes fall across chunk ends, and the MAC is computed over
 * the same chunks.
 */
describe('AuditCache read in chunks', () => {
  const key = new Uint8Array(32).fill(7);
  const names = Array.from(
    { length: 30_000 },
    (_, i) => `/d/${'é€😀"\\'.repeat(i % 7)}kund-${i}${i % 3 === 0 ? '\n' : ''}.csv`,
  );
  const file = path.join(dir, 'chunks.json');
  const listed = (p: string, i: number) => ({
    path: p,
    size: i,
    mtimeMs: 1_700_000_000_000.25 + i,
    ctimeMs: 1_700_000_000_000.5 + i,
    ino: 2 ** 40 + i,
    dev: 64_769,
    protected: false,
    inProtectedFolder: false,
  });
  const outcome = (i: number): CachedOutcome =>
    i % 5 === 0
      ? ({ kind: 'content', code: 'NO_TEXT', reason: `no "text" in ${i} ✓` } as const)
      : ({ kind: 'scanned', findings: i % 2 ? { email: i, 'org "x"': 1 } : {}, modifiedMs: i } as const);

  it('gives back every entry as saved, signed or not, over 1 MiB', () => {
    for (const k of [key, null]) {
      const saved = AuditCache.load(file, 'fp', k);
      names.forEach((p, i) => {
        saved.store(listed(p, i), outcome(i));
      });
      saved.save();
      expect(fs.statSync(file).size).toBeGreaterThan(3 * 1024 * 1024);
      const loaded = AuditCache.load(file, 'fp', k);
      expect(loaded.size).toBe(names.length);
      names.forEach((p, i) => {
        expect(loaded.lookup(listed(p, i))).toEqual(outcome(i));
      });
    }
  });

  it('refuses the whole file when one byte deep inside is changed, or it is cut short', () => {
    const saved = AuditCache.load(file, 'fp', key);
    names.forEach((p, i) => {
      saved.store(listed(p, i), outcome(i));
    });
    saved.save();
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf('"email":29', 2 * 1024 * 1024);
    expect(at).toBeGreaterThan(0);
    const edited = Buffer.from(bytes);
    edited[at + 9] = 0x31; // 29... -> 19...
    fs.writeFileSync(file, edited);
    expect(AuditCache.load(file, 'fp', key).size).toBe(0);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 1));
    expect(AuditCache.load(file, 'fp', key).size).toBe(0);
    fs.writeFileSync(file, bytes);
    expect(AuditCache.load(file, 'fp', key).size).toBe(names.length);
    expect(AuditCache.load(file, 'other', key).size).toBe(0);
  });
});
