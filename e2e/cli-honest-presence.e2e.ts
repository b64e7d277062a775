/**
 * Issue 10 item 4 (honest state), the CLI beside the app: a protected folder Coffer cannot see is never "All
 * files protected". The app's tray and Overview ask FolderPresence (electron/main/folder-presence.ts); `coffer
 * status` read the disk beneath an unmounted drive, or the target of a symlink swapped in for the folder, and
 * said "All files protected", exit 0: the CLI and the app disagreed. Real CLI, real keychain, real tmpfs mounts
 * (root only: skipped with the reason printed elsewhere).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';
import { cannotMountTmpfs } from './helpers/tmpfs.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI folder presence: ${NO_KEYRING}`);

interface StatusDoc {
  ok: boolean;
  inTheClearFiles: number;
  folders: {
    path: string;
    unavailable?: string;
    protectedFiles: number;
    protection: { inTheClearFiles: number };
  }[];
  unavailable?: { path: string; reason: string }[];
}

describe.skipIf(NO_KEYRING !== null)('coffer status of a folder it cannot see', () => {
  const laptop = new Laptop('presence');
  const dirs: string[] = [];
  const mounts: string[] = [];
  afterAll(() => {
    for (const m of mounts.reverse()) {
      try {
        execFileSync('umount', [m], { stdio: 'pipe' });
      } catch {
        // Already unmounted by the test.
      }
    }
    for (const d of [...dirs, laptop.home]) fs.rmSync(d, { recursive: true, force: true });
  });
  /** `<tmp>/coffer-<label>-XXXX/Invoices`, by its real path (the registry keeps real paths). */
  const invoices = (label: string): string => {
    const parent = fs.realpathSync(tempDir(label));
    dirs.push(parent);
    const dir = path.join(parent, 'Invoices');
    fs.mkdirSync(dir);
    return dir;
  };

  /** `coffer status [dir]` as JSON and as text: both must say the same. */
  async function status(dir?: string): Promise<{ doc: StatusDoc; code: number | null; text: string }> {
    const args = dir === undefined ? ['status'] : ['status', dir];
    const json = await laptop.json<StatusDoc>(args);
    const human = await laptop.run(args);
    expect(human.code).toBe(json.result.code);
    return { doc: json.doc, code: json.result.code, text: human.stdout };
  }

  it('a drive mounted in a subfolder, unmounted after protect: not available, not protected, exit 1', async (context) => {
    const cannot = cannotMountTmpfs();
    if (cannot) {
      console.warn(`skipped: ${cannot}`);
      context.skip();
      return;
    }
    const dir = invoices('presence-submount');
    const archive = path.join(dir, 'Archive');
    fs.mkdirSync(archive);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', archive]);
    mounts.push(archive);
    fs.writeFileSync(path.join(dir, 'march.pdf'), 'invoice\n');
    fs.writeFileSync(path.join(archive, 'old-salaries.xlsx'), 'customer data\n');
    const protect = await laptop.run(['protect', dir]);
    expect(protect.code, protect.stderr).toBe(0);
    expect(fs.readdirSync(archive)).toEqual(['old-salaries.xlsx.coffer']);

    execFileSync('umount', [archive]);
    for (const asked of [dir, undefined]) {
      const { doc, code, text } = await status(asked);
      expect(code).toBe(1);
      expect(doc.ok).toBe(false);
      expect(doc.folders.map((f) => [f.path, f.unavailable])).toEqual([[dir, 'not-mounted']]);
      expect(doc.unavailable).toEqual([{ path: dir, reason: 'not-mounted' }]);
      // The app's words (tray-state.ts unavailableLine): the same folder, the same reason.
      expect(text).toContain('Invoices is not available: its drive is not connected');
      expect(text).not.toContain('All files protected');
      expect(text).toContain('Not all files protected: 1 folder Coffer cannot see.');
    }

    // Mounted again: its files are there, and it is green again.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', archive]);
    const back = await status(dir);
    expect(back.code).toBe(0);
    expect(back.doc.ok).toBe(true);
    expect(back.doc.unavailable).toBeUndefined();
    expect(back.text).toContain('All files protected');
    execFileSync('umount', [archive]);
  });

  it('the folder swapped for a symlink to another folder: cannot be found, not protected, exit 1', async () => {
    const dir = invoices('presence-symlink');
    fs.writeFileSync(path.join(dir, 'march.pdf'), 'invoice\n');
    const protect = await laptop.run(['protect', dir]);
    expect(protect.code, protect.stderr).toBe(0);
    // Another folder, with one protected file of its own: none of it is the folder's.
    const other = path.join(path.dirname(dir), 'other');
    fs.mkdirSync(other);
    const moved = path.join(path.dirname(dir), 'Invoices.moved');
    fs.renameSync(dir, moved);
    fs.copyFileSync(path.join(moved, 'march.pdf.coffer'), path.join(other, 'april.pdf.coffer'));
    fs.symlinkSync(other, dir);

    const { doc, code, text } = await status();
    expect(code).toBe(1);
    expect(doc.ok).toBe(false);
    const swapped = doc.folders.find((f) => f.path === dir);
    expect(swapped?.unavailable).toBe('missing');
    expect(swapped).toMatchObject({ protectedFiles: 0, protection: { inTheClearFiles: 0 } });
    expect(doc.unavailable).toContainEqual({ path: dir, reason: 'missing' });
    expect(text).toContain('Invoices cannot be found');
    expect(text).not.toContain('All files protected');
    fs.unlinkSync(dir);
  });
});
