/**
 * One table of words for errno names and Coffer's codes (electron/shared/code-words.ts): the Activity log (plainDetail) and
 * every other screen (plainMessage) say the same thing for the same error, each from a real Node message.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UNKNOWN_ERRNO_WORDS, codeInWords } from '../../shared/code-words.js';
import { plainMessage } from '../../shared/plain-words.js';
import { plainDetail } from './activity-view.js';

/** The message Node gives for `act` (an fs call that fails), with its errno name. */
function failure(act: () => void): { code: string; message: string } {
  try {
    act();
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { code: e.code ?? '', message: e.message };
  }
  throw new Error('the fs call did not fail');
}

describe('one table of words for error codes', () => {
  it('the Activity log and the other screens say a real errno the same way', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-code-words-'));
    try {
      fs.mkdirSync(path.join(dir, 'folder'));
      const cases = [
        failure(() => fs.readFileSync(path.join(dir, 'gone.txt'))),
        failure(() => {
          fs.writeFileSync(path.join(dir, 'folder'), 'x');
        }),
        failure(() => {
          fs.mkdirSync(path.join(dir, 'folder'));
        }),
      ];
      expect(cases.map((c) => c.code)).toEqual(['ENOENT', 'EISDIR', 'EEXIST']);
      for (const { code, message } of cases) {
        const words = codeInWords(code);
        expect(words, code).toBeDefined();
        expect(plainMessage(`Could not save (${message})`), code).toBe(`Could not save (${words})`);
        expect(plainDetail(message), code).toMatch(new RegExp(`^${words}: `));
        expect(plainDetail(`/x/a.txt: ${code}`), code).toBe(`/x/a.txt: ${words}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an errno no table knows is still said in words, and a name from Object.prototype is no code', () => {
    const raw = "EFOOBAR: strange failure, open '/x/a.txt'";
    expect(plainMessage(`Could not save (${raw})`)).toBe(`Could not save (${UNKNOWN_ERRNO_WORDS})`);
    expect(plainDetail(raw)).toBe(`${UNKNOWN_ERRNO_WORDS}: /x/a.txt`);
    expect(codeInWords('constructor')).toBeUndefined();
    expect(codeInWords('toString')).toBeUndefined();
  });
});
