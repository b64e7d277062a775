/**
 * A lock shared by every Coffer process of one user (the app, its watcher, CLI runs in terminals), for work
 * that must happen once: creating the device key or the state key (DESIGN.md "One writer per secret").
 *
 * A lock file created with O_EXCL holds the owner's pid and a random token. A lock whose owner died (crash,
 * kill -9) is taken over; a live owner is waited for, up to a bound, then LOCK_TIMEOUT. Takeover renames the
 * stale file away first, so two processes that both find it stale cannot both delete a fresh lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CofferError } from '../../../crypto/errors.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 15_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

const EMPTY_LOCK_STALE_MS = 5_000;

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

interface Owner {
  pid: number;
  token: string;
}

function readOwner(file: string): Owner | null {
  try {
    const [pid, token] = fs.readFileSync(file, 'utf8').split(' ');
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 && token ? { pid: n, token } : null;
  } catch {
    return null;
  }
}

/** Takes the lock if free or stale; true when taken. */
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
  const owner = readOwner(file);
  // A file without a complete owner may be mid-write by its creator: only a dead pid, or an empty file
  // left for longer than any write takes (its creator died between open and write), proves staleness.
  if (owner === null) {
    if (ageMs(file) > EMPTY_LOCK_STALE_MS) fs.rmSync(file, { force: true });
    return false;
  }
  if (alive(owner.pid)) return false;
  const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return false; // someone else took it over first
  }
  const moved = readOwner(aside);
  fs.rmSync(aside, { force: true });
  if (moved?.token !== owner.token) {
    // We moved a lock that a live process had just taken over: put it back and wait.
    try {
      if (moved !== null) fs.writeFileSync(file, `${moved.pid} ${moved.token}`, { flag: 'wx', mode: 0o600 });
    } catch {
      // a third process holds it now; its owner check protects it
    }
    return false;
  }
  return false; // freed; the next attempt creates it with O_EXCL
}

export async function withUserLock<T>(
  lockDir: string,
  name: string,
  fn: () => Promise<T>,
  timeoutMs = DEFAULT_LOCK_TIMEOUT_MS,
): Promise<T> {
  fs.mkdirSync(lockDir, { recursive: true, mode: 0o700 });
  const file = path.join(lockDir, `${name}.lock`);
  const token = randomBytes(12).toString('hex');
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  while (!tryTake(file, token)) {
    if (Date.now() >= deadline) {
      const owner = readOwner(file);
      throw new CofferError(
        'LOCK_TIMEOUT',
        `Another Coffer process${owner ? ` (pid ${owner.pid})` : ''} has held the ${name} lock for over ${Math.round(timeoutMs / 1000)} s`,
        'Wait for the other Coffer window or command to finish, then try again.',
      );
    }
    await sleep(wait);
    wait = Math.min(wait * 2, 100);
  }
  try {
    return await fn();
  } finally {
    if (readOwner(file)?.token === token) fs.rmSync(file, { force: true });
  }
}
