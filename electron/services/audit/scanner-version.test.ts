/**
 * The scan cache's version comes from the code that decides what a read finds (scanner-version.ts): a change
 * to a detector re-reads every file. It was a constant bumped by hand; a detector change that forgot the bump
 * kept serving the old detectors' counts from the cache.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { guardRailsFor } from '../folders/guard-rails.js';
import { AuditService } from './scanner.js';
import { scannerSourceFiles, scannerVersion } from './scanner-version.js';

const dirs: string[] = [];
function temp(label: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `coffer-audit-${label}-`)));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('scan cache version', () => {
  it('covers the detectors, the validators and the extractors, from the sources beside it', () => {
    const files = scannerSourceFiles().map((f) => path.relative(import.meta.dirname, f));
    for (const f of ['detectors/builtin', 'detectors/checks', 'detectors/custom', 'extract/decode'])
      expect(files).toContain(`${f}.ts`);
    expect(scannerVersion(scannerSourceFiles())).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a changed detector source re-reads every file instead of serving the old counts from the cache', async () => {
    // Copies of the real sources stand for "the code": the test edits a copy, never the tree.
    const code = temp('code');
    const sources = scannerSourceFiles().map((f) => {
      const copy = path.join(code, path.relative(import.meta.dirname, f));
      fs.mkdirSync(path.dirname(copy), { recursive: true });
      fs.copyFileSync(f, copy);
      return copy;
    });
    const appHome = temp('app');
    const root = temp('root');
    fs.writeFileSync(path.join(root, 'a.csv'), 'ann@example.com,4111 1111 1111 1111\n');
    fs.writeFileSync(path.join(root, 'b.txt'), 'GB82 WEST 1234 5698 7654 32\n');
    const make = (): AuditService =>
      new AuditService({
        backend: 'wasm',
        appHome,
        homedir: temp('home'),
        policy: () => ({}),
        protectedFolders: () => [],
        identities: () => Promise.resolve([]),
        guard: guardRailsFor(appHome, process.env),
        workers: 1,
        scannerSources: sources,
      });
    const first = make();
    try {
      expect((await first.scan([root])).summary.fromCache).toBe(0);
      expect((await first.scan([root])).summary.fromCache).toBe(2); // unchanged code: from the cache
      const checks = sources.find((f) => f.endsWith(`checks${path.extname(f)}`)) ?? '';
      fs.appendFileSync(checks, '\n// a validator changed\n');
      const again = await first.scan([root]);
      expect(again.summary.fromCache).toBe(0);
      expect(again.summary.filesScanned).toBe(2);
    } finally {
      await first.close();
    }
  }, 60_000);
});
