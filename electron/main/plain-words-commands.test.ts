/**
 * Review of issue 12 item 6 ("plain language everywhere"): the reasons a run gives for files it left in the
 * clear reach the employee's screen (a run's list, FileErrors; the Folders page's in-the-clear list) with
 * their hints, and those hints are the CLI's: "`coffer encrypt --replace FILE` protects it", "`find /
 * -samefile FILE` lists them", "Run `coffer protect` on its folder". plainMessage says them for the app.
 * The issues come from the real producers (RunTally, status-index.ts tempIssue), not copies of their text;
 * renderer/src/plain-file-errors.test.tsx checks that the screens pass them through plainMessage.
 */
import { describe, expect, it } from 'vitest';
import { RunTally } from '../services/folders/run-tally.js';
import { tempIssue } from '../services/folders/status-index.js';
import { plainMessage } from '../shared/plain-words.js';

const FOLDER = '/home/ada/Customers';
/** A command to type: backticks, `coffer x` (not ".coffer file"), a flag, a find. */
const COMMAND = /`|(?<![.\w])coffer [a-z]|--replace|-samefile|find \//;

function issues() {
  const tally = new RunTally();
  for (const code of ['CONFLICT', 'HARD_LINK', 'IN_USE'])
    tally.outcome({
      path: `${FOLDER}/${code}.txt`,
      kind: 'skipped',
      code,
      reason: `${code}.txt: in the clear`,
    });
  const report = tally.report('protect', FOLDER, false, performance.now());
  return [...report.skipped, tempIssue(`${FOLDER}/.a.txt.coffer.tmp-0123456789ab`)];
}

describe('plainMessage and the commands in hints', () => {
  it('says what to do in the app instead of a command, for why files stay in the clear', () => {
    const list = issues();
    // The producers do say commands (the CLI prints them): the test would prove nothing otherwise.
    expect(list.filter((i) => COMMAND.test(i.hint)).map((i) => i.code)).toEqual([
      'CONFLICT',
      'HARD_LINK',
      'TEMP_LEFTOVER',
    ]);
    const shown = list.map((i) => plainMessage(i.hint));
    for (const hint of shown) expect(hint).not.toMatch(COMMAND);
    expect(shown[0]).toContain('delete the old .coffer file and protect the folder again');
    expect(shown.at(-1)).toBe(
      'Protect its folder again: Coffer removes what it made and lists what it did not.',
    );
  });

  it('says any other command for people (the hints of errors shown by ErrorNotice and the Overview)', () => {
    const hints = [
      'Run `coffer recovery code` to make a new code for the current device key.',
      'Restore the device key with `coffer restore-device`; keep the damaged entry until then.',
      'Run `coffer state show` to see what it holds (or open Coffer: Overview shows it), then `coffer state confirm` if it is what you or IT set; otherwise restore it from a backup.',
    ];
    for (const hint of hints) expect(plainMessage(hint)).not.toMatch(COMMAND);
    expect(plainMessage(hints[0] ?? '')).toBe('Make a new recovery code on the Recovery page.');
  });
});
