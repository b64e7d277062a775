import { describe, expect, it } from 'vitest';
import { RunTally } from '../../services/folders/run-tally.js';
import { tempIssue } from '../../services/folders/status-index.js';
import { fileErrorForPeople } from './file-issue-words.js';

const FOLDER = '/tmp/coffer-e2e-x/Customers';

describe('fileErrorForPeople', () => {
  it('a hard link: named in its folder, plain words, no path or command', () => {
    const issue = {
      path: `${FOLDER}/price-list.txt`,
      code: 'HARD_LINK',
      message: `${FOLDER}/price-list.txt: 1 other hard link(s) share its content, which they would keep in the clear`,
      hint: 'Remove the other names (`find / -samefile FILE` lists them) or replace this one with a copy of itself, then protect again.',
    };
    const shown = fileErrorForPeople(issue, FOLDER);
    expect(shown.path).toBe('price-list.txt');
    expect(shown.message).toBe(
      'this file also has another name on this computer (a hard link); encrypting it here would leave its content readable under that name',
    );
    expect(`${shown.message} ${shown.hint ?? ''}`).not.toMatch(/\/tmp\/|`|find \/|samefile/);
    expect(shown.hint).toMatch(/file manager.*Protect now/);
    expect(
      fileErrorForPeople({ ...issue, message: issue.message.replace('1 other', '3 other') }, FOLDER).message,
    ).toMatch(/has 3 other names/);
  });

  it('any other reason, as the producers word it: no full path left, in a subfolder too', () => {
    const tally = new RunTally();
    tally.outcome({
      path: `${FOLDER}/2025/offer.docx`,
      kind: 'skipped',
      code: 'IN_USE',
      reason: `${FOLDER}/2025/offer.docx: in use`,
    });
    const report = tally.report('protect', FOLDER, false, performance.now());
    const issues = [...report.skipped, tempIssue(`${FOLDER}/.a.txt.coffer.tmp-0123456789ab`)];
    const shown = issues.map((i) => fileErrorForPeople(i, FOLDER));
    expect(shown.map((s) => s.path)).toEqual(['2025/offer.docx', '.a.txt.coffer.tmp-0123456789ab']);
    for (const s of shown) expect(`${s.message} ${s.hint ?? ''}`).not.toContain(FOLDER);
    expect(shown[0]?.message).toBe('in use');
  });
});
