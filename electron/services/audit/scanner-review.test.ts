/**
 * Adversarial review of the data audit's scan (issue 11: exact counts; "never a crash or a hang"): the same
 * files reached through two spellings of one folder, and the pool's watchdog when the main thread was busy.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useAuditWorld } from '../../../e2e/helpers/audit-world.js';

const world = useAuditWorld('coffer-audit-review');
const { temp, service, protect } = world;

describe('one folder under two spellings (a symlinked parent: /home -> /data/home, macOS /var)', () => {
  it('counts each file once and marks the protected folder, whichever spelling each root uses', async () => {
    const base = temp('alias');
    const real = path.join(base, 'data', 'home');
    const docs = path.join(real, 'Documents');
    const clients = path.join(docs, 'clients');
    fs.mkdirSync(clients, { recursive: true });
    fs.writeFileSync(path.join(docs, 'export.csv'), 'name,email\nAnn,ann@example.com\n');
    protect(path.join(clients, 'list.txt'), 'bob@example.com\n');
    // The home as the user and the policy spell it: through a symlinked parent.
    fs.symlinkSync(path.join(base, 'data'), path.join(base, 'link'));
    const aliasDocs = path.join(base, 'link', 'home', 'Documents');
    // Policy root spelled through the link; the protected folder registered by its real path (registry).
    const audit = service(temp('app'), { auditRoots: [aliasDocs] }, [clients]);
    try {
      const report = await audit.scan(undefined);
      expect(report.summary.findings).toEqual({ email: 2 });
      expect(report.files).toHaveLength(2);
      const list = report.files.find((f) => f.path.endsWith('list.txt.coffer'));
      expect(list).toMatchObject({ protected: true, inProtectedFolder: true });
      const csv = report.files.find((f) => f.path.endsWith('export.csv'));
      expect(csv).toMatchObject({ protected: false, inProtectedFolder: false });
      // Both spellings named as paths: still once each.
      const both = await audit.scan([docs, aliasDocs]);
      expect(both.summary.findings).toEqual({ email: 2 });
      expect(both.files).toHaveLength(2);
    } finally {
      await audit.close();
    }
    // The protected folder given through the link (a registry written before it kept real paths).
    const other = service(temp('app'), { auditRoots: [docs] }, [path.join(aliasDocs, 'clients')]);
    try {
      const report = await other.scan(undefined);
      expect(report.summary.findings).toEqual({ email: 2 });
      const list = report.files.find((f) => f.path.endsWith('list.txt.coffer'));
      expect(list).toMatchObject({ protected: true, inProtectedFolder: true });
    } finally {
      await other.close();
    }
  });
});

describe("a file rewritten within its timestamps' grain (HFS+, FAT, ext3, shares: 1-2 s)", () => {
  /** A real file system with 1 s timestamps (ext4 with 128-byte inodes) on a loop device; null: why not. */
  function mountCoarse(): { mnt: string; unmount: () => void } | string {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux (loop mount)';
    const base = temp('coarse');
    const image = path.join(base, 'fs.img');
    const mnt = path.join(base, 'mnt');
    fs.mkdirSync(mnt);
    try {
      fs.writeFileSync(image, '');
      fs.truncateSync(image, 8 << 20);
      execFileSync('mke2fs', ['-q', '-t', 'ext4', '-I', '128', '-F', image], { stdio: 'ignore' });
      execFileSync('mount', ['-o', 'loop', image, mnt], { stdio: 'ignore', timeout: 20_000 });
    } catch (error) {
      return `cannot make a loop mount here: ${error instanceof Error ? error.message : String(error)}`;
    }
    return {
      mnt,
      unmount: () => {
        execFileSync('umount', [mnt], { stdio: 'ignore' });
      },
    };
  }

  it('is read again, not taken from the cache with the counts of its old content', async (context) => {
    const coarse = mountCoarse();
    if (typeof coarse === 'string') {
      console.warn(`skipped racy-cache check: ${coarse}`);
      context.skip();
      return;
    }
    const audit = service(temp('app'));
    try {
      const dir = path.join(coarse.mnt, 'docs');
      fs.mkdirSync(dir);
      const file = path.join(dir, 'export.txt');
      await audit.scan([dir]); // the workers start
      let settled = false;
      for (let attempt = 0; attempt < 5 && !settled; attempt++) {
        // Just after a second begins: written, scanned (read, cached), rewritten, all in that second.
        await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
        fs.writeFileSync(file, 'ann@example.com\n');
        const before = fs.statSync(file);
        const first = await audit.scan([dir]);
        expect(first.summary.findings).toEqual({ email: 1 });
        fs.writeFileSync(file, 'no address here\n'); // same size
        const after = fs.statSync(file);
        settled =
          after.size === before.size &&
          after.mtimeMs === before.mtimeMs &&
          after.ctimeMs === before.ctimeMs &&
          after.ino === before.ino;
      }
      expect(settled, 'the rewrite fell in the same second as the read').toBe(true);
      const second = await audit.scan([dir]);
      expect(second.summary.findings).toEqual({});
      expect(second.files).toEqual([]);
    } finally {
      await audit.close();
      coarse.unmount();
    }
  });
});

describe('one folder reached through a bind mount', () => {
  it('counts each file once when a root and another root (or a folder in it) are the same folder', async (context) => {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) {
      console.warn('skipped bind-mount check: needs root on Linux (mount --bind)');
      context.skip();
      return;
    }
    const base = temp('bind');
    const docs = path.join(base, 'home', 'Documents');
    fs.mkdirSync(path.join(docs, 'clients'), { recursive: true });
    fs.writeFileSync(path.join(docs, 'export.csv'), 'name,email\nAnn,ann@example.com\n');
    fs.writeFileSync(path.join(docs, 'clients', 'list.txt'), 'bob@example.com\n');
    // The same Documents at another place (a data disk bound into home, a container's volume).
    const bound = path.join(base, 'data', 'docs');
    fs.mkdirSync(bound, { recursive: true });
    try {
      execFileSync('mount', ['--bind', docs, bound], { stdio: 'ignore', timeout: 20_000 });
    } catch (error) {
      console.warn(`skipped bind-mount check: ${error instanceof Error ? error.message : String(error)}`);
      context.skip();
      return;
    }
    const audit = service(temp('app'));
    try {
      for (const roots of [
        [docs, bound],
        [path.join(base, 'data'), docs],
        [bound, path.join(docs, 'clients')],
      ]) {
        const report = await audit.scan(roots);
        expect(report.summary.findings, roots.join(' + ')).toEqual({ email: 2 });
        expect(report.files, roots.join(' + ')).toHaveLength(2);
      }
    } finally {
      await audit.close();
      execFileSync('umount', [bound], { stdio: 'ignore' });
    }
  });
});
