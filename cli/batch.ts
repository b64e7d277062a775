/** Runs one operation per path, so one bad file never stops the others; collects results and failures. */
import fs from 'node:fs';
import path from 'node:path';
import { isProtectedName } from '../electron/services/safe-file.js';
import { toFailure, type Failure } from './output.js';

export interface BatchResult<T> {
  results: (T & { path: string })[];
  failures: Failure[];
}

export async function forEachPath<T extends object>(
  paths: readonly string[],
  operation: (path: string) => T | Promise<T>,
  onFailure: (failure: Failure) => void,
): Promise<BatchResult<T>> {
  const results: (T & { path: string })[] = [];
  const failures: Failure[] = [];
  for (const p of paths) {
    try {
      results.push({ path: p, ...(await operation(p)) });
    } catch (error) {
      const failure = toFailure(error, p);
      failures.push(failure);
      onFailure(failure);
    }
  }
  return { results, failures };
}

/** Sum of file sizes, for the progress bar; unreadable paths count as 0 (their error comes later). */
export function totalSize(paths: readonly string[]): number {
  let total = 0;
  for (const p of paths) {
    try {
      total += fs.statSync(p).size;
    } catch {
      // reported by the operation itself
    }
  }
  return total;
}

export interface FoundFile {
  path: string;
  /** The folder, relative to the folder given on the command line, that held it ('' for a file given directly). */
  relativeDir: string;
}

/** The `.coffer` files named, and those inside the folders named (recursively; links are not followed). */
export function collectProtectedFiles(paths: readonly string[]): { files: FoundFile[]; missing: string[] } {
  const files: FoundFile[] = [];
  const missing: string[] = [];
  for (const p of paths) {
    let stats: fs.Stats;
    try {
      stats = fs.lstatSync(p);
    } catch {
      missing.push(p);
      continue;
    }
    if (!stats.isDirectory()) {
      files.push({ path: p, relativeDir: '' });
      continue;
    }
    const walk = (dir: string): void => {
      for (const entry of fs
        .readdirSync(dir, { withFileTypes: true })
        .sort((a, b) => a.name.localeCompare(b.name))) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.isFile() && isProtectedName(entry.name)) {
          files.push({ path: full, relativeDir: path.relative(p, dir) });
        }
      }
    };
    walk(p);
  }
  return { files, missing };
}
