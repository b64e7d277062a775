/** Turns Node file-system errors into CofferErrors with stable codes and a next step a person can take. */
import { CofferError } from '../../crypto/errors.js';

const byErrno: Record<string, { code: string; what: string; hint: string }> = {
  EACCES: {
    code: 'PERMISSION_DENIED',
    what: 'permission denied',
    hint: 'Check the file permissions, or run as its owner.',
  },
  EPERM: {
    code: 'PERMISSION_DENIED',
    what: 'operation not permitted',
    hint: 'Check the file permissions and whether another app locks the file.',
  },
  EBUSY: {
    code: 'FILE_LOCKED',
    what: 'the file is in use',
    hint: 'Close the app that uses it and try again.',
  },
  ENOSPC: {
    code: 'DISK_FULL',
    what: 'the disk is full',
    hint: 'Free some space and try again; nothing was lost.',
  },
  EDQUOT: {
    code: 'DISK_FULL',
    what: 'the disk quota is exhausted',
    hint: 'Free some space and try again; nothing was lost.',
  },
  EROFS: {
    code: 'READ_ONLY_FS',
    what: 'the file system is read-only',
    hint: 'Files on a read-only disk cannot be protected in place; copy them to a writable folder.',
  },
  ENOENT: { code: 'NOT_FOUND', what: 'no such file', hint: 'The file was moved or deleted; check the path.' },
  ENAMETOOLONG: {
    code: 'NAME_TOO_LONG',
    what: 'the name is too long',
    hint: 'Shorten the file name and try again.',
  },
  ELOOP: {
    code: 'SYMLINK',
    what: 'it is a symbolic link',
    hint: 'Coffer never follows links; protect the file they point to instead.',
  },
  EISDIR: { code: 'NOT_A_FILE', what: 'it is a folder', hint: 'Pick a file, or protect the folder.' },
  EEXIST: {
    code: 'ALREADY_EXISTS',
    what: 'the target already exists',
    hint: 'Move the existing file away, or use --force.',
  },
  EIO: {
    code: 'IO_ERROR',
    what: 'the disk reported an I/O error',
    hint: 'Check the disk; copy what you can to another disk.',
  },
};

export function errnoOf(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** Passes CofferErrors through; wraps fs errors; rethrows anything else (a bug must not look like bad input). */
export function toCofferError(error: unknown, path: string): CofferError {
  if (error instanceof CofferError) return error;
  const errno = errnoOf(error);
  const known = errno === undefined ? undefined : byErrno[errno];
  if (!known) throw error;
  return new CofferError(known.code, `${path}: ${known.what}`, known.hint, { cause: error });
}
