/**
 * Turns Node file-system errors into CofferErrors with stable codes and a next step a person can take
 * (the words: electron/shared/fs-error-table.ts).
 */
import { CofferError } from '../../crypto/errors.js';
import { fsErrorWords } from '../shared/fs-error-table.js';

export function errnoOf(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** Passes CofferErrors through; wraps fs errors; rethrows anything else (a bug must not look like bad input). */
export function toCofferError(error: unknown, path: string): CofferError {
  if (error instanceof CofferError) return error;
  const errno = errnoOf(error);
  const known = errno === undefined ? undefined : fsErrorWords(errno);
  if (!known) throw error;
  return new CofferError(known.code, `${path}: ${known.what}`, known.hint, { cause: error });
}
