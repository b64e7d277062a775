/**
 * When to tell the user that files STAY in the clear (issue 12 item 6), and when not to.
 *
 * A file being written is in the clear on purpose for its grace period (the watcher protects it once it is
 * unchanged), and a protect run has files in the clear until it reaches them: neither is news. A file is
 * "stuck" once it has been seen in the clear at two refreshes at least `thresholdMs` apart with no run of its
 * folder going on. A file is known by its path and by its identity on disk (FileIdentities): renamed, it is
 * still the same file and keeps its clock (issue 10 item 4: renamed every 4 minutes, it was never told). Each folder with stuck files gets one notification per episode: nothing more while files
 * stay stuck, a new one only after the folder had no stuck file and some are stuck again, and never two for
 * one folder within `quietMs` (a recurrence then is told when the quiet time is over, if still true). Across
 * folders, at most one notification per `gapMs`: folders that come due meanwhile wait and are told together
 * (twelve folders stuck a minute apart are two notices, not twelve).
 *
 * Time is what passed between refreshes, never less than nothing: a wall clock set back (NTP, a user, a dead
 * clock battery) would otherwise hold every notice back by as much. main.ts passes a monotonic clock as well.
 *
 * The notice carries the folder's name and a count, never a file's name or contents. Pure logic: the clock
 * and the notification go through the injected deps (main.ts passes Date.now and Electron's Notification).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FolderView } from '../shared/contract.js';
import { folderName, plural } from './tray-state.js';

export const STUCK_AFTER_MS = 5 * 60_000;
export const QUIET_MS = 30 * 60_000;
/** The least time between two notices, whatever folders they are about. */
export const NOTICE_GAP_MS = 10 * 60_000;

export type ClearFolder = Pick<
  FolderView,
  'id' | 'path' | 'inTheClearFiles' | 'inTheClear' | 'runningRunId'
> &
  Partial<Pick<FolderView, 'unavailable'>>;

/**
 * Each listed file's identity on disk, by `identityKey(folderId, path)`: device, inode and birth time (where
 * the file system keeps one, else the change time), which a rename keeps and a new file does not, even one
 * that gets a freed inode number. A file gone since it was listed has none (known by its path only).
 */
export type FileIdentities = ReadonlyMap<string, string>;

export function identityKey(folderId: string, file: string): string {
  return `${folderId}\0${file}`;
}

/**
 * The identities of the files the folder list names (at most CLEAR_LIST_LIMIT a folder), read with lstat off
 * the main thread (libuv's pool): a folder that stopped answering delays this answer, never the window.
 */
export async function fileIdentities(folders: readonly ClearFolder[] | null): Promise<FileIdentities> {
  const ids = new Map<string, string>();
  if (folders === null) return ids;
  await Promise.all(
    folders.flatMap((folder) =>
      folder.inTheClear.map(async (issue) => {
        try {
          const s = await fs.promises.lstat(path.resolve(folder.path, issue.path), { bigint: true });
          // Without a birth time (ramfs, ext2/3 small inodes, NFS), device and inode alone: the change time
          // moves at every rename, so every rename was a new file. An inode number freed and given to a new
          // file there can only make a file look stuck earlier (told, never hidden).
          const born = s.birthtimeNs > 0n ? `:${s.birthtimeNs}` : '';
          ids.set(identityKey(folder.id, issue.path), `${s.dev}:${s.ino}${born}`);
        } catch {
          // Gone or unreadable: known by its path only.
        }
      }),
    ),
  );
  return ids;
}

export interface ClearNotice {
  /** The folder a click opens (the first one, when the notice is about several). */
  folderId: string;
  title: string;
  body: string;
}

export interface ClearNotifierDeps {
  now(): number;
  notify(notice: ClearNotice): void;
  thresholdMs?: number;
  quietMs?: number;
  gapMs?: number;
}

