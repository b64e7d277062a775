/**
 * A lock shared by every Coffer process of one user (the app, its watcher, CLI runs in terminals), for work
 * that must happen once: creating the device key or the state key (DESIGN.md "One writer per secret").
 *
 * A lock file created with O_EXCL holds the owner's pid and a random token. A lock whose owner died (crash,
 * kill -9, or a pid reused since) is taken over; a live owner is waited for, up to a bound, then LOCK_TIMEOUT.
 * Takeover of a stale lock is guarded per stale instance (removeStale), so two processes that both find it
 * stale cannot remove the fresh lock the faster one took.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CofferError } from '../../../crypto/errors.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 15_000;

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

const EMPTY_LOCK_STALE_MS = 5_000;
/** `btime` in /proc/stat has whole seconds: a start time computed from it may be up to 1 s early. */
const START_SLACK_MS = 1_000;
/** Linux's USER_HZ, fixed at 100 on every architecture Coffer ships for. */
const TICKS_PER_SECOND = 100;

function readProc(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

let bootIdCache: string | null | undefined;
function bootId(): string | null {
  bootIdCache ??= readProc('/proc/sys/kernel/random/boot_id')?.trim() ?? null;
  return bootIdCache;
}

/** A process's start, in clock ticks after boot (Linux /proc); null where /proc is not there. */
function startTicks(pid: number): string | null {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // Field 22 (starttime); the name in field 2 may hold spaces and parentheses, so count from the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

/** What tells this process apart from a later one given the same pid: boot and start time (Linux). */
function startIdentity(pid: number): string | null {
  const ticks = startTicks(pid);
  const boot = bootId();
  return ticks !== null && boot !== null ? `${boot}:${ticks}` : null;
}

function startedAtMs(pid: number): number | null {
  const ticks = startTicks(pid);
  const btime = /^btime (\d+)$/m.exec(readProc('/proc/stat') ?? '')?.[1];
  if (ticks === null || btime === undefined) return null;
  return Number(btime) * 1000 + (Number(ticks) * 1000) / TICKS_PER_SECOND;
}

function mtimeMs(file: string): number | null {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

interface Owner {
  pid: number;
  token: string;
  /** startIdentity() of the owner when it wrote the lock (absent from older lock files, and off Linux). */
  start?: string;
}

function readOwner(file: string): Owner | null {
  try {
    const [pid, token, start] = fs.readFileSync(file, 'utf8').split(' ');
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 && token ? { pid: n, token, ...(start ? { start } : {}) } : null;
  } catch {
    return null;
  }
}

/**
 * Whether the process that wrote `file` still runs. A pid alone does not say: after a crash or a reboot
 * the pid is reused (a daemon, another user's shell), and a lock trusted by pid would then block every
 * first use until that process ends (R5 review). Where /proc tells, the owner's recorded start identity
 * must match; for a lock without one, a process started after the lock was written did not write it.
 */
function ownerAlive(owner: Owner, file: string): boolean {
  if (!pidExists(owner.pid)) return false;
  // Written before this boot (any OS): its owner is gone whatever now has its pid.
  const written = mtimeMs(file);
  const bootedAt = Date.now() - os.uptime() * 1000;
  if (written !== null && written < bootedAt - START_SLACK_MS) return false;
  const now = startIdentity(owner.pid);
  if (owner.start !== undefined && now !== null) return owner.start === now;
  const started = startedAtMs(owner.pid);
  return started === null || written === null || started <= written + START_SLACK_MS;
}

function ownerLine(token: string): string {
  return `${process.pid} ${token} ${startIdentity(process.pid) ?? ''}`.trimEnd();
}

/** Creates `file` holding this process as owner; false when it exists. */
function create(file: string, token: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    fs.writeSync(fd, ownerLine(token));
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** What names one stale instance of a lock file: its owner's token, or (no owner written) inode and mtime. */
function staleTag(file: string, owner: Owner | null): string | null {
  if (owner) return owner.token;
  try {
    const st = fs.statSync(file);
    return Date.now() - st.mtimeMs > EMPTY_LOCK_STALE_MS ? `empty-${st.ino}-${Math.floor(st.mtimeMs)}` : null;
  } catch {
    return null;
  }
}

const MAX_GUARD_DEPTH = 4;

/**
 * Removes `file` if it is still the stale instance `tag` names. Removal by path is a check-then-act: two
 * takers that both read the same stale owner could otherwise remove (or move) the fresh lock the faster one
 * took (R5 review). So only the creator (O_EXCL) of `<file>.takeover-<tag>` may remove that instance, and it
 * re-reads the lock under that guard: nobody else removes the instance meanwhile, its dead owner cannot, and
 * nobody can create the lock while it exists. A guard left by a taker that died is itself a stale instance
 * of its own name, removed the same way.
 */
function removeStale(file: string, tag: string, depth = 0): void {
  const guard = `${file}.takeover-${tag}`;
  const token = randomBytes(12).toString('hex');
  if (!create(guard, token)) {
    if (depth >= MAX_GUARD_DEPTH) return;
    const guardOwner = readOwner(guard);
    if (guardOwner && ownerAlive(guardOwner, guard)) return; // another taker is on it
    const guardTag = staleTag(guard, guardOwner);
    if (guardTag !== null) removeStale(guard, guardTag, depth + 1);
    return; // the next attempt takes the guard
  }
  try {
    const owner = readOwner(file);
    if (owner ? owner.token === tag && !ownerAlive(owner, file) : staleTag(file, null) === tag) {
      fs.rmSync(file, { force: true });
    }
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/** Takes the lock if free; removes it if stale (the next attempt then creates it). True when taken. */
function tryTake(file: string, token: string): boolean {
  if (create(file, token)) return true;
  const owner = readOwner(file);
  // A file without a complete owner may be mid-write by its creator: only a dead owner, or an empty file
  // left for longer than any write takes (its creator died between open and write), proves staleness.
  if (owner && ownerAlive(owner, file)) return false;
  const tag = staleTag(file, owner);
  if (tag !== null) removeStale(file, tag);
  return false;
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
