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
 * Known limit: a drive mounted by hand (no fstab line) and unmounted before the app started looks like an
 * empty folder; nothing on the disk beneath says a drive belongs there.
 */
import fs from 'node:fs';
import path from 'node:path';

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
}

export class FolderPresence {
  /** Each folder's file system (st_dev) when last seen holding something. */
  private readonly devices = new Map<string, bigint>();

  constructor(private readonly deps: FolderPresenceDeps = {}) {}

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
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (GONE.has(code)) return 'missing';
      return DEVICE_GONE.has(code) ? 'not-mounted' : null;
    }
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
    return (await this.configuredButNotMounted(folder)) ? 'not-mounted' : null;
  }

  private async configuredButNotMounted(folder: string): Promise<boolean> {
    const tables = this.deps.mountTables
      ? await this.deps.mountTables()
      : process.platform === 'linux'
        ? await linuxMountTables()
        : { configured: [], mounted: new Set<string>() };
    const target = path.resolve(folder);
    return tables.configured.some(
      (point) => (target === point || target.startsWith(`${point}${path.sep}`)) && !tables.mounted.has(point),
    );
  }
}
