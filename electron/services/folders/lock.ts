/**
 * One run per folder at a time, across processes (the app's watcher and a `coffer protect` in a terminal):
 * a lock file in app data holding the owner's pid. A lock whose owner died (a crash, kill -9) is taken
 * over, so an interrupted run never blocks the next one.
 */
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import { errnoOf } from '../fs-errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === 'EPERM'; // exists, owned by someone else
  }
}

export class FolderLock {
  private constructor(private readonly file: string) {}

  static acquire(lockDir: string, id: string, folder: string): FolderLock {
    mkdirSync(lockDir, { recursive: true, mode: 0o700 });
    const file = join(lockDir, `${id}.lock`);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new FolderLock(file);
      } catch (error) {
        if (errnoOf(error) !== 'EEXIST') throw error;
      }
      let owner: number;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        continue; // released meanwhile
      }
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new CofferError(
          'FOLDER_BUSY',
          `${folder}: another Coffer process (pid ${owner}) is working on this folder`,
          'Wait for it to finish, or stop it, then try again.',
        );
      }
      try {
        unlinkSync(file); // stale: its owner is gone
      } catch {
        // another process took it over first; retry
      }
    }
    throw new CofferError('FOLDER_BUSY', `${folder}: could not lock the folder`, 'Try again in a moment.');
  }

  release(): void {
    try {
      unlinkSync(this.file);
    } catch {
      // already gone
    }
  }
}
