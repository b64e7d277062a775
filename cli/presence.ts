/**
 * Whether each protected folder is there at all, for `coffer status` and `protect` (issue 10 item 4: the CLI
 * and the app must not disagree). The same FolderPresence the tray and the Overview ask
 * (electron/main/folder-presence.ts, no Electron in it): a folder gone or swapped for a symlink is 'missing',
 * one whose drive (at it or in a subfolder) is not mounted is 'not-mounted'.
 *
 * The app looks every minute and remembers the mount points it saw under each folder; a `coffer` command looks
 * once. So the mount points seen are kept in app data (mounts-seen.json) from one command to the next: a drive
 * mounted in `Invoices/Archive` at `coffer protect` and unmounted before `coffer status` is told. Known limits:
 * a drive mounted and unmounted between two commands that never saw it looks like an empty folder; two
 * commands looking at the same folder and saving at once may lose one's new mount point; a file there
 * that is not this shape is read as nothing seen (never as "all there").
 */
import path from 'node:path';
import { FolderPresence, type Absence } from '../electron/main/folder-presence.js';
import { MountsSeenFile } from '../electron/main/mounts-seen.js';

export class CliPresence {
  private readonly home: string;
  private readonly presence: FolderPresence;

  constructor(appHome: string) {
    this.home = appHome;
    this.presence = new FolderPresence({ mountsSeen: MountsSeenFile.inHome(appHome, () => []).load() });
  }

  /** Why the folder cannot be seen, or null when it is there (never throws). */
  check(folder: string): Promise<Absence | null> {
    return this.presence.check(folder);
  }

  /**
   * Why `folder`, at or inside the protected folder `registered`, cannot be seen. The mount points are kept
   * by protected folder: a subfolder asked alone (`coffer status DIR/sub`) was looked at with none of them
   * and said "All files protected" over a drive unmounted in it. The protected folder gone (or swapped for
   * a symlink) takes its subfolders with it; otherwise the subfolder is looked at with the mount points
   * seen at, above (inside the protected folder) or under it, so a sibling's drive is not its own.
   */
  async checkWithin(folder: string, registered: string): Promise<Absence | null> {
    const whole = await this.presence.check(registered);
    if (folder === registered || whole === 'missing') return whole;
    const under = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}${path.sep}`);
    const points = (this.presence.seenMounts().get(registered) ?? []).filter(
      (p) => under(p, folder) || (under(folder, p) && under(p, registered)),
    );
    return new FolderPresence({ mountsSeen: new Map([[folder, points]]) }).check(folder);
  }

  /**
   * Keeps the mount points seen under the protected folders for the next command; the folders this one did
   * not look at keep what another command saved meanwhile. Best effort: a write that fails leaves the last file (the next look sees anew).
   */
  save(protectedFolders: readonly string[]): void {
    MountsSeenFile.inHome(this.home, () => protectedFolders).save(this.presence.seenMounts());
  }
}
