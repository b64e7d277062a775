/**
 * Main's CofferErrors for file-system errors, from the one table of their words
 * (electron/shared/fs-error-table.ts; the app's titles from it: renderer/src/explain.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toCofferError } from './fs-errors.js';

const dir = mkdtempSync(join(tmpdir(), 'coffer-fs-errors-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The error a real fs call throws. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('the call did not fail');
}

describe('file-system errors, said from one table', () => {
  it('a real ENOENT and EISDIR become NOT_FOUND and NOT_A_FILE with the path, the words and a hint', () => {
    const missing = join(dir, 'gone.txt');
    const notFound = toCofferError(
      thrownBy(() => readFileSync(missing)),
      missing,
    );
    expect(notFound.code).toBe('NOT_FOUND');
    expect(notFound.message).toBe(`${missing}: no such file`);
    expect(notFound.hint).toBe('The file was moved or deleted; check the path.');
    const folder = toCofferError(
      thrownBy(() => readFileSync(dir)),
      dir,
    );
    expect(folder.code).toBe('NOT_A_FILE');
    expect(folder.message).toBe(`${dir}: it is a folder`);
  });

  it('an error that is no fs error is thrown again, not dressed as one', () => {
    const bug = new TypeError('a bug');
    expect(() => toCofferError(bug, '/x')).toThrow(bug);
  });
});
