/**
 * Gives a file to other recipients by rewriting only its header (FORMAT.md §8): the file is cloned (a
 * reflink where the file system offers one), the new header written over the clone's, the clone's new
 * header authenticated, and the clone renamed over the original. A kill at any moment leaves the original,
 * which the old keys still open.
 */
import {
  closeSync,
  constants,
  copyFileSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import { readHeaderFd, rewrapHeader, writeFully } from '../../../crypto/file.js';
import type { Identity, Recipient } from '../../../crypto/keys.js';
import { DecryptSession } from '../../../crypto/session.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { toCofferError } from '../fs-errors.js';
import { fsyncDir, removeQuietly } from './durable.js';
import { tempPathFor } from './names.js';
import { NOFOLLOW, openRegularForRead, sameFile } from './open.js';

/** Rewrites the header of `path` for `recipients`; `verifyWith` must open the result. */
export function rekeyFile(
  sodium: SodiumBackend,
  path: string,
  identities: readonly Identity[],
  recipients: readonly Recipient[],
  verifyWith: readonly Identity[],
): { headerBytes: number; fileBytes: number } {
  try {
    const { fd, stats } = openRegularForRead(path);
    let newHeader: Uint8Array;
    let oldLength: number;
    try {
      const oldHeader = readHeaderFd(fd);
      oldLength = oldHeader.length;
      // FORMAT.md §4.1: keep the length (padding absorbs the change) so the clone path is taken.
      newHeader = rewrapHeader(sodium, oldHeader, identities, recipients, 'same-or-roomy');
      const temp = tempPathFor(path);
      try {
        if (newHeader.length === oldHeader.length) {
          copyFileSync(path, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
          const out = openSync(temp, constants.O_RDWR | NOFOLLOW);
          try {
            // The clone must be of the file read above: one saved meanwhile has another header (new file key).
            const cloned = new Uint8Array(oldHeader.length);
            readSync(out, cloned, 0, cloned.length, 0); // positional: the offset stays at 0
            if (fstatSync(out).size !== stats.size || !sodium.equal(cloned, oldHeader))
              throw changedWhileRekeyed(path);
            writeFully(out, newHeader);
            fsyncSync(out);
          } finally {
            closeSync(out);
          }
        } else {
          copyWithHeader(fd, temp, oldHeader.length, newHeader, stats.mode & 0o666);
        }
        // The payload bytes are the original's, unchanged; what is new is the header: check it opens.
        const check = openSync(temp, 'r');
        try {
          new DecryptSession(sodium, readHeaderFd(check), verifyWith);
        } finally {
          closeSync(check);
        }
        // Replace only the file we read, never one written since (an edit saved back, say).
        if (!sameFile(lstatSync(path), stats)) throw changedWhileRekeyed(path);
        renameSync(temp, path);
      } catch (error) {
        removeQuietly(temp);
        throw error;
      }
    } finally {
      closeSync(fd);
    }
    fsyncDir(dirname(path));
    return { headerBytes: newHeader.length, fileBytes: stats.size - oldLength + newHeader.length };
  } catch (error) {
    throw toCofferError(error, path);
  }
}

/** Copies the payload from the descriptor already open (the very file whose header was read). */
function copyWithHeader(
  input: number,
  temp: string,
  oldHeaderLength: number,
  header: Uint8Array,
  mode: number,
): void {
  const out = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, mode);
  try {
    writeFully(out, header);
    const buffer = new Uint8Array(1 << 20);
    let position = oldHeaderLength;
    for (;;) {
      const n = readSync(input, buffer, 0, buffer.length, position);
      if (n === 0) break;
      writeFully(out, buffer.subarray(0, n));
      position += n;
    }
    fsyncSync(out);
  } finally {
    closeSync(out);
  }
}

function changedWhileRekeyed(path: string): CofferError {
  return new CofferError(
    'SOURCE_CHANGED',
    `${path}: changed while it was being rekeyed`,
    'Nothing was changed; try again once the file is no longer being saved.',
  );
}
