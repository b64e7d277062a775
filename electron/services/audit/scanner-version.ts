/**
 * The version of what a read finds for the same bytes, for the scan cache's fingerprint (scanner.ts,
 * cache.ts): a SHA-256 of the code that decides it (the detectors and their validators, the extractors, the
 * worker's reading). Any change to that code re-reads every file on the next scan. It was a constant bumped
 * by hand (SCANNER_VERSION, still part of the fingerprint), and a detector change that forgot the bump kept
 * serving the old detectors' counts from the cache.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import nodePath from 'node:path';
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
  '../safe-file/names',
];

/**
 * The libraries that take text out of documents (extract/markup.ts, zip.ts, pdf-read.ts): an upgrade can
 * change what a read of the same bytes finds (a PDF whose text layer the old PDF.js could not read), so
 * their package.json (its version) is part of the code too. Without it, an upgraded app kept serving the
 * old extractor's outcome ("no text") for every file it had cached.
 */
const LIBRARIES = ['htmlparser2', 'yauzl', 'unpdf'];

/** The package.json of `name` as resolved from this module; undefined when it cannot be found. */
function packageJsonOf(name: string): string | undefined {
  let dir: string;
  try {
    dir = nodePath.dirname(createRequire(import.meta.url).resolve(name));
  } catch {
    return undefined;
  }
  // Up from the entry point to the package's own folder (its "exports" may hide package.json).
  for (;;) {
    const candidate = nodePath.join(dir, 'package.json');
    try {
      if ((JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown }).name === name) return candidate;
    } catch {
      // no package.json here, or not JSON: go up
    }
    const parent = nodePath.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The files of SOURCES beside this module: `.js` in the app's build (tsc, one file per module), `.ts` when
 * run from sources. In a bundle (the benchmark's) they are not there: the bundle file itself stands for the
 * code, which re-reads on any change to it (more often than needed, never less); it holds the libraries
 * too.
 */
export function scannerSourceFiles(): string[] {
  const own = fileURLToPath(import.meta.url);
  const ext = own.endsWith('.ts') ? '.ts' : '.js';
  const files = SOURCES.map((s) => fileURLToPath(new URL(`./${s}${ext}`, import.meta.url)));
  if (!files.every((f) => existsSync(f))) return [own];
  // A library that cannot be found counts as its name (scannerVersion): the same until it is found.
  return [...files, ...LIBRARIES.map((l) => packageJsonOf(l) ?? `library ${l}`)];
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
