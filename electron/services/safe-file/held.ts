/**
 * Plaintexts kept open across their unlink (DESIGN.md "keep its descriptor across the unlink long enough
 * to notice a late write"). A writer the busy check missed (another user's process, or one that opened the
 * file in the instant between the check and the unlink) goes on writing into the unlinked inode; after a
 * grace period its size, mtime or ctime has moved, and the content is brought back beside the protected
 * file as `name (conflict YYYY-MM-DD HHMMSS).ext`, in the clear, and reported. A write later than the grace
 * period, by a process nobody could see, is the case this cannot cover.
 *
 * When the grace period starts (issue 10 speed target: a flat second after every protect of a large,
 * finished file). What it promises is that a writer who pauses up to `graceMs` between two writes loses
 * nothing. Coffer watches the plaintext from the moment it is opened and found as it was (`since`):
 * until its removal by comparing it with what was read (sameFile, and here `read`), after it through the
 * held descriptor. A write after the deadline `since + graceMs` therefore follows a pause longer than the
 * grace period, so the period may end there instead of `graceMs` after the removal: a file whose
 * encryption took longer than the grace period waits for nothing. One writer is not covered by that
 * argument: a program that opened the file after the busy check, just before the removal, whose first
 * write comes after it. `settle` asks the probe again, fresh, before it lets any plaintext go early: a
 * plaintext some program holds then keeps the full period after its removal (one that wrote and closed
 * it before that scan left its write in the inode, which the check sees). Only a probe that finds removed files (by device
 * and inode) can answer that; with any other the full period stays. What remains: a process the probe
 * cannot see (another user's, hidepid) that opens the file in the instant between the busy check and the
 * removal and writes after `since + graceMs` (before this change: after the removal + `graceMs`).
 */
import { closeSync, fstatSync, readFileSync, readSync, type Stats } from 'node:fs';
import { extname } from 'node:path';
import { writeFully } from '../../../crypto/file.js';
import { renameNoClobber } from './durable.js';
import type { OpenFileProbe } from './busy.js';
import type { VerifiedDir } from './dir.js';
import { writeTempIn } from './open.js';
import type { TempJournal } from './temp-journal.js';

interface Held {
  readonly fd: number;
  readonly dir: VerifiedDir;
  readonly name: string;
  readonly baseline: Stats;
  /** What was read and encrypted: a write between the last check and the removal differs from it. */
  readonly read: Stats | null;
  deadline: number;
  /** The deadline counted from when the plaintext was opened, until `shorten` applies (or drops) it. */
  early: number | null;
}

/**
 * The plaintext as read and when it was opened (`since`, `performance.now()`: the monotonic clock, as all
 * deadlines here; a wall-clock step between the read and the removal, NTP or a resume, must not count as
 * time a writer paused): see the top of this file.
 */
export interface ReadPlaintext {
  readonly stats: Stats;
  readonly since?: number;
}

/** A plaintext written to after it was protected, and where its content went. */
export interface Rescued {
  readonly path: string;
  /** The conflict copy; null when it could not be written (the message says why). */
  readonly copy: string | null;
  readonly message: string;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `report.docx` → `report (conflict 2026-11-29 153012).docx`, in local time. */
export function conflictName(name: string, at: Date, attempt = 0): string {
  const ext = extname(name);
  const stem = ext && ext !== name ? name.slice(0, -ext.length) : name;
  const stamp = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
  return `${stem} (conflict ${stamp}${attempt > 0 ? ` ${attempt + 1}` : ''})${ext === name ? '' : ext}`;
}

function changed(a: Stats, b: Stats): boolean {
  return a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.ctimeMs !== b.ctimeMs;
}

/** Against what was read, the ctime is no measure: the move aside and the unlink moved it. */
function changedSinceRead(now: Stats, read: Stats | null): boolean {
  return read !== null && (now.size !== read.size || now.mtimeMs !== read.mtimeMs);
}

/** A shorter deadline saves less than this: not worth a fresh scan of the system. */
const MIN_SAVING_MS = 100;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** This process's limit of open descriptors (Linux: /proc/self/limits; elsewhere a common default). */
function openFileLimit(): number {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line?.[1]) return line[1] === 'unlimited' ? 1 << 20 : Number(line[1]);
  } catch {
    // not Linux
  }
  return 1024;
}

/**
 * At most this many plaintexts are held at once: each holds a descriptor for the grace period, and a run
 * protecting thousands of files a second would otherwise exhaust the process's descriptors (EMFILE: every
 * later open, the run's own included, failed; R6 review, 600 files under `ulimit -n 256`). A quarter of
 * the limit leaves the rest to the run; beyond it, the next removal waits for the oldest grace period to
 * end (the guarantee is kept; only a very fast run is slowed).
 */
export const MAX_HELD = Math.max(8, Math.min(4096, Math.floor(openFileLimit() / 4)));

export class HeldPlaintexts {
  private held: Held[] = [];
  private rescued: Rescued[] = [];

