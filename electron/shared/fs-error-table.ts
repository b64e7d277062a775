/**
 * Node's file-system errors (errno names) as Coffer says them, in one table: the stable code and the
 * message and hint main gives (electron/services/fs-errors.ts toCofferError, for the CLI, the logs and
 * the app), and the title the app's error lists show when a raw errno reaches them (renderer/src/explain.ts).
 * No Node or DOM imports: the sandboxed renderer imports it too.
 */
export interface FsErrorWords {
  /** The stable code (crypto/errors.ts CofferError). */
  readonly code: string;
  /** Put after the path: `${path}: ${what}`. */
  readonly what: string;
  /** A next step a person can take. */
  readonly hint: string;
  /** The title the app's error lists show, for the errno and for the code it becomes alike. */
  readonly title: string;
}

export const FS_ERRORS: Readonly<Record<string, FsErrorWords>> = {
  EACCES: {
    code: 'PERMISSION_DENIED',
    what: 'permission denied',
    hint: 'Check the file permissions, or run as its owner.',
    title: 'Permission denied',
  },
  EPERM: {
    code: 'PERMISSION_DENIED',
    what: 'operation not permitted',
    hint: 'Check the file permissions and whether another app locks the file.',
    title: 'Permission denied',
  },
  EBUSY: {
    code: 'FILE_LOCKED',
    what: 'the file is in use',
    hint: 'Close the app that uses it and try again.',
    title: 'File in use',
  },
  ENOSPC: {
    code: 'DISK_FULL',
    what: 'the disk is full',
    hint: 'Free some space and try again; nothing was lost.',
    title: 'Disk full',
  },
  EDQUOT: {
    code: 'DISK_FULL',
    what: 'the disk quota is exhausted',
    hint: 'Free some space and try again; nothing was lost.',
    title: 'Disk full',
  },
  EROFS: {
    code: 'READ_ONLY_FS',
    what: 'the file system is read-only',
    hint: 'Files on a read-only disk cannot be protected in place; copy them to a writable folder.',
    title: 'Read-only disk',
  },
  ENOENT: {
    code: 'NOT_FOUND',
    what: 'no such file',
    hint: 'The file was moved or deleted; check the path.',
    title: 'Not found',
  },
  ENAMETOOLONG: {
    code: 'NAME_TOO_LONG',
    what: 'the name is too long',
    hint: 'Shorten the file name and try again.',
    title: 'Name too long',
  },
  ELOOP: {
    code: 'SYMLINK',
    what: 'it is a symbolic link',
    hint: 'Coffer never follows links; protect the file they point to instead.',
    title: 'A link, not a file',
  },
  EISDIR: {
    code: 'NOT_A_FILE',
    what: 'it is a folder',
    hint: 'Pick a file, or protect the folder.',
    title: 'Not a file',
  },
  EEXIST: {
    code: 'ALREADY_EXISTS',
    what: 'the target already exists',
    hint: 'Move the existing file away, or use --force.',
    title: 'Already exists',
  },
  EIO: {
    code: 'IO_ERROR',
    what: 'the disk reported an I/O error',
    hint: 'Check the disk; copy what you can to another disk.',
    title: 'Disk error',
  },
};

/** The table's entry for an errno name, or undefined for one it does not know (or a Coffer code). */
export function fsErrorWords(errno: string): FsErrorWords | undefined {
  return Object.hasOwn(FS_ERRORS, errno) ? FS_ERRORS[errno] : undefined;
}

/** The title of an errno or of the Coffer code the table turns it into (EACCES and PERMISSION_DENIED alike). */
export function fsErrorTitle(code: string): string | undefined {
  return fsErrorWords(code)?.title ?? Object.values(FS_ERRORS).find((words) => words.code === code)?.title;
}
