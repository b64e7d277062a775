/**
 * The mount points seen mounted at or under each protected folder, kept in app data (`mounts-seen.json`) for
 * FolderPresence (issue 10 item 4: the CLI and the app must not disagree). The app and every `coffer` command
 * read and add to the same file: a drive in `Invoices/Archive` seen by `coffer protect` and unmounted before
 * the app looked, or seen by the app and unmounted before `coffer status` ran, is told by both. Kept in
 * memory only, each said "all there" about what the other had seen.
 *
 * Known limits: two processes saving at once may lose one's new mount point (the next look adds it again
 * while it is mounted); a file there that is not this shape, or larger than MAX_BYTES, is read as nothing
 * seen (never as "all there" by itself: FolderPresence still reads the live mount tables).
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../services/state/atomic-write.js';

export const MOUNTS_SEEN_FILE = 'mounts-seen.json';

/** A few hundred folders with a few mount points each; more is not ours, and is not read. */
const MAX_BYTES = 1024 * 1024;

interface Stored {
  version: 1;
  /** Folder (real path) → mount points at or under it seen mounted. */
  folders: Record<string, string[]>;
}

export class MountsSeenFile {
  /**
   * `keep`: the protected folders (registry real paths); a folder no longer protected is dropped at the
   * next save.
   */
  constructor(
    readonly file: string,
    private readonly keep: () => readonly string[],
  ) {}

  static inHome(home: string, keep: () => readonly string[]): MountsSeenFile {
    return new MountsSeenFile(path.join(home, MOUNTS_SEEN_FILE), keep);
  }

  /** What is kept; nothing when the file is missing, unreadable, too large or not this shape. Never throws. */
  load(): Map<string, string[]> {
    const seen = new Map<string, string[]>();
    let parsed: unknown;
    try {
      // Not followed if a link, never waited on if a FIFO, read only if a small regular file: a FIFO planted
      // in its place hung every `coffer status`, a link to /dev/zero read until the heap ran out.
      // (Windows has neither flag: undefined there, whatever the typings say.)
      const flags: Partial<typeof fs.constants> = fs.constants;
      const fd = fs.openSync(
        this.file,
        fs.constants.O_RDONLY | (flags.O_NOFOLLOW ?? 0) | (flags.O_NONBLOCK ?? 0),
      );
      try {
        const stats = fs.fstatSync(fd);
        if (!stats.isFile() || stats.size > MAX_BYTES) return seen;
        parsed = JSON.parse(fs.readFileSync(fd, 'utf8'));
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return seen;
    }
    if (typeof parsed !== 'object' || parsed === null || (parsed as Partial<Stored>).version !== 1)
      return seen;
    const folders: unknown = (parsed as { folders?: unknown }).folders;
    if (typeof folders !== 'object' || folders === null) return seen;
    for (const [folder, points] of Object.entries(folders)) {
      if (!path.isAbsolute(folder) || !Array.isArray(points)) continue;
      const kept = points.filter((p): p is string => typeof p === 'string' && path.isAbsolute(p));
      if (kept.length) seen.set(folder, kept);
    }
    return seen;
  }

  /**
   * Keeps `seen` for its folders; the other folders keep what another process saved meanwhile. Best effort,
   * never throws: app data not writable leaves the last file (the caller's answer stands).
   */
  save(seen: ReadonlyMap<string, readonly string[]>): void {
    try {
      const keep = new Set(this.keep());
      const merged = this.load();
      for (const [folder, points] of seen) merged.set(folder, [...points]);
      const folders: Record<string, string[]> = {};
      for (const [folder, points] of merged) if (keep.has(folder) && points.length) folders[folder] = points;
      const stored: Stored = { version: 1, folders };
      writeFileAtomic(this.file, `${JSON.stringify(stored, null, 2)}\n`);
    } catch {
      // Not writable (read-only app data, disk full) or the registry unreadable: the next look sees anew.
    }
  }
}
