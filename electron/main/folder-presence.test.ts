/**
 * FolderPresence over real directories and real mount tables in files (the fstab and mountinfo formats as
 * Linux writes them): a gone folder, a file where the folder was, an fstab mount point nothing is mounted on
 * (empty: not mounted; holding files: there), names with spaces (octal escapes), and a folder that was on
 * another file system earlier in this run. The real mount and unmount is in tray-refresh.test.ts and
 * e2e/app-overview-honest.e2e.ts (root only).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FolderPresence, linuxMountTables } from './folder-presence.js';

const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-presence-')));
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Mount tables read from real files, as on Linux. */
function tables(fstab: string, mountinfo: string) {
  const tab = path.join(dir, `fstab-${Math.random().toString(36).slice(2)}`);
  const info = path.join(dir, `mountinfo-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(tab, fstab);
  fs.writeFileSync(info, mountinfo);
  return () => linuxMountTables(tab, info);
}

describe('FolderPresence', () => {
  it('says missing for a path that is gone or is a file, and nothing for a folder that is there', async () => {
    const presence = new FolderPresence({ mountTables: tables('', '') });
    expect(await presence.check(path.join(dir, 'never-there'))).toBe('missing');
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    expect(await presence.check(file)).toBe('missing');
    expect(await presence.check(path.join(file, 'below'))).toBe('missing'); // ENOTDIR
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    expect(await presence.check(empty)).toBeNull(); // an empty folder is just empty
  });

  it('says not mounted for an empty folder at or under an fstab mount point with nothing mounted', async () => {
    const point = path.join(dir, 'Backup Drive');
    const work = path.join(point, 'Work');
    fs.mkdirSync(work, { recursive: true });
    const fstab = [
      '# <file system> <mount point> <type> <options> <dump> <pass>',
      'UUID=1234 / ext4 errors=remount-ro 0 1',
      `UUID=abcd ${point.replaceAll(' ', '\\040')} ext4 noauto,user 0 2`,
      '/swapfile none swap sw 0 0',
    ].join('\n');
    const notMounted = tables(fstab, '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n');
    const presence = new FolderPresence({ mountTables: notMounted });
    expect(await presence.check(work)).toBe('not-mounted');
    fs.rmdirSync(work);
    expect(await presence.check(point)).toBe('not-mounted');
    // Mounted (mountinfo escapes the space too): there.
    const escaped = point.replaceAll(' ', '\\040');
    const mounted = tables(
      fstab,
      `22 1 8:1 / / rw - ext4 /dev/vda rw\n40 22 8:17 / ${escaped} rw - ext4 /dev/vdb1 rw\n`,
    );
    expect(await new FolderPresence({ mountTables: mounted }).check(point)).toBeNull();
    // Not mounted but holding files: Coffer sees files, and counts them as they are.
    fs.writeFileSync(path.join(point, 'notes.txt'), 'x');
    expect(await presence.check(point)).toBeNull();
  });

  it('says not mounted for a folder seen holding files on one file system, empty now on another', async (context) => {
    // A real tmpfs mounted on the folder, then unmounted: the same path, empty, on the disk beneath. (A
    // symlink to /dev/shm stood in for the mount before; a path that leads elsewhere is now 'missing'.)
    if (process.getuid?.() !== 0) {
      console.warn('skipped: not root: mounting a tmpfs needs root');
      context.skip();
      return;
    }
    const point = path.join(dir, 'Projects');
    fs.mkdirSync(point);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', point]);
    let mounted = true;
    try {
      fs.writeFileSync(path.join(point, 'plan.txt'), 'x');
      // No mount table: the file system seen before is what tells.
      const presence = new FolderPresence({ mountTables: tables('', '') });
      expect(await presence.check(point)).toBeNull();
      execFileSync('umount', [point]);
      mounted = false;
      expect(await presence.check(point)).toBe('not-mounted');
    } finally {
      if (mounted) execFileSync('umount', [point]);
    }
  });
});

/** Review of d97c5e7: folders that read "there" while what they hold is not what the user sees. */
describe('FolderPresence: a folder whose files are not what its path shows', () => {
  it('says missing for a folder, or a folder above it, swapped for a symlink (to an empty folder or another)', async () => {
    // The status layer reads through the link: 0 files in the clear, "All files protected" about a folder that
    // was not there, and the files written to it go to the link's target.
    const presence = new FolderPresence({ mountTables: tables('', '') });
    const parent = path.join(dir, 'swap');
    const folder = path.join(parent, 'Invoices');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'a.txt'), 'x');
    expect(await presence.check(folder)).toBeNull();
    const empty = path.join(dir, 'elsewhere-empty');
    fs.mkdirSync(empty);
    fs.renameSync(folder, path.join(parent, 'Invoices.moved'));
    fs.symlinkSync(empty, folder);
    expect(await presence.check(folder)).toBe('missing');
    // A folder above swapped: the last component is a real folder, its path leads elsewhere.
    fs.rmSync(folder);
    fs.renameSync(path.join(parent, 'Invoices.moved'), folder);
    expect(await presence.check(folder)).toBeNull();
    const other = path.join(dir, 'elsewhere-parent');
    fs.mkdirSync(path.join(other, 'Invoices'), { recursive: true });
    fs.renameSync(parent, `${parent}.moved`);
    fs.symlinkSync(other, parent);
    expect(await presence.check(folder)).toBe('missing');
  });

  it('says not mounted when a drive mounted in a subfolder (or on the folder) went away', async (context) => {
    // A drive on Invoices/Archive, unmounted: Archive is an empty folder, the rest all protected, and the
    // tray said "All files protected" without the drive's files. Real tmpfs mounts, real mountinfo.
    if (process.getuid?.() !== 0) {
      console.warn('skipped: not root: mounting a tmpfs needs root');
      context.skip();
      return;
    }
    const folder = path.join(dir, 'WithDrive');
    const archive = path.join(folder, 'Archive');
    fs.mkdirSync(archive, { recursive: true });
    fs.writeFileSync(path.join(folder, 'a.txt'), 'x');
    const presence = new FolderPresence();
    const mounts: string[] = [];
    const mount = (at: string): void => {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', at]);
      mounts.push(at);
    };
    const umount = (at: string): void => {
      execFileSync('umount', [at]);
      mounts.splice(mounts.lastIndexOf(at), 1);
    };
    try {
      mount(archive);
      fs.writeFileSync(path.join(archive, 'old.xlsx'), 'x');
      expect(await presence.check(folder)).toBeNull();
      umount(archive);
      expect(await presence.check(folder)).toBe('not-mounted');
      mount(archive); // plugged in again
      expect(await presence.check(folder)).toBeNull();
      umount(archive);
      fs.rmdirSync(archive); // its mount point removed: nothing of the folder is there any more
      expect(await presence.check(folder)).toBeNull();
      // On the folder itself, with files left on the disk beneath: not the drive's files.
      mount(folder);
      fs.writeFileSync(path.join(folder, 'on-drive.txt'), 'x');
      expect(await presence.check(folder)).toBeNull();
      umount(folder);
      expect(fs.readdirSync(folder)).toEqual(['a.txt']);
      expect(await presence.check(folder)).toBe('not-mounted');
    } finally {
      for (const at of mounts.reverse()) execFileSync('umount', [at]);
    }
  });

  it('says not mounted for an fstab mount point under the folder with nothing mounted and nothing in it', async () => {
    const folder = path.join(dir, 'WithFstab');
    const point = path.join(folder, 'Backup');
    fs.mkdirSync(point, { recursive: true });
    fs.writeFileSync(path.join(folder, 'a.txt'), 'x');
    const fstab = `UUID=abcd ${point} ext4 noauto,user 0 2\n`;
    const root = '22 1 8:1 / / rw - ext4 /dev/vda rw\n';
    expect(await new FolderPresence({ mountTables: tables(fstab, root) }).check(folder)).toBe('not-mounted');
    const mounted = `${root}40 22 8:17 / ${point} rw - ext4 /dev/vdb1 rw\n`;
    expect(await new FolderPresence({ mountTables: tables(fstab, mounted) }).check(folder)).toBeNull();
    // Holding files (the drive is not a drive there, or files were put beneath): counted as they are.
    fs.writeFileSync(path.join(point, 'notes.txt'), 'x');
    expect(await new FolderPresence({ mountTables: tables(fstab, root) }).check(folder)).toBeNull();
  });
});

describe('FolderPresence on a folder that does not answer', () => {
  it('asks one pending check per folder, however many lists ask meanwhile (libuv has 4 pool threads)', async () => {
    // A folder whose mount tables hang stands in for a share that stopped answering.
    const empty = path.join(dir, 'hung');
    fs.mkdirSync(empty);
    let asked = 0;
    let release: () => void = () => undefined;
    const presence = new FolderPresence({
      mountTables: () => {
        asked++;
        return new Promise((resolve) => {
          release = () => {
            resolve({ configured: [], mounted: new Set() });
          };
        });
      },
    });
    const answers = Array.from({ length: 10 }, () => presence.check(empty));
    await new Promise((r) => setTimeout(r, 50));
    expect(asked).toBe(1);
    release();
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 10 }, () => null));
    // Done: the next list looks again.
    const next = presence.check(empty);
    await new Promise((r) => setTimeout(r, 50));
    release();
    expect(await next).toBeNull();
    expect(asked).toBe(2);
  });
});
