/**
 * Whether a protected folder is there at all (issue 10 item 4, "All files protected" only when it is true).
 * A folder whose drive is unplugged is gone (macOS /Volumes, udisks' /media/<user>/<label>, a Windows drive
 * letter), and its status counted an unreadable root as "1 file in the clear". A folder on a drive that is not
 * mounted over its mount point is an empty directory on the disk beneath: its status read 0 files in the
 * clear, and the tray and Overview said "All files protected" about files they could not see.
 *
 * `missing`: the path is gone or is not a directory. `not-mounted`, either of:
 * - the folder was seen on another file system earlier in this run of the app, and is now empty on another
 *   one (its drive was unmounted under it);
 * - Linux: the folder is, or lies under, a mount point /etc/fstab configures (not `/`) and nothing is mounted
 *   there now (/proc/self/mountinfo).
 * - Linux: a mount point at or under the folder that was mounted when the folder was looked at earlier in this
 *   run, and is not now (a drive mounted on `Invoices/Archive`, unmounted: its files are not seen, and the
 *   folder's other files were still all protected), or an fstab mount point under the folder with nothing
 *   mounted on it and nothing in it.
 * A folder whose path now leads somewhere else (the folder, or a folder above it, swapped for a symlink: the
 * status read the link's target and said "All files protected" about a folder that was not there) is
 * `missing`: the registry keeps real paths (registry.ts canonicalFolder).
 * Known limit: a drive mounted by hand (no fstab line) and unmounted before the app started looks like an
 * empty folder; nothing on the disk beneath says a drive belongs there. An empty folder bind-mounted over the
 * folder (root only) is the same file system and looks like an emptied folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Node's JS realpath (lstat and readlink, off the main thread), as the registry's realpathSync: the same path
 * for a folder nothing was swapped in, on every system (the native one turns a Windows mapped drive into its
 * UNC path).
 */
const realpathJs = promisify(fs.realpath);

export type Absence = NonNullable<import('../shared/contract.js').FolderView['unavailable']>;

/** Errors that mean the path is not there. */
const GONE: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR']);
/** Errors of a file system whose device went away under its mount (a USB stick pulled while mounted). */
const DEVICE_GONE: ReadonlySet<string> = new Set(['EIO', 'ENXIO', 'ENODEV', 'ESTALE']);

export interface MountTables {
  /** Mount points fstab configures (absolute, `/` left out). */
  configured: readonly string[];
  /** What is mounted now. */
  mounted: ReadonlySet<string>;
}

/** fstab and mountinfo paths escape a space, tab, newline and backslash as octal (`\040`). */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Linux's mount tables; empty where they cannot be read (other systems: their volumes' paths go away). */
export async function linuxMountTables(
  fstab = '/etc/fstab',
  mountinfo = '/proc/self/mountinfo',
): Promise<MountTables> {
  const read = (file: string): Promise<string> => fs.promises.readFile(file, 'utf8').catch(() => '');
  const [tab, info] = await Promise.all([read(fstab), read(mountinfo)]);
  const configured = tab
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(/\s+/))
    .filter((fields) => fields[1]?.startsWith('/') === true && fields[2] !== 'swap')
    .map((fields) => path.resolve(unescapeMountPath(fields[1] ?? '/')))
    .filter((p) => p !== '/');
  // mountinfo: "36 35 98:0 /mnt1 /mnt/parent rw,…": the fifth field is the mount point.
  const mounted = new Set(
    info
      .split('\n')
      .map((line) => line.split(' ')[4])
      .filter((p): p is string => p !== undefined && p !== '')
      .map((p) => path.resolve(unescapeMountPath(p))),
  );
  return { configured, mounted };
}

export interface FolderPresenceDeps {
  /** Default: linuxMountTables on Linux, none elsewhere. */
  mountTables?: () => Promise<MountTables>;
  /**
   * Mount points at or under each folder seen mounted by an earlier process (`seenMounts()` of it). The CLI
   * is one look per run: without them a drive unmounted between two `coffer` commands was never seen.
   */
  mountsSeen?: ReadonlyMap<string, readonly string[]>;
  /**
   * Where the mount points seen are kept for other processes (mounts-seen.ts, app data): read at each look
   * and written when they changed, so the app and `coffer status` tell the same drives (the app kept them in
   * memory and said "all there" about a drive only the CLI had seen, and the other way round).
   */
  memory?: {
    load(): ReadonlyMap<string, readonly string[]>;
    save(seen: ReadonlyMap<string, readonly string[]>): void;
  };
}

export class FolderPresence {
  /** Each folder's file system (st_dev) when last seen holding something. */
  private readonly devices = new Map<string, bigint>();
  /** Mount points at or under each folder seen mounted in this run (Linux). */
  private readonly mountsSeen = new Map<string, Set<string>>();