interface FolderTrack {
  /** Listed files in the clear, by path, with when each was first seen there (continuously since). */
  files: Map<string, number>;
  /** Each listed path's identity on disk when last read: kept for a refresh that could not read it. */
  idOf: Map<string, string>;
  /** Since when the folder has had files in the clear continuously (covers files past the list's limit). */
  since: number | null;
  /** Files stuck at the last observation (0 = none). */
  stuckCount: number;
  /** Whether this episode was told. */
  told: boolean;
  /** When this folder was last told about, for the quiet time. */
  lastToldAt: number | null;
}

export class ClearNotifier {
  private readonly tracks = new Map<string, FolderTrack>();
  private readonly thresholdMs: number;
  private readonly quietMs: number;
  private readonly gapMs: number;
  /** The last reading of deps.now(), and the time this notifier counts (it never goes back). */
  private lastReading: number | null = null;
  private elapsed = 0;
  /** When the last notice, about any folder, was sent. */
  private lastNoticeAt: number | null = null;
  /**
   * First-seen times by identity on disk (FileIdentities), across every folder: a file renamed since, or
   * moved to another protected folder, keeps its time.
   */
  private ids = new Map<string, number>();

  constructor(private readonly deps: ClearNotifierDeps) {
    this.thresholdMs = deps.thresholdMs ?? STUCK_AFTER_MS;
    this.quietMs = deps.quietMs ?? QUIET_MS;
    this.gapMs = deps.gapMs ?? NOTICE_GAP_MS;
  }

  /** Time since the first observation: each step is what the clock moved forward, 0 when it went back. */
  private tick(): number {
    const reading = this.deps.now();
    if (this.lastReading !== null) this.elapsed += Math.max(0, reading - this.lastReading);
    this.lastReading = reading;
    return this.elapsed;
  }

  /**
   * One refresh of the folder list. null (the list could not be read) tells nothing: what was seen before
   * stays as it was, and nothing is notified.
   */
  observe(folders: readonly ClearFolder[] | null, ids: FileIdentities = new Map()): void {
    if (folders === null) return;
    const now = this.tick();
    const listed = new Set(folders.map((f) => f.id));
    for (const id of [...this.tracks.keys()]) if (!listed.has(id)) this.tracks.delete(id);

    const due: { folder: ClearFolder; count: number }[] = [];
    const seenIds = new Map<string, number>();
    for (const folder of folders) {
      const track = this.track(folder.id);
      // A folder Coffer cannot see has no files to speak of (its count is the status layer's unreadable
      // root): the tray says it is not available; "files stayed in the clear" would not be true. What was
      // seen before it went away is kept, not resolved: a folder made unavailable for a moment (a drive in
      // a subfolder unmounted, the folder moved away and back) would otherwise restart every file's clock.
      // (A folder whose drive is not mounted, with files in the clear it can see, is judged as any other.)
      if (
        folder.unavailable === 'missing' ||
        (folder.unavailable !== undefined && folder.inTheClearFiles === 0)
      ) {
        track.stuckCount = 0;
        for (const [file, id] of track.idOf) {
          const at = track.files.get(file);
          if (at !== undefined) seenIds.set(id, Math.min(at, seenIds.get(id) ?? at));
        }
        continue;
      }
      if (folder.inTheClearFiles === 0) {
        this.resolve(track);
        continue;
      }
      track.since ??= now;
      const since = track.since;
      // A file is the one seen before if its path or its identity on disk is (renamed: same identity; saved
      // over by an editor's rename: same path); the earlier of the two times counts.
      const seen = new Map<string, number>();
      const idOf = new Map<string, string>();
      for (const issue of folder.inTheClear) {
        // Not read this time (an earlier read still pending, a slow share): the identity last read at this
        // path, so a rename after this refresh is still known.
        const id = ids.get(identityKey(folder.id, issue.path)) ?? track.idOf.get(issue.path);
        const byPath = track.files.get(issue.path) ?? now;
        const byId = id === undefined ? now : (this.ids.get(id) ?? now);
        const at = Math.min(byPath, byId);
        seen.set(issue.path, at);
        if (id !== undefined) {
          idOf.set(issue.path, id);
          seenIds.set(id, Math.min(at, seenIds.get(id) ?? at));
        }
      }
      track.files = seen;
      track.idOf = idOf;
      // The list holds the first files only: the others are judged by the folder's continuous episode.
      const unlisted = folder.inTheClearFiles - folder.inTheClear.length;
      const old = (at: number): boolean => now - at >= this.thresholdMs;
      const stuckListed = [...track.files.values()].filter(old).length;
      const stuckCount = stuckListed + (unlisted > 0 && old(since) ? unlisted : 0);
      // A run working on the folder is reaching its files: they are not stuck while it goes on. Whatever it
      // leaves behind keeps its first-seen time, so it is told at the first refresh after the run.
      track.stuckCount = folder.runningRunId === null ? stuckCount : 0;
      if (track.stuckCount === 0) {
        if (stuckCount === 0) track.told = false;
        continue;
      }
      if (track.told) continue;
      if (track.lastToldAt !== null && now - track.lastToldAt < this.quietMs) continue;
      due.push({ folder, count: track.stuckCount });
    }
    this.ids = seenIds;
    if (due.length === 0) return;
    // Folders held back by the gap stay due: the first refresh after it tells them all in one notice.
    if (this.lastNoticeAt !== null && now - this.lastNoticeAt < this.gapMs) return;
    this.lastNoticeAt = now;
    for (const d of due) {
      const track = this.tracks.get(d.folder.id);
      if (track) {
        track.told = true;
        track.lastToldAt = now;
      }
    }
    this.deps.notify(this.notice(due));
  }

