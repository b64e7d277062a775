/**
 * A synchronous cross-process lock for the read-modify-write of one state file. The stores above it are
 * synchronous (SettingsStore, FolderRegistry), and two processes (the app, a CLI run, the app's second
 * window) updating the settings at the same moment otherwise both read generation N and both write N+1:
 * one change is silently lost, e.g. an untrust. Held only for a read, a MAC and one atomic write.
 *
 * Same rules as keys/user-lock.ts (O_EXCL file holding `pid token`; a dead owner's lock is moved aside and
 * taken over; an empty file older than any write takes is stale), waiting synchronously.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CofferError } from '../../../crypto/errors.js';

const TIMEOUT_MS = 10_000;
const EMPTY_STALE_MS = 5_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** The locks this process holds now. */
const held = new Set<string>();

function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function owner(file: string): { pid: number; token: string } | null {
  try {
    const [pid, token] = fs.readFileSync(file, 'utf8').split(' ');
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 && token ? { pid: n, token } : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryTake(file: string, token: string): boolean {
  try {
    const fd = fs.openSync(file, 'wx', 0o600);
    try {
      fs.writeSync(fd, `${process.pid} ${token}`);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const current = owner(file);
  if (current === null) {
    let age: number;
    try {
      age = Date.now() - fs.statSync(file).mtimeMs;
    } catch {
      return false;
    }
    if (age > EMPTY_STALE_MS) fs.rmSync(file, { force: true });
    return false;
  }
  if (alive(current.pid)) return false;
  // Moved aside first, so two processes that both found it stale cannot both delete a fresh lock.
  const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return false;
  }
  const moved = owner(aside);
  fs.rmSync(aside, { force: true });
  if (moved !== null && moved.token !== current.token) {
    try {
      fs.writeFileSync(file, `${moved.pid} ${moved.token}`, { flag: 'wx', mode: 0o600 });
    } catch {
      // a third process holds it now
    }
  }
  return false;
}

/** Runs `fn` holding `${file}.lock` against every other Coffer process; LOCK_TIMEOUT after 10 s. */
export function withFileLockSync<T>(file: string, fn: () => T, timeoutMs = TIMEOUT_MS): T {
  const lock = `${file}.lock`;
  // Re-entrant within the process: a change that updates the same file again must not wait for itself.
  if (held.has(lock)) return fn();
  // The first write of a fresh app-data folder: the lock lives beside the file.
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(12).toString('hex');
  const deadline = Date.now() + timeoutMs;
  let wait = 1;
  while (!tryTake(lock, token)) {
    if (Date.now() >= deadline) {
      const holder = owner(lock);
      throw new CofferError(
        'LOCK_TIMEOUT',
        `Another Coffer process${holder ? ` (pid ${holder.pid})` : ''} has been updating ${file} for over ${Math.round(timeoutMs / 1000)} s`,
        'Wait for the other Coffer window or command to finish, then try again.',
      );
    }
    sleepSync(wait);
    wait = Math.min(wait * 2, 50);
  }
  held.add(lock);
  try {
    return fn();
  } finally {
    held.delete(lock);
    if (owner(lock)?.token === token) fs.rmSync(lock, { force: true });
  }
}