  constructor(
    private readonly graceMs: number,
    private readonly journal: TempJournal | null,
    private readonly maxHeld = MAX_HELD,
  ) {}

  /**
   * Takes over `fd` (open on the plaintext just unlinked from `dir`). With `read`, a change since the
   * read counts too, and with `read.since` the period may end earlier once `shorten` says so.
   */
  hold(fd: number, dir: VerifiedDir, name: string, read?: ReadPlaintext): void {
    if (this.graceMs <= 0) {
      closeSync(fd);
      return;
    }
    if (this.held.length >= this.maxHeld) this.check(false);
    const oldest = this.held[0];
    if (this.held.length >= this.maxHeld && oldest) {
      // Deadlines are in hold order: waiting for the first frees at least one.
      const left = oldest.deadline - performance.now();
      if (left > 0) sleep(left);
      this.check(false);
    }
    const now = performance.now();
    const deadline = now + this.graceMs;
    const early = read?.since === undefined ? deadline : Math.max(now, read.since + this.graceMs);
    this.held.push({
      fd,
      dir: dir.retain(),
      name,
      baseline: fstatSync(fd),
      read: read?.stats ?? null,
      deadline,
      early: deadline - early >= MIN_SAVING_MS ? early : null,
    });
  }

  /**
   * Asks `probe`, fresh, who holds the plaintexts held with an earlier deadline that would save a wait.
   * Those nobody holds get it; those a program holds keep the full period after their removal (that
   * program opened the file after the busy check, and may still write). See the top. Done once, when the
   * run settles: in a folder run the periods of all but the last batches end during the later ones, and
   * a scan per batch would cost more than it saves.
   */
  private shorten(probe: OpenFileProbe): void {
    const now = performance.now();
    const pending = this.held.flatMap((h) =>
      h.early !== null && h.deadline - Math.max(now, h.early) >= MIN_SAVING_MS ? [{ h, early: h.early }] : [],
    );
    for (const h of this.held) h.early = null;
    if (pending.length === 0 || probe.findsRemoved !== true) return;
    const holders = probe.holders(
      pending.map(({ h }) => {
        const { dev, ino } = fstatSync(h.fd);
        return { dev, ino, real: `${h.dir.real}/${h.name}` };
      }),
      { fresh: true },
    );
    pending.forEach(({ h, early }, i) => {
      if (!holders.has(i)) h.deadline = early;
    });
    // Deadlines are kept in hold order where hold() relies on it: the earliest first.
    this.held.sort((a, b) => a.deadline - b.deadline);
  }

  /** Checks those whose grace period is over (all of them with `wait`, sleeping until it is). */
  check(wait: boolean): void {
    if (wait && this.held.length > 0) {
      const last = Math.max(...this.held.map((h) => h.deadline));
      const left = last - performance.now();
      if (left > 0) sleep(left);
    }
    const now = performance.now();
    const due = this.held.filter((h) => h.deadline <= now);
    this.held = this.held.filter((h) => h.deadline > now);
    for (const h of due) {
      try {
        const now = fstatSync(h.fd);
        if (changed(now, h.baseline) || changedSinceRead(now, h.read))
          this.rescued.push(rescue(h, this.journal));
      } finally {
        closeSync(h.fd);
        h.dir.release();
      }
    }
  }

  /**
   * Waits out every grace period (asking `probe` first which may end early, see the top); returns what
   * had to be rescued since the last call.
   */
  settle(probe?: OpenFileProbe): Rescued[] {
    if (probe) this.shorten(probe);
    this.check(true);
    const rescued = this.rescued;
    this.rescued = [];
    return rescued;
  }
}

/** Copies the unlinked inode's content (as it is now) to a conflict copy beside where it was. */
function rescue(h: Held, journal: TempJournal | null): Rescued {
  const path = h.dir.display(h.name);
  try {
    const stats = fstatSync(h.fd);
    const { temp } = writeTempIn(h.dir, h.name, stats.mode & 0o666, journal, (out) => {
      const buffer = Buffer.alloc(1 << 20);
      for (let position = 0; ;) {
        const n = readSync(h.fd, buffer, 0, buffer.length, position);
        if (n === 0) break;
        writeFully(out, buffer.subarray(0, n));
        position += n;
      }
    });
    const at = new Date();
    for (let attempt = 0; ; attempt++) {
      const name = conflictName(h.name, at, attempt);
      try {
        renameNoClobber(h.dir.at(temp), h.dir.at(name));
        h.dir.fsync();
        return {
          path,
          copy: h.dir.display(name),
          message: `${path}: written to after it was protected; the new content is in ${name}, in the clear`,
        };
      } catch (error) {
        if ((error as { code?: string }).code !== 'EEXIST' || attempt > 100) throw error;
      }
    }
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      path,
      copy: null,
      message: `${path}: written to after it was protected; saving that failed: ${why}`,
    };
  }
}
