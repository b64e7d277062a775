/** A temp folder for a test file's runs, made at load and removed after its tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export function tempBase(prefix: string): string {
  const base = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => {
    rmSync(base, { recursive: true, force: true });
  });
  return base;
}
