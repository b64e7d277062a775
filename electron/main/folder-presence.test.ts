/**
 * FolderPresence over real directories and real mount tables in files (the fstab and mountinfo formats as
 * Linux writes them): a gone folder, a file where the folder was, an fstab mount point nothing is mounted on
 * (empty: not mounted; holding files: there), names with spaces (octal escapes), and a folder that was on
 * another file system earlier in this run. The real mount and unmount is in tray-refresh.test.ts and
 * e2e/app-overview-honest.e2e.ts (root only).
 */
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
    // /dev/shm is another file system than the temp folder here; without one, there is nothing to compare.
    const other = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/coffer-presence-') : null;
    if (other === null || fs.statSync(other).dev === fs.statSync(dir).dev) {
      console.warn('skipped: no second file system (/dev/shm) to move the folder between');
      if (other) fs.rmSync(other, { recursive: true, force: true });
      context.skip();
      return;
    }
    const link = path.join(dir, 'Projects');
    try {
      fs.writeFileSync(path.join(other, 'plan.txt'), 'x');
      fs.symlinkSync(other, link); // the folder as its path reads it: on /dev/shm
      const presence = new FolderPresence({ mountTables: tables('', '') });
      expect(await presence.check(link)).toBeNull();
      fs.rmSync(link);
      fs.mkdirSync(link); // the same path, empty, on the disk beneath
      expect(await presence.check(link)).toBe('not-mounted');
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
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
