/**
 * FORMAT.md §7 lists every error code Coffer can report. This scans the source for the codes a CofferError
 * can carry (and the codes of skipped/failed entries the CLI prints) and checks each is in the table, so a
 * code added anywhere without a row fails here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

/** errno names are matched on, never reported. */
const ERRNO = /^E[A-Z]+$/;

function codesInSource(): Map<string, string> {
  const found = new Map<string, string>();
  const add = (code: string, file: string) => {
    if (!ERRNO.test(code) && !found.has(code)) found.set(code, relative(repo, file));
  };
  for (const file of ['crypto', 'cli', 'electron/services'].flatMap((d) => sources(join(repo, d)))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new CofferError\(\s*'([A-Z][A-Z_]+)'/g)) add(m[1] ?? '', file);
    for (const m of text.matchAll(/cryptoError\(\s*'([A-Z][A-Z_]+)'/g)) add(m[1] ?? '', file);
    for (const m of text.matchAll(/\bcode:\s*'([A-Z][A-Z_]+)'/g)) add(m[1] ?? '', file);
  }
  return found;
}

function codesInTable(): Set<string> {
  const format = readFileSync(join(repo, 'docs', 'FORMAT.md'), 'utf8');
  const start = format.indexOf('## 7. Errors');
  const section = format.slice(start, format.indexOf('\n## 8.', start));
  return new Set([...section.matchAll(/^\| `([A-Z_]+)`/gm)].map((m) => m[1] ?? ''));
}

it('FORMAT.md §7 lists every error code the source can report', () => {
  const table = codesInTable();
  const found = codesInSource();
  expect(found.size).toBeGreaterThan(40);
  const missing = [...found].filter(([code]) => !table.has(code)).map(([code, file]) => `${code} (${file})`);
  expect(missing, 'add a row to docs/FORMAT.md §7 for each').toEqual([]);
});
