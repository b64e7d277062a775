/**
 * Error codes in plain language for people who are not cryptographers. Main sends a code, a message and
 * often a hint; this adds a title so lists of per-file errors read well.
 */
import type { ErrorInfo } from '@shared/contract.js';
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
  EACCES: 'Permission denied',
  EPERM: 'Permission denied',
  EBUSY: 'File in use',
  ENOSPC: 'Disk full',
  INTERNAL: 'Unexpected problem',
};

export function titleFor(code: string): string {
  return TITLES[code] ?? 'Could not finish';
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
  const text = error.hint ? `${error.message} ${error.hint}` : error.message;
  return { title: titleFor(error.code), text: plainMessage(text) };
}
