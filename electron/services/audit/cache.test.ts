/**
 * AuditCache.load checks each entry (cache.ts entriesOf): a file with one entry that is not an entry, or
 * entries that are not an object, is ignored whole, as when the document was checked by one schema.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditCache } from './cache.js';

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
