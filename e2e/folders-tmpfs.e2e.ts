/**
 * Issue #4 item 3, full disk: protect a folder on a 2 MiB tmpfs that cannot hold both copies of its files.
 * Every file must survive exactly once (plaintext intact, or a `.coffer` that decrypts to it), failures
 * must say DISK_FULL, and no temp file may be left. Needs root to mount; skipped, with the reason, if not.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDeviceKey } from '../crypto/keys.js';
import { loadBackend } from '../crypto/sodium.js';
import { FolderService, lockDirIn } from '../electron/services/folders/folder-service.js';
import { WorkerPool } from '../electron/services/folders/pool.js';
import { FolderRegistry } from '../electron/services/folders/registry.js';
import { SafeFiles } from '../electron/services/safe-file.js';

const base = mkdtempSync(join(tmpdir(), 'coffer-tmpfs-'));
const mnt = join(base, 'mnt');
let skipReason: string | null = null;
beforeAll(() => {
  mkdirSync(mnt);
  if (process.getuid?.() !== 0) {
    skipReason = 'not root: mounting a tmpfs needs root';
    return;
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (error) {
    skipReason = `mount -t tmpfs failed: ${error instanceof Error ? error.message : String(error)}`;
  }
});
afterAll(() => {
  if (!skipReason) execFileSync('umount', [mnt]);
  rmSync(base, { recursive: true, force: true });
});

it('a full disk loses nothing and says DISK_FULL', async (context) => {
  if (skipReason) {
    console.warn(`skipped: ${skipReason}`);
    context.skip();
  }
  const sodium = await loadBackend('wasm');
  const key = generateDeviceKey(sodium);
  const folder = join(mnt, 'data');
  mkdirSync(folder);
  const originals = new Map<string, string>();
  // 1.5 MiB of data on a 2 MiB disk: some files fit twice over, then the disk fills.
  for (let i = 0; i < 12; i++) {
    const data = randomBytes(i % 3 === 0 ? 400 * 1024 : 40 * 1024);
    writeFileSync(join(folder, `f${i}`), data);
    originals.set(`f${i}`, createHash('sha256').update(data).digest('hex'));
  }
  const pool = new WorkerPool({ backend: 'wasm', size: 2 });
  try {
    const service = new FolderService({
      registry: FolderRegistry.inHome(join(base, 'home')),
      keys: {
        recipients: () => Promise.resolve([{ kind: 'device', key }]),
        identities: () => Promise.resolve([{ kind: 'device', key }]),
      },
      pool: () => pool,
      lockDir: lockDirIn(join(base, 'home')),
    });
    const report = await service.protect(folder);
    expect(report.failed.length).toBeGreaterThan(0);
    expect(new Set(report.failed.map((f) => f.code))).toEqual(new Set(['DISK_FULL']));
    expect(report.filesDone + report.failed.length).toBe(originals.size);
    const names = readdirSync(folder);
    expect(names.filter((n) => n.includes('.tmp-'))).toEqual([]);
    const safe = new SafeFiles(sodium);
    for (const [name, digest] of originals) {
      const plain = names.includes(name);
      const prot = names.includes(name + '.coffer');
      expect(plain !== prot, `${name}: exactly one copy`).toBe(true);
      if (plain)
        expect(
          createHash('sha256')
            .update(readFileSync(join(folder, name)))
            .digest('hex'),
        ).toBe(digest);
      else {
        const out = join(base, 'check');
        safe.decryptTo(join(folder, name + '.coffer'), {
          identities: [{ kind: 'device', key }],
          output: out,
          force: true,
        });
        expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe(digest);
        rmSync(out);
      }
    }
  } finally {
    await pool.close();
  }
});
