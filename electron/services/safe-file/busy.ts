/**
 * Is a file open in another process? (DESIGN.md "Never remove a plaintext another process holds open".)
 * One probe answers for a whole batch of files at once, since asking costs a scan of the system.
 *
 * - Linux: every process's `/proc/<pid>/fd/*` is read (readlink, then stat to confirm device and inode).
 *   Processes of other users are not readable without privileges (nor any under `hidepid`): such a writer
 *   is missed, which the held descriptor and its grace period (held.ts) are there to catch.
 * - macOS: `lsof -t` over the batch (libproc's proc_pidinfo(PROC_PIDLISTFDS) needs a native module). NOT
 *   tested here (no macOS in CI).
 * - Windows: no scan. A program that holds a file open normally denies FILE_SHARE_DELETE, so the unlink
 *   itself fails (EBUSY / EPERM → FILE_LOCKED) and the plaintext stays. NOT tested here.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

export interface OpenFileQuery {
  readonly dev: number;
  readonly ino: number;
  /** Its real path (compared first, the cheap way; dev/ino confirm). */
  readonly real: string;
}

/** Who holds it: a program name and process id, for the message. */
export interface Holder {
  readonly pid: number;
  readonly name: string;
}

export interface OpenFileProbe {
  /** For each query (by index) that another process has open: who. */
  holders(files: readonly OpenFileQuery[]): Map<number, Holder>;
}

function programName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'a program';
  }
}

/**
 * One scan lists every file open in every readable process; it is reused for up to `maxAgeMs`, or 20
 * times as long as the scan took when that is longer (a loaded machine, thousands of descriptors), so a
 * run of thousands of small files spends at most about 5% of its time scanning. A program that opens a file after the scan
 * is the case the held descriptor (held.ts) covers. A match is confirmed at query time by stat of the
 * descriptor (device and inode), so a descriptor closed since no longer counts.
 */
export class ProcFdProbe implements OpenFileProbe {
  private snapshot: {
    at: number;
    validMs: number;
    byPath: Map<string, { pid: number; fd: string }[]>;
  } | null = null;

  constructor(private readonly maxAgeMs = 100) {}

  holders(files: readonly OpenFileQuery[]): Map<number, Holder> {
    const found = new Map<number, Holder>();
    if (files.length === 0) return found;
    const byPath = this.scan();
    files.forEach((f, i) => {
      for (const { pid, fd } of byPath.get(f.real) ?? []) {
        let stats;
        try {
          stats = statSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue; // closed since the scan, or the process is gone
        }
        if (stats.dev === f.dev && stats.ino === f.ino) {
          found.set(i, { pid, name: programName(pid) });
          break;
        }
      }
    });
    return found;
  }

  private scan(): Map<string, { pid: number; fd: string }[]> {
    const now = Date.now();
    if (this.snapshot && now - this.snapshot.at <= this.snapshot.validMs) return this.snapshot.byPath;
    const byPath = new Map<string, { pid: number; fd: string }[]>();
    const self = String(process.pid);
    for (const pid of readdirSync('/proc')) {
      if (pid === self || !/^\d+$/.test(pid)) continue;
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue; // gone, or another user's (see above)
      }
      for (const fd of fds) {
        let target: string;
        try {
          target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          continue;
        }
        // Only files have absolute paths here (sockets, pipes and anon inodes read `type:[...]`).
        if (!target.startsWith('/')) continue;
        const list = byPath.get(target);
        if (list) list.push({ pid: Number(pid), fd });
        else byPath.set(target, [{ pid: Number(pid), fd }]);
      }
    }
    const at = Date.now();
    this.snapshot = { at, validMs: Math.max(this.maxAgeMs, 20 * (at - now)), byPath };
    return byPath;
  }
}

/** macOS (untested here): `lsof -t -- paths` prints the pids holding any of them; asked per file when some do. */
export class LsofProbe implements OpenFileProbe {
  holders(files: readonly OpenFileQuery[]): Map<number, Holder> {
    const found = new Map<number, Holder>();
    if (files.length === 0 || lsofPids(files.map((f) => f.real)).length === 0) return found;
    files.forEach((f, i) => {
      const pid = lsofPids([f.real]).find((p) => p !== process.pid);
      if (pid !== undefined) found.set(i, { pid, name: 'a program' });
    });
    return found;
  }
}

function lsofPids(paths: readonly string[]): number[] {
  try {
    const out = execFileSync('lsof', ['-t', '--', ...paths], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number)
      .filter((p) => p !== process.pid);
  } catch (error) {
    // lsof exits 1 when no process has any of them open.
    if ((error as { status?: number }).status === 1) return [];
    throw error;
  }
}

/** Windows: the unlink is the check (see above). */
export const NO_PROBE: OpenFileProbe = { holders: () => new Map() };

export function defaultProbe(): OpenFileProbe {
  if (process.platform === 'linux') return new ProcFdProbe();
  if (process.platform === 'darwin') return new LsofProbe();
  return NO_PROBE;
}
