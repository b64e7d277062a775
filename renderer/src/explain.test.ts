import { describe, expect, it } from 'vitest';
import { FS_ERRORS } from '@shared/fs-error-table.js';
import { explain, titleFor } from './explain.js';

/** Errors as the services raise them (their words are for the CLI: a path, a command to type). */
const CLI_WORDED = [
  {
    code: 'STATE_TAMPERED',
    message:
      'The settings (trusted recovery keys, device key ID) file /tmp/coffer-e2e-x/userData/settings.json cannot be trusted: its content does not match its signature. Coffer will not use it.',
    hint: 'Run `coffer state show` to see what it holds (or open Coffer: Overview shows it), then `coffer state confirm` if it is what you or IT set; otherwise restore it from a backup.',
  },
  {
    code: 'STATE_TAMPERED',
    message:
      '/tmp/coffer-e2e-x/userData/settings.json changed again after it was shown; nothing was confirmed',
    hint: 'Run `coffer state show` again and check what the files hold now, then `coffer state confirm`.',
  },
  {
    code: 'SETTINGS_CORRUPT',
    message: 'The settings file /tmp/coffer-e2e-x/userData/settings.json cannot be read',
    hint: 'Restore it from a backup, or move it away and run `coffer state confirm` to start with default settings (the device key stays in the keychain).',
  },
  {
    code: 'REGISTRY_CORRUPT',
    message: '/tmp/coffer-e2e-x/userData/folders.json: the list of protected folders is damaged',
    hint: 'Your files are untouched. Move this file away, run `coffer state confirm`, and add your folders again with `coffer protect`.',
  },
  {
    code: 'KEYCHAIN_ENTRY_DAMAGED',
    message: 'The keychain entry "device-key" does not hold a 32-byte key',
    hint: 'Restore the device key with `coffer restore-device`; keep the damaged entry until then.',
  },
  {
    code: 'STALE_ESCROW',
    message: 'The key record is for another device key',
    hint: 'Run `coffer recovery code` to make a new code and escrow record for the current device key.',
  },
  {
    code: 'NOT_TRUSTED',
    message: 'No trusted recovery key has that ID',
    hint: '`coffer recovery list` shows the trusted recovery keys.',
  },
];

describe('explain: plain words for employees (issue 12 item 6)', () => {
  it.each(CLI_WORDED)('$code: no command to type, no temp path, a title of its own', (error) => {
    const { title, text } = explain(error);
    expect(title).not.toBe('Could not finish');
    expect(text).not.toMatch(/`|coffer [a-z]|\/tmp\/|escrow/);
    expect(text.length).toBeGreaterThan(20);
  });

  it('settings changed outside Coffer: says what to do in the app', () => {
    const first = CLI_WORDED[0];
    if (!first) throw new Error('no case');
    expect(explain(first)).toEqual({
      title: 'Settings changed outside Coffer',
      text: expect.stringContaining('confirm them if you or IT made the change') as string,
    });
    const again = CLI_WORDED[1];
    if (!again) throw new Error('no case');
    expect(explain(again).text).toMatch(/changed again while you were checking them/);
  });

  it('a hint with no command is kept as the service said it', () => {
    expect(
      explain({
        code: 'BAD_PASSPHRASE',
        message: 'The passphrase does not open this key file.',
        hint: 'Type it again.',
      }),
    ).toEqual({
      title: 'Wrong passphrase',
      text: 'The passphrase does not open this key file. Type it again.',
    });
  });
});

describe('titleFor: errno titles from the shared table (electron/shared/fs-error-table.ts)', () => {
  it('titles raw errnos and the codes main turns them into alike', () => {
    expect(titleFor('EACCES')).toBe('Permission denied');
    expect(titleFor('EPERM')).toBe('Permission denied');
    expect(titleFor('EBUSY')).toBe('File in use');
    expect(titleFor('ENOSPC')).toBe('Disk full');
    expect(titleFor('NO_MATCHING_KEY')).toBe('Locked with another key');
    for (const [errno, words] of Object.entries(FS_ERRORS)) {
      expect(titleFor(errno), errno).toBe(titleFor(words.code));
      expect(titleFor(words.code), words.code).not.toBe('Could not finish');
    }
  });

  // A folder run lists each file it left alone with one of these (folders/run-tally.ts); the Folders page
  // shows `path — title: text`, so a generic "Could not finish" would hide why a file stays in the clear.
  it.each([
    'CONFLICT',
    'CONFLICT_COPY',
    'VANISHED',
    'NAME_TOO_LONG',
    'NOT_A_FILE',
    'SYMLINK',
    'STILL_CHANGING',
    'IN_USE',
    'OUTSIDE_FOLDER',
    'HARD_LINK',
  ])('%s, a reason a folder run gives, has a title of its own', (code) => {
    expect(titleFor(code)).not.toBe('Could not finish');
  });
});
