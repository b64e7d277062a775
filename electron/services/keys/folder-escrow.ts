/**
 * A copy of the key escrow record beside each protected folder's data (DESIGN.md "Keys": "so backups carry
 * it"), as `<folder>/.coffer-escrow.json`. When the laptop, the account or the keychain is lost, a backup
 * of the folder holds both the files and what the helpdesk needs to restore the device key that opens
 * them: `coffer restore-device --key ORG.KEY <folder>/.coffer-escrow.json` (or `--code`).
 *
 * The copy is the record itself (FORMAT.md §11.4): the device key wrapped under the personal recovery code
 * and sealed to the organization recovery keys, so it is as safe to keep beside the files as in app data.
 * The folder walk must leave it in the clear: litter.ts ignores `.coffer-escrow.json*` (the file and the
 * temp file of an atomic write).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CofferError, isCofferError } from '../../../crypto/errors.js';
import { serializeEscrowRecord, type EscrowRecord } from './escrow.js';

export const ESCROW_COPY_NAME = '.coffer-escrow.json';

/** Where the current record comes from (RecoveryService satisfies it). */
export interface EscrowRecordSource {
  /** null when no personal recovery code has been made yet. */
  currentEscrow(): EscrowRecord | null;
}

export interface FolderEscrowCopiesDeps {
  readonly records: EscrowRecordSource;
  /** The protected folders whose copies a new record replaces (the folder registry's paths). */
  readonly folders: () => readonly string[];
}

export function escrowCopyPath(folder: string): string {
  return path.join(folder, ESCROW_COPY_NAME);
}

export class FolderEscrowCopies {
  constructor(private readonly deps: FolderEscrowCopiesDeps) {}

  /**
   * Writes the current record beside `folder` (FolderService calls it after each protect run). Does
   * nothing when there is no record yet: the first `coffer recovery code` writes every folder's copy.
   */
  writeBeside(folder: string): Promise<void> {
    const record = this.deps.records.currentEscrow();
    if (record !== null) writeCopy(folder, serializeEscrowRecord(record));
    return Promise.resolve();
  }

  /**
   * Removes the copy once a folder is no longer protected: it would no longer be refreshed on rotation,
   * and nothing there needs it. (The record stays in app data.)
   */
  removeBeside(folder: string): Promise<void> {
    try {
      fs.unlinkSync(escrowCopyPath(folder));
      fsyncDir(folder);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return Promise.reject(toError(error));
    }
    return Promise.resolve();
  }

  /**
   * True when a protected folder holds a copy that is not exactly `record` (a rotation that died before
   * it, or an old copy put back): it may still be sealed to a retired key. Reads only; a missing copy is
   * not stale (it leaks nothing).
   */
  stale(record: EscrowRecord): boolean {
    const text = serializeEscrowRecord(record);
    return this.deps.folders().some((folder) => {
      try {
        return fs.readFileSync(escrowCopyPath(folder), 'utf8') !== text;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code !== 'ENOENT';
      }
    });
  }

  /**
   * Replaces every protected folder's copy with `record` (a new code was issued, or rotated after use):
   * a stale copy would only open with a code that no longer exists. Tries every folder, then throws one
   * ESCROW_COPY_FAILED naming those that failed. A folder that no longer exists is skipped.
   */
  refreshAll(record: EscrowRecord): Promise<void> {
    const text = serializeEscrowRecord(record);
    const failed: string[] = [];
    for (const folder of this.deps.folders()) {
      try {
        writeCopy(folder, text);
      } catch (error) {
        if (isCofferError(error, 'FOLDER_GONE')) continue;
        failed.push(`${folder} (${error instanceof Error ? error.message : String(error)})`);
      }
    }
    if (failed.length > 0) {
      return Promise.reject(
        new CofferError(
          'ESCROW_COPY_FAILED',
          `The new key escrow record could not be written beside ${failed.join(', ')}`,
          'The new code works; make the folder writable, then protect it again to update its copy.',
        ),
      );
    }
    return Promise.resolve();
  }
}

/** temp + fsync + rename + fsync of the folder: a reader (or a backup) sees the old copy or the new one. */
function writeCopy(folder: string, text: string): void {
  const target = escrowCopyPath(folder);
  try {
    if (!fs.statSync(folder).isDirectory()) throw new Error('not a folder');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CofferError('FOLDER_GONE', `${folder} no longer exists`, 'Nothing to do.');
    }
    throw error;
  }
  try {
    if (fs.readFileSync(target, 'utf8') === text) return; // unchanged: no write, no backup churn
  } catch {
    // absent or unreadable: (re)write it
  }
  const temp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
  const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  try {
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, target); // replaces a link named like the copy, never writes through it
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fsyncDir(folder);
}

function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return; // Windows cannot open folders; NTFS metadata is journaled
  }
  try {
    fs.fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on a folder; the rename is as durable as they allow
  } finally {
    fs.closeSync(fd);
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
