/**
 * Is a file open in another process? (DESIGN.md "Never remove a plaintext another process holds open".)
 * One probe answers for a whole batch of files at once, since asking costs a scan of the system.
 *
 * - Linux: every process's `/proc/<pid>/fd/*` is stat'ed (device and inode) and its `/proc/<pid>/maps`
 *   read for shared writable mappings.
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
  /** Its real path (lsof asks by path; on Linux only a fallback for mappings on overlay file systems). */
  readonly real: string;
}

/** Who holds it: a program name and process id, for the message. */
export interface Holder {
  readonly pid: number;
  readonly name: string;
}

export interface ProbeOptions {
  /**
   * Scan now, never answer from an earlier scan: asked after the removals (held.ts), when the question is
   * who opened the file since the scan before them.
   */
  readonly fresh?: boolean;
  /**
   * The earliest moment (`performance.now()`) Coffer opened one of the files asked about: an earlier scan
   * cannot have seen a program that opened it between that scan and this moment and holds it still (a
   * reused scan can be seconds old on a loaded machine), so only a scan started after it answers.
   */
  readonly openedAt?: number;
}

export interface OpenFileProbe {
  /** For each query (by index) that another process has open: who. */
  holders(files: readonly OpenFileQuery[], options?: ProbeOptions): Map<number, Holder>;
  /**
   * True when it finds holders of a file already removed (by device and inode, not by path): only then
   * may a removed plaintext's grace period be shortened (held.ts `confirm`).
   */
  readonly findsRemoved?: boolean;
}

function programName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return 'a program';
  }
}

/**
 * Coffer's own child between its fork and its exec (`sync -f` per batch, durable.ts; any spawn): a copy of
 * this process, with a copy of every descriptor it holds, plaintexts included. Its copies close at the exec
 * (Node opens with O_CLOEXEC), and it writes nothing meanwhile: not a holder. Seen in a scan it read
 * "node, process N" (one file in 20,000 of a protect run ended IN_USE). Known by all three: its parent is
 * this process, its program is still this one, and this process has the same file at the same descriptor.
 */
function ownForkCopy(pid: number, fd: string, file: { dev: number; ino: number }): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses: split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid !== process.pid) return false;
    const exe = statSync(`/proc/${pid}/exe`);
    const ownExe = statSync('/proc/self/exe');
    if (exe.dev !== ownExe.dev || exe.ino !== ownExe.ino) return false;
    const mine = statSync(`/proc/self/fd/${fd}`);
    return mine.dev === file.dev && mine.ino === file.ino;
  } catch {
    return false; // gone, or not ours to look at: the confirming stat decides
  }
}

/** A file's identity as the scan keys it. */
const idOf = (dev: number, ino: number): string => `${dev}:${ino}`;

/** `fd:01` (hex major:minor, as /proc/<pid>/maps prints it) → st_dev as glibc's makedev encodes it. */
export function devOfMaps(field: string): number | null {
  const match = /^([0-9a-f]+):([0-9a-f]+)$/.exec(field);
  if (!match?.[1] || !match[2]) return null;
  const major = parseInt(match[1], 16);
  const minor = parseInt(match[2], 16);
  return (
    (minor & 0xff) +
    (major & 0xfff) * 0x100 +
    Math.floor(minor / 0x100) * 0x100000 +
    Math.floor(major / 0x1000) * 0x100000000
  );
}

const SHARED_WRITABLE = /^[0-9a-f]+-[0-9a-f]+ .w.s [0-9a-f]+ ([0-9a-f]+:[0-9a-f]+) (\d+) *(.*)$/gm;

type Use = { pid: number; fd: string } | { pid: number; map: true };

/**
 * One scan lists every file open in every readable process, by identity (device and inode, from a stat
 * of each descriptor), not by the path it was opened by: a writer that holds the file through another
 * hard link (even one removed since), through a bind mount or from another mount namespace (Flatpak,
 * Snap, containers) reads a different path there and was missed when paths were compared (R6 review). A
 * file mapped shared and writable (`rw-s` in /proc/<pid>/maps: databases, mmap writers) counts too, with
 * no descriptor left open. The scan is reused for up to `maxAgeMs`, or 20 times as long as the scan took
 * when that is longer (a loaded machine, thousands of descriptors), so a run of thousands of small files
 * spends at most about 5% of its time scanning; but never for a file Coffer opened after the scan began
 * (`openedAt`): a program that opened it in between, and holds it, would be missed. A program that opens
 * a file after the scan is the case the held descriptor (held.ts) covers. A descriptor match is confirmed at query time by a stat of that
 * descriptor, so one closed since no longer counts.
 */
