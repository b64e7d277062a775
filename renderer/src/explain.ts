/**
 * Error codes in plain language for people who are not cryptographers. Main sends a code, a message and
 * often a hint; this adds a title so lists of per-file errors read well.
 */
import type { ErrorInfo } from '@shared/contract.js';
import { fsErrorTitle } from '@shared/fs-error-table.js';
import { plainMessage } from '@shared/plain-words.js';

const TITLES: Record<string, string> = {
  BAD_MAGIC: 'Not a Coffer file',
  UNSUPPORTED_VERSION: 'Needs a newer Coffer',
  HEADER_TOO_LARGE: 'Damaged file',
  MALFORMED_HEADER: 'Damaged file',
  HEADER_AUTH_FAILED: 'File was altered',
  NO_MATCHING_KEY: 'Locked with another key',
  MALFORMED_METADATA: 'Written by a faulty tool',
  AUTH_FAILED: 'Damaged or tampered file',
  TRUNCATED: 'Incomplete copy',
  UNEXPECTED_FINAL: 'Damaged file',
  TRAILING_DATA: 'Extra data appended',
  SOURCE_CHANGED: 'File changed while reading',
  NAME_TOO_LONG: 'Name too long',
  NO_DEVICE_KEY: 'This device key is missing',
  KEYCHAIN_UNAVAILABLE: 'Keychain unavailable',
  BAD_PASSPHRASE: 'Wrong passphrase',
  BAD_KEY_FILE: 'Not a recovery key file',
  BAD_RECOVERY_CODE: 'Typo in the recovery code',
  WRONG_RECOVERY_CODE: 'Not the right recovery code',
  RECOVERY_CODE_USED: 'Recovery code already used',
  RECORD_UNREADABLE: 'Not a key record',
  NO_RECORD_PICKED: 'No key record chosen',
  NO_ESCROW: 'No key record here',
  POLICY_LOCKED: 'Set by your organization',
  BAD_PUBLIC_KEY: 'Not a valid recovery key line',
  BAD_KEY_ID: 'Not a key ID',
  NOT_TRUSTED: 'Key not trusted',
  ESCROW_COPY_LEFT: 'Copy of the key record left behind',
  FORBIDDEN_SENDER: 'Request refused',
  INVALID_REQUEST: 'Request refused',
  STATE_TAMPERED: 'Settings changed outside Coffer',
  SETTINGS_CORRUPT: 'Settings cannot be read',
  REGISTRY_CORRUPT: 'List of folders cannot be read',
  KEYCHAIN_ENTRY_DAMAGED: 'Key in the keychain damaged',
  STALE_ESCROW: 'Recovery code out of date',
  INTERNAL: 'Unexpected problem',
  // Why a folder run left a file as it was (folders/run-tally.ts).
  CONFLICT: 'Two versions of the file',
  CONFLICT_COPY: 'Copy kept beside the file',
  VANISHED: 'File moved or deleted',
  STILL_CHANGING: 'Still being written',
  IN_USE: 'Open in another program',
  OUTSIDE_FOLDER: 'Folder moved during the run',
  HARD_LINK: 'File has other names',
};

/**
 * What to do, said for the app, where the services' hint is a command to type (`coffer state confirm`,
 * `coffer recovery code`…: right in the CLI, which prints it) or the message names a file by its full path.
 * `text` replaces message and hint; `hint` only the hint.
 */
const IN_THE_APP: Record<string, { text?: (message: string) => string; hint?: string }> = {
  STATE_TAMPERED: {
    text: (message) =>
      /changed again after it was shown/.test(message)
        ? 'The settings changed again while you were checking them, so nothing was confirmed. Check what they hold now on the Overview and confirm again.'
        : 'Something other than Coffer changed its settings, so Coffer does not use them until you confirm them. Check what they hold on the Overview and confirm them if you or IT made the change; otherwise ask IT to restore them from a backup.',
  },
  SETTINGS_CORRUPT: {
    text: () =>
      'Coffer’s settings file is damaged. Ask IT to restore it from a backup; your protected files stay protected and the key stays in the keychain.',
  },
  REGISTRY_CORRUPT: {
    text: () =>
      'Coffer’s list of protected folders is damaged. Your files are untouched. Ask IT to restore it from a backup, or to reset it so you can add your folders again.',
  },
  KEYCHAIN_ENTRY_DAMAGED: {
    hint: 'Restore your key on the Recovery page with your recovery code, or ask the helpdesk. Do not delete anything from the keychain until then.',
  },
  NO_DEVICE_KEY: { hint: 'Close and open Coffer again; if it happens again, tell IT.' },
  NO_ESCROW: { hint: 'Make a recovery code on the Recovery page.' },
  STALE_ESCROW: { hint: 'Make a new recovery code on the Recovery page.' },
  BAD_KEY_FILE: {
    hint: 'Choose the organization recovery key file IT made, not a .coffer file or a copy cut short.',
  },
  BAD_PUBLIC_KEY: { hint: 'Copy the whole line IT gave you again, from its start to its end.' },
  BAD_KEY_ID: {
    hint: 'A key ID is 16 hex digits, e.g. 3f9a-12bc-0e77-a1d4, as the Recovery page shows them.',
  },
  NOT_TRUSTED: { hint: 'The Recovery page lists the trusted recovery keys.' },
  NOT_A_FOLDER: { hint: 'Choose a folder: Coffer protects folders.' },
  FOLDER_NOT_FOUND: { hint: 'The Folders page lists the protected folders.' },
  REPORT_KEY_CHANGED: { hint: 'Tell IT; the next report is made with the current key.' },
  AUDIT_KEY_MISSING: { hint: 'Tell IT: they must look at the audit log before a new one can start.' },
};

/** The title for a Coffer code, or for a raw errno (its words: electron/shared/fs-error-table.ts). */
export function titleFor(code: string): string {
  return TITLES[code] ?? fsErrorTitle(code) ?? 'Could not finish';
}

/**
 * The title and text an employee reads (issue 12 item 6): errno and developer words said plainly
 * (plain-words.ts); a refused request says what to do, not which schema field failed. The code is shown
 * beside it (ErrorNotice), unchanged.
 */
export function explain(error: ErrorInfo): { title: string; text: string } {
  if (error.code === 'INVALID_REQUEST')
    return {
      title: titleFor(error.code),
      text: 'Coffer’s window asked for something the app does not accept, so nothing was done. Close and open Coffer again; if it happens again, tell IT.',
    };
  const app = IN_THE_APP[error.code];
  if (app?.text) return { title: titleFor(error.code), text: app.text(error.message) };
  const hint = app?.hint ?? error.hint;
  const text = hint ? `${error.message} ${hint}` : error.message;
  return { title: titleFor(error.code), text: plainMessage(text) };
}