  constructor(private readonly deps: FolderPresenceDeps = {}) {
    for (const [folder, points] of deps.mountsSeen ?? []) this.mountsSeen.set(folder, new Set(points));
  }

  /** Mount points at or under each folder seen mounted (this run or remembered), to hand to the next run. */
  seenMounts(): Map<string, string[]> {
    return new Map([...this.mountsSeen].map(([folder, points]) => [folder, [...points]]));
  }

  /**
   * Checks under way, by folder: a folder on a share that stopped answering holds one of libuv's few pool
   * threads per stat, so every later list asks the same pending check instead of taking another thread.
   */
  private readonly pending = new Map<string, Promise<Absence | null>>();

  /** Why the folder cannot be seen, or null when it is there. Never throws; reads off the main thread. */
  check(folder: string): Promise<Absence | null> {
    const running = this.pending.get(folder);
    if (running) return running;
    const answer = this.look(folder).finally(() => {
      this.pending.delete(folder);
    });
    this.pending.set(folder, answer);
    return answer;
  }

  private async look(folder: string): Promise<Absence | null> {
    let dev: bigint;
    try {
      const stats = await fs.promises.stat(folder, { bigint: true });
      if (!stats.isDirectory()) return 'missing';
      dev = stats.dev;
      // The folder or one above it swapped for a symlink: what the path shows is another folder.
      if ((await realpathJs(folder)) !== path.resolve(folder)) return 'missing';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (GONE.has(code)) return 'missing';
      return DEVICE_GONE.has(code) ? 'not-mounted' : null;
    }
    // Read once per look: a list asks every folder every minute.
    let read: Promise<MountTables> | undefined;
    const tables = (): Promise<MountTables> => (read ??= this.tables());
    if (await this.mountGone(folder, tables)) return 'not-mounted';
    let empty: boolean;
    try {
      const dir = await fs.promises.opendir(folder);
      try {
        empty = (await dir.read()) === null;
      } finally {
        await dir.close();
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      return DEVICE_GONE.has(code) ? 'not-mounted' : null;
    }
    if (!empty) {
      this.devices.set(folder, dev);
      return null;
    }
    const before = this.devices.get(folder);
    if (before !== undefined && before !== dev) return 'not-mounted';
    return (await this.configuredButNotMounted(folder, tables)) ? 'not-mounted' : null;
  }

  private tables(): Promise<MountTables> {
    if (this.deps.mountTables) return this.deps.mountTables();
    return process.platform === 'linux'
      ? linuxMountTables()
      : Promise.resolve({ configured: [], mounted: new Set<string>() });
  }

  private async configuredButNotMounted(
    folder: string,
    mountTables: () => Promise<MountTables>,
  ): Promise<boolean> {
    const tables = await mountTables();
    const target = path.resolve(folder);
    return tables.configured.some(
      (point) => (target === point || target.startsWith(`${point}${path.sep}`)) && !tables.mounted.has(point),
    );
  }

  /**
   * Whether a drive mounted at or under the folder went away: a mount point seen mounted in this run and not
   * mounted now, or one fstab puts under the folder that is not mounted and empty. Its files are part of the
   * folder, and not seen. A mount point whose directory is gone since holds nothing of the folder any more.
   */
  private async mountGone(folder: string, mountTables: () => Promise<MountTables>): Promise<boolean> {
    const tables = await mountTables();
    const target = path.resolve(folder);
    const within = (p: string): boolean => p === target || p.startsWith(`${target}${path.sep}`);
    const stored = this.deps.memory?.load().get(folder) ?? [];
    let seen = this.mountsSeen.get(folder);
    for (const point of [...stored, ...tables.mounted]) {
      if (!within(point) && !stored.includes(point)) continue;
      seen ??= new Set();
      seen.add(point);
    }
    let gone = false;
    if (seen) {
      this.mountsSeen.set(folder, seen);
      for (const point of [...seen]) {
        if (tables.mounted.has(point)) continue;
        if (point === target || (await isDirectory(point))) gone = true;
        else seen.delete(point);
      }
      const now = [...seen];
      if (now.length !== stored.length || now.some((p) => !stored.includes(p)))
        this.deps.memory?.save(new Map([[folder, now]]));
    }
    if (gone) return true;
    const below = tables.configured.filter(
      (p) => p !== target && within(p) && !tables.mounted.has(p) && !seen?.has(p),
    );
    for (const point of below) if ((await isDirectory(point)) && (await isEmpty(point))) return true;
    return false;
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.promises.lstat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function isEmpty(p: string): Promise<boolean> {
  try {
    const dir = await fs.promises.opendir(p);
    try {
      return (await dir.read()) === null;
    } finally {
      await dir.close();
    }
  } catch {
    return false;
  }
}