export class ProcFdProbe implements OpenFileProbe {
  readonly findsRemoved = true;
  private snapshot: {
    at: number;
    /** When the scan began: a program that opened a file before it and holds it still is in it. */
    startedAt: number;
    validMs: number;
    byId: Map<string, Use[]>;
    mappedPaths: Map<string, number>;
  } | null = null;

  constructor(private readonly maxAgeMs = 100) {}

  holders(files: readonly OpenFileQuery[], options: ProbeOptions = {}): Map<number, Holder> {
    const found = new Map<number, Holder>();
    if (files.length === 0) return found;
    const { byId, mappedPaths } = this.scan(options.fresh === true, options.openedAt);
    files.forEach((f, i) => {
      for (const use of byId.get(idOf(f.dev, f.ino)) ?? []) {
        if ('fd' in use) {
          // Before the stat that confirms it: a copy that execs meanwhile has its descriptor closed by then.
          if (ownForkCopy(use.pid, use.fd, f)) continue;
          let stats;
          try {
            stats = statSync(`/proc/${use.pid}/fd/${use.fd}`);
          } catch {
            continue; // closed since the scan, or the process is gone
          }
          if (stats.dev !== f.dev || stats.ino !== f.ino) continue;
        }
        found.set(i, { pid: use.pid, name: programName(use.pid) });
        return;
      }
      // Overlay file systems print the lower layer's device in maps: the path is the fallback there.
      const mapper = mappedPaths.get(f.real);
      if (mapper !== undefined) found.set(i, { pid: mapper, name: programName(mapper) });
    });
    return found;
  }

  private scan(
    fresh: boolean,
    openedAt = -Infinity,
  ): { byId: Map<string, Use[]>; mappedPaths: Map<string, number> } {
    const now = performance.now();
    if (
      !fresh &&
      this.snapshot &&
      now - this.snapshot.at <= this.snapshot.validMs &&
      // Strictly after: a scan begun in the same millisecond may have begun before the open.
      this.snapshot.startedAt > openedAt
    )
      return this.snapshot;
    const byId = new Map<string, Use[]>();
    const mappedPaths = new Map<string, number>();
    const add = (id: string, use: Use): void => {
      const list = byId.get(id);
      if (list) list.push(use);
      else byId.set(id, [use]);
    };
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
        const at = `/proc/${pid}/fd/${fd}`;
        let stats;
        try {
          // Only files have absolute paths here (sockets, pipes and anon inodes read `type:[...]`): the
          // readlink (no file system access) spares a stat of those.
          if (!readlinkSync(at).startsWith('/')) continue;
          stats = statSync(at);
        } catch {
          continue; // closed meanwhile, or not ours to look at
        }
        if (stats.isFile()) add(idOf(stats.dev, stats.ino), { pid: Number(pid), fd });
      }
      let maps: string;
      try {
        maps = readFileSync(`/proc/${pid}/maps`, 'latin1');
      } catch {
        continue;
      }
      // `start-end perms offset dev inode path`: only shared writable mappings (`?w?s`) can write a file.
      for (const match of maps.matchAll(SHARED_WRITABLE)) {
        const dev = devOfMaps(match[1] ?? '');
        const ino = Number(match[2]);
        if (dev === null || !ino) continue;
        add(idOf(dev, ino), { pid: Number(pid), map: true });
        const path = match[3] ?? '';
        if (path.startsWith('/')) mappedPaths.set(path, Number(pid));
      }
    }
    const at = performance.now();
    this.snapshot = {
      at,
      startedAt: now,
      validMs: Math.max(this.maxAgeMs, 20 * (at - now)),
      byId,
      mappedPaths,
    };
    return this.snapshot;
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