  /** Folders with files stuck in the clear at the last observation (the tray shows them as needing the user). */
  stuck(): ReadonlySet<string> {
    return new Set([...this.tracks].filter(([, t]) => t.stuckCount > 0).map(([id]) => id));
  }

  private track(id: string): FolderTrack {
    let track = this.tracks.get(id);
    if (!track) {
      track = {
        files: new Map(),
        idOf: new Map(),
        since: null,
        stuckCount: 0,
        told: false,
        lastToldAt: null,
      };
      this.tracks.set(id, track);
    }
    return track;
  }

  private resolve(track: FolderTrack): void {
    track.files.clear();
    track.idOf.clear();
    track.since = null;
    track.stuckCount = 0;
    track.told = false;
  }

  private notice(due: readonly { folder: ClearFolder; count: number }[]): ClearNotice {
    const minutes = Math.max(1, Math.round(this.thresholdMs / 60_000));
    const total = due.reduce((n, d) => n + d.count, 0);
    const [first] = due;
    const place =
      due.length === 1 && first
        ? `in ${folderName(first.folder.path)}`
        : `in ${plural(due.length, 'folder')}`;
    return {
      folderId: first?.folder.id ?? '',
      title: 'Files are still in the clear',
      body:
        `${plural(total, 'file')} ${place} ${total === 1 ? 'has' : 'have'} stayed in the clear for ` +
        `${plural(minutes, 'minute')} or more. Open Coffer to see why.`,
    };
  }
}

/**
 * The notice as the platform's notification takes it. Linux: Electron hands title and body to libnotify as
 * they are, and the freedesktop notification spec reads the body as markup where the server says
 * `body-markup` (GNOME, KDE, xfce, dunst, mako): a folder named `R&D` empties the body on xfce4-notifyd, and
 * `<a href>` in a name would be a link. Escaped there, it reads as typed. macOS and Windows take plain text.
 */
export function notificationText(
  notice: ClearNotice,
  platform: NodeJS.Platform,
): { title: string; body: string } {
  if (platform === 'darwin' || platform === 'win32') return { title: notice.title, body: notice.body };
  const text = (s: string): string =>
    s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  return { title: notice.title, body: text(notice.body) };
}
