/**
 * Acting only inside a protected folder (DESIGN.md "Act only inside the root"). Node has no openat(2), so
 * a directory is opened once (O_DIRECTORY | O_NOFOLLOW), its real path checked to lie inside the root, and
 * every later open, rename and unlink in it goes through `/proc/<pid>/fd/<dirfd>/<name>`: the kernel
 * resolves that magic link to the very directory we verified, however its path is swapped for a symlink
 * meanwhile, so the name is looked up in that directory and nowhere else (openat semantics). Before each
 * rename or unlink the directory's real path is checked again (it may have been moved out of the root as
 * a whole; then nothing more is done in it).
 *
 * Where there is no /proc (macOS, Windows) the fallback re-checks, immediately before each operation, that
 * the path still resolves to the same directory (dev/ino) inside the root, and acts by path. A swap in the
 * microseconds between that check and the system call is not caught there: that window is the remaining
 * race, documented in docs/SECURITY.md; it is not tested on this machine (Linux).
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readlinkSync,
  realpathSync,
} from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import { errnoOf } from '../fs-errors.js';
import { NOFOLLOW } from './open.js';

/** `/proc/<pid>/fd`, not `/proc/self/fd`: the same path then also works for a child (`sync -f`). */
const PROC_FD = ((): string | null => {
  if (process.platform !== 'linux') return null;
  try {
    readlinkSync(`/proc/${process.pid}/cwd`);
    return `/proc/${process.pid}/fd`;
  } catch {
    return null;
  }
})();

const O_DIRECTORY = (constants as { O_DIRECTORY?: number }).O_DIRECTORY ?? 0;

/** Whether directories are reached through their descriptor (no race) or by re-checked path (a window). */
export const DIR_FD_MODE = PROC_FD !== null;

export function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function outside(path: string, root: string): CofferError {
  return new CofferError(
    'OUTSIDE_FOLDER',
    `${path}: no longer inside ${root} (a folder was moved or replaced by a link)`,
    'Nothing outside the protected folder was touched; check what changes this folder, then run again.',
  );
}

function replaced(path: string, cause: unknown): CofferError {
  return new CofferError(
    'OUTSIDE_FOLDER',
    `${path}: not a folder (a link or a file is where a folder was); nothing in it was touched`,
    'Coffer never follows links out of a protected folder; check what changes this folder, then run again.',
    { cause },
  );
}

export class VerifiedDir {
  private refs = 1;

  private constructor(
    /** The path it was opened by (for messages and the fallback). */
    readonly path: string,
    private readonly fd: number | null,
    private readonly dev: number,
    private readonly ino: number,
    /** Its real path when verified. */
    readonly real: string,
    private readonly root: string | null,
  ) {}

  /**
   * Opens `path` and checks it is a directory inside `root` (a real path; null: anywhere, for single files
   * the user named). Throws OUTSIDE_FOLDER, SYMLINK (ELOOP) or the fs error.
   */
  static open(path: string, root: string | null): VerifiedDir {
    if (PROC_FD === null) {
      const stats = lstatSync(path);
      if (!stats.isDirectory()) throw replaced(path, null);
      const real = realpathSync.native(path);
      if (root !== null && !isInside(real, root)) throw outside(path, root);
      return new VerifiedDir(path, null, stats.dev, stats.ino, real, root);
    }
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | O_DIRECTORY | NOFOLLOW);
    } catch (error) {
      // A symlink (or a file) where a folder was: refused as such, whoever put it there.
      if (errnoOf(error) === 'ENOTDIR' || errnoOf(error) === 'ELOOP') throw replaced(path, error);
      throw error;
    }
    try {
      const stats = fstatSync(fd);
      const real = readlinkSync(`${PROC_FD}/${fd}`);
      if (root !== null && !isInside(real, root)) throw outside(path, root);
      return new VerifiedDir(path, fd, stats.dev, stats.ino, real, root);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * The path through which to act on `name` in this directory. With a descriptor it cannot lead anywhere
   * else; in the fallback, the directory is re-checked first.
   */
  at(name: string): string {
    if (this.fd !== null) return `${PROC_FD}/${this.fd}/${name}`;
    this.recheck();
    return join(this.path, name);
  }

  /** The user-facing path of `name` here. */
  display(name: string): string {
    return join(this.path, name);
  }

  /** Immediately before a rename or unlink: the directory is still inside the root (and still the same). */
  recheck(): void {
    if (this.fd !== null) {
      if (this.root === null) return;
      let real: string;
      try {
        real = readlinkSync(`${PROC_FD}/${this.fd}`);
      } catch {
        throw outside(this.path, this.root);
      }
      // A removed directory reads "<path> (deleted)", which is never inside the root.
      if (!isInside(real, this.root)) throw outside(this.path, this.root);
      return;
    }
    let stats;
    let real: string;
    try {
      stats = lstatSync(this.path);
      real = realpathSync.native(this.path);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') throw outside(this.path, this.root ?? this.real);
      throw error;
    }
    if (!stats.isDirectory() || stats.dev !== this.dev || stats.ino !== this.ino || real !== this.real)
      throw outside(this.path, this.root ?? this.real);
  }

  /** fsync of the directory itself (the names in it are durable); tolerated where folders cannot be. */
  fsync(): void {
    if (this.fd !== null) {
      fsyncSync(this.fd);
      return;
    }
    let fd: number | undefined;
    try {
      fd = openSync(this.at('.'), 'r');
      fsyncSync(fd);
    } catch (error) {
      // Some platforms (Windows) and file systems cannot open or fsync a folder; the rename is still atomic.
      if (!['EISDIR', 'EPERM', 'EACCES', 'EINVAL'].includes(errnoOf(error) ?? '')) throw error;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0 && this.fd !== null) closeSync(this.fd);
  }
}

/**
 * The directories of one batch, opened once each and closed together. `rootFor` names the protected
 * folder a path must stay inside (null: none).
 */
export class DirSet {
  private readonly dirs = new Map<string, VerifiedDir>();

  constructor(private readonly rootFor: (dir: string) => string | null) {}

  get(dir: string): VerifiedDir {
    let found = this.dirs.get(dir);
    if (!found) {
      found = VerifiedDir.open(dir, this.rootFor(dir));
      this.dirs.set(dir, found);
    }
    return found;
  }

  close(): void {
    for (const dir of this.dirs.values()) dir.release();
    this.dirs.clear();
  }
}

/** The longest of `roots` (canonical folder paths) holding a directory, as a real path; none: OUTSIDE_FOLDER. */
export function rootResolver(roots: readonly string[] | undefined): (dir: string) => string | null {
  if (!roots || roots.length === 0) return () => null;
  const entries = roots
    .map((given) => ({ given, real: realRoot(given) }))
    .sort((a, b) => b.given.length - a.given.length);
  return (dir) => {
    const entry = entries.find((e) => isInside(dir, e.given) || isInside(dir, e.real));
    if (entry === undefined) throw outside(dir, roots.join(', '));
    return entry.real;
  };
}

/**
 * A root's real path, without following the root itself: roots are canonical (the registry keeps real
 * paths), so a root that is now a link was renamed away and replaced, and following it would make its
 * target the root every check compares with (R6 review: a subfolder of the link target was then accepted
 * as inside). Only its parent is resolved (macOS /var → /private/var); the root's own open (O_NOFOLLOW)
 * then refuses the link, and a folder reached through it is not inside.
 */
function realRoot(path: string): string {
  const parent = dirname(path);
  try {
    return parent === path ? path : join(realpathSync.native(parent), basename(path));
  } catch {
    return path;
  }
}
