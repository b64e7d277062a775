/**
 * One error class for all of Coffer, with a stable `code` that scripts, the UI and tests rely on, and a
 * `hint` that tells a person what to do next. Crypto codes are specified in docs/FORMAT.md §7.
 */
export type CryptoErrorCode =
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  | 'HEADER_TOO_LARGE'
  | 'MALFORMED_HEADER'
  | 'HEADER_AUTH_FAILED'
  | 'NO_MATCHING_KEY'
  | 'MALFORMED_METADATA'
  | 'AUTH_FAILED'
  | 'TRUNCATED'
  | 'UNEXPECTED_FINAL'
  | 'TRAILING_DATA'
  | 'SOURCE_CHANGED'
  | 'NAME_TOO_LONG'
  | 'INVALID_ARGUMENT';

const cryptoHints: Record<CryptoErrorCode, string> = {
  BAD_MAGIC: 'This is not a Coffer file, or its first bytes were damaged.',
  UNSUPPORTED_VERSION: 'This file was written by a newer Coffer: update Coffer to open it.',
  HEADER_TOO_LARGE: 'The file is damaged or was crafted to attack Coffer: restore it from a backup.',
  MALFORMED_HEADER: 'The file header is damaged: restore the file from a backup.',
  HEADER_AUTH_FAILED: 'The file header was altered: restore the file from a backup.',
  NO_MATCHING_KEY:
    'None of your keys opens this file: use the key whose ID is named (another device, or the organization recovery key).',
  MALFORMED_METADATA: 'The file was written by a faulty tool: report it, and restore the file from a backup.',
  AUTH_FAILED: 'The file is damaged or was tampered with: restore it from a backup.',
  TRUNCATED: 'The file was cut short (an interrupted copy or download?): find a complete copy.',
  UNEXPECTED_FINAL: 'The file is damaged: restore it from a backup.',
  TRAILING_DATA: 'Bytes were appended to the file: restore it from a backup.',
  SOURCE_CHANGED: 'The file changed while it was being read: try again once it is no longer being written.',
  NAME_TOO_LONG: 'The file name is too long to store: rename the file and try again.',
  INVALID_ARGUMENT: 'Coffer was called with an invalid argument: report this as a bug.',
};

export class CofferError extends Error {
  override readonly name = 'CofferError';

  constructor(
    readonly code: string,
    message: string,
    readonly hint: string = code in cryptoHints ? cryptoHints[code as CryptoErrorCode] : '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function cryptoError(code: CryptoErrorCode, message: string): CofferError {
  return new CofferError(code, message, cryptoHints[code]);
}

export function isCofferError(error: unknown, code?: string): error is CofferError {
  return error instanceof CofferError && (code === undefined || error.code === code);
}
