/**
 * Review of issue 12 item 6: a run's list of files left in the clear (FileErrors) shows their hints said for
 * people (plainMessage), not the CLI's commands. The hints here are RunTally's and status-index.ts's as the
 * CLI prints them (electron/main/plain-words-commands.test.ts takes them from those producers).
 */
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { FileErrors } from './components.js';

const FOLDER = '/home/ada/Customers';
const COMMAND = /`|(?<![.\w])coffer [a-z]|--replace|-samefile|find \//;

describe('FileErrors', () => {
  it('shows no command to type, and still says what to do', () => {
    const html = renderToStaticMarkup(
      <FileErrors
        errors={[
          {
            path: `${FOLDER}/offer.txt`,
            code: 'CONFLICT',
            message: `${FOLDER}/offer.txt: both offer.txt and offer.txt.coffer exist`,
            hint: 'Both copies were kept. If the plaintext is your edited copy, `coffer encrypt --replace FILE` protects it over the old .coffer; otherwise delete the copy you do not want.',
          },
          {
            path: `${FOLDER}/.a.txt.coffer.tmp-0123456789ab`,
            code: 'TEMP_LEFTOVER',
            message: `${FOLDER}/.a.txt.coffer.tmp-0123456789ab: a temporary file of an interrupted run`,
            hint: 'Run `coffer protect` on its folder: it removes what Coffer made and lists what it did not.',
          },
        ]}
      />,
    );
    expect(html).not.toMatch(COMMAND);
    expect(html).toContain('delete the old .coffer file and protect the folder again');
    expect(html).toContain('Protect its folder again');
  });
});
