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

describe('scan cache version and the extractor libraries (adversarial review)', () => {
  it('an upgraded PDF, zip or markup library re-reads every file', async () => {
    // The libraries decide what a read finds as much as the sources do (a PDF whose text the old PDF.js
    // missed); only the sources were hashed, so an upgrade kept the old "no text" outcomes in the cache.
    const code = temp('code-lib');
    const sources = scannerSourceFiles().map((f, i) => {
      const copy = path.join(code, String(i), path.basename(f));
      fs.mkdirSync(path.dirname(copy), { recursive: true });
      fs.copyFileSync(f, copy);
      return copy;
    });
    const pdfjs = sources.find((f) => {
      if (path.basename(f) !== 'package.json') return false;
      return (JSON.parse(fs.readFileSync(f, 'utf8')) as { name?: string }).name === 'unpdf';
    });
    expect(pdfjs, 'unpdf/package.json among the scanner version sources').toBeDefined();
    const appHome = temp('app-lib');
    const root = temp('root-lib');
    fs.writeFileSync(path.join(root, 'a.csv'), 'ann@example.com\n');
    const audit = new AuditService({
      backend: 'wasm',
      appHome,
      homedir: temp('home-lib'),
      policy: () => ({}),
      protectedFolders: () => [],
      identities: () => Promise.resolve([]),
      guard: guardRailsFor(appHome, process.env),
      workers: 1,
      scannerSources: sources,
    });
    try {
      expect((await audit.scan([root])).summary.fromCache).toBe(0);
      expect((await audit.scan([root])).summary.fromCache).toBe(1);
      const pkg = JSON.parse(fs.readFileSync(pdfjs ?? '', 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(pdfjs ?? '', JSON.stringify({ ...pkg, version: '999.0.0' }));
      expect((await audit.scan([root])).summary.fromCache).toBe(0);
    } finally {
      await audit.close();
    }
  }, 60_000);
});
