/**
 * The version of what a read finds for the same bytes, for the scan cache's fingerprint (scanner.ts,
 * cache.ts): a SHA-256 of the code that decides it (the detectors and their validators, the extractors, the
 * worker's reading). Any change to that code re-reads every file on the next scan. It was a constant bumped
 * by hand (SCANNER_VERSION, still part of the fingerprint), and a detector change that forgot the bump kept
 * serving the old detectors' counts from the cache.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Modules, relative to this one, whose code decides what a read of the same bytes finds. */
const SOURCES = [
  'detectors/builtin',
  'detectors/checks',
  'detectors/custom',
  'detectors/index',
  'extract/index',
  'extract/errors',
  'extract/decode',
  'extract/markup',
  'extract/containers',
  'extract/zip',
  'extract/rtf',
  'extract/pdf',
  'extract/pdf-read',
  'extract/pdf-worker',
  'scanner-worker',
  'scanner-read',
  'content-name',
];

/**
 * The files of SOURCES beside this module: `.js` in the app's build (tsc, one file per module), `.ts` when
 * run from sources. In a bundle (the benchmark's) they are not there: the bundle file itself stands for the
 * code, which re-reads on any change to it (more often than needed, never less).
 */
export function scannerSourceFiles(): string[] {
  const own = fileURLToPath(import.meta.url);
  const ext = own.endsWith('.ts') ? '.ts' : '.js';
  const files = SOURCES.map((s) => fileURLToPath(new URL(`./${s}${ext}`, import.meta.url)));
  return files.every((f) => existsSync(f)) ? files : [own];
}

/**
 * SHA-256 (hex) over the contents of `files`, in order. A file that cannot be read counts as its path
 * alone: still the same version while it stays unreadable.
 */
export function scannerVersion(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    let content: Buffer | string;
    try {
      content = readFileSync(file);
    } catch {
      content = `unreadable ${file}`;
    }
    hash.update(`${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

let builtIn: string | undefined;

/** scannerVersion(scannerSourceFiles()), read once per process: the code does not change under it. */
export function currentScannerVersion(): string {
  return (builtIn ??= scannerVersion(scannerSourceFiles()));
}
