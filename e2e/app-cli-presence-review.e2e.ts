/**
 * Review of ea5c1bb (issue 10 item 4: the CLI and the app must not disagree). `coffer status` remembers the
 * mount points it saw under each protected folder in app data (mounts-seen.json); the app's FolderPresence
 * remembered them only in memory. One laptop, the app's composition root (buildApp) and the real CLI on the same
 * app data and keychain, real tmpfs mounts (root only: skipped with the reason printed):
 * - a drive in a subfolder seen by the CLI at protect, unmounted before the app looked: the app said all there;
 * - a drive the app saw mounted, unmounted before the CLI ever looked: `coffer status` said all protected.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltApp } from '../electron/main/composition.js';
import { Laptop, NO_KEYRING } from './cli-harness.js';
import { TestAppHome } from './helpers/test-app.js';
import { cannotMountTmpfs } from './helpers/tmpfs.js';

const cannot = NO_KEYRING ?? cannotMountTmpfs();
if (cannot) console.warn(`SKIPPED app and CLI folder presence: ${cannot}`);

describe.skipIf(cannot !== null)(
  'the app and coffer status over the same drives',
  { timeout: 120_000 },
  () => {
    const t = new TestAppHome('app-cli-presence');
    const cli = new Laptop('app-cli-presence', {
      COFFER_HOME: t.userData,
      COFFER_KEYCHAIN_SERVICE: t.service,
      COFFER_POLICY_FILE: t.policyFile,
    });
    const mounts: string[] = [];
    let app: BuiltApp;

    beforeAll(async () => {
      t.writePolicy({});
      app = await t.build();
    });
    afterAll(async () => {
      await app.close();
      for (const m of mounts.reverse()) {
        try {
          execFileSync('umount', [m], { stdio: 'pipe' });
        } catch {
          // Already unmounted by the test.
        }
      }
      for (const account of ['device-key', 'state-key', 'state-generations'])
        await t
          .keyStore()
          .delete(account)
          .catch(() => false);
      for (const d of [t.home, cli.home]) fs.rmSync(d, { recursive: true, force: true });
    });

    /** `<home>/<name>` with a file, and a tmpfs on `<name>/Archive` holding a customer file. */
    function folderWithDrive(name: string): { dir: string; archive: string } {
      const dir = path.join(t.home, name);
      const archive = path.join(dir, 'Archive');
      fs.mkdirSync(archive, { recursive: true });
      fs.writeFileSync(path.join(dir, 'march.pdf'), 'invoice\n');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', archive]);
      mounts.push(archive);
      fs.writeFileSync(path.join(archive, 'old-salaries.xlsx'), 'customer data\n');
      return { dir, archive };
    }
    const appSays = async (dir: string): Promise<string | null> =>
      (await app.handlers.listFolders({})).find((f) => f.path === dir)?.unavailable ?? null;

    it('a drive the CLI saw at protect, unmounted before the app looked: both say not available', async () => {
      const { dir, archive } = folderWithDrive('Invoices');
      const protect = await cli.run(['protect', dir]);
      expect(protect.code, protect.stderr).toBe(0);
      execFileSync('umount', [archive]);

      const status = await cli.json<{ ok: boolean }>(['status', dir]);
      expect(status.doc.ok).toBe(false);
      expect(await appSays(dir)).toBe('not-mounted');
    });

    it('a drive the app saw mounted, unmounted before the CLI looked: both say not available', async () => {
      const dir = path.join(t.home, 'Contracts');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'lease.pdf'), 'lease\n');
      const protect = await cli.run(['protect', dir]);
      expect(protect.code, protect.stderr).toBe(0);
      // A drive mounted in it afterwards, the app looks (its minute), then it is unmounted.
      const archive = path.join(dir, 'Archive');
      fs.mkdirSync(archive);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', archive]);
      mounts.push(archive);
      expect(await appSays(dir)).toBeNull();
      execFileSync('umount', [archive]);

      expect(await appSays(dir)).toBe('not-mounted');
      const status = await cli.json<{ ok: boolean; unavailable?: { path: string; reason: string }[] }>([
        'status',
        dir,
      ]);
      expect(status.doc.unavailable).toEqual([{ path: dir, reason: 'not-mounted' }]);
      expect(status.result.code).toBe(1);
    });
  },
);
