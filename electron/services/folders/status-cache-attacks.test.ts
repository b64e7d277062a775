/**
 * Adversarial review of the status cache (issue 10 items 4 and 9): sequences after which the cache must
 * still agree with the walk (the CLI's answer) and never claim protected what is not. Real files, the
 * real worker and its real directory watchers; the walk (FolderService.status) is the reference.
 */
import { linkSync, mkdirSync, renameSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import {
  COFFER as coffer,
  cachedStatus,
  useStatusWorld,
  untilAgrees,
  type StatusWorld,
} from '../../../e2e/helpers/status-cache-world.js';
import type { FolderStatus } from './folder-service.js';
import { LOCK_FRESH_MS } from './litter.js';
import type { FileIssue } from './types.js';

const perTest = useStatusWorld('coffer-status-attacks-');
let run: string;
let data: string;
let world: StatusWorld;
/** The reasons of the rescans the cache reported, in order. */
const rescans = (): string[] => perTest.rescans.map((r) => r.reason);

beforeEach(() => {
  ({ world } = perTest);
  ({ run, data } = world);
});

function cached(): Promise<FolderStatus> {
  return cachedStatus(world);
}

function shape(s: FolderStatus) {
  const key = (i: FileIssue) => `${i.code} ${i.path}`;
  return {
    protectedFiles: s.protectedFiles,
    plaintextFiles: s.plaintextFiles,
    inTheClearFiles: s.protection.inTheClearFiles,
    inTheClear: s.protection.inTheClear.map(key).sort(),
    allProtected: s.protection.allProtected,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Asks until the cache agrees with the walk; fails with both when it never does within `ms`. */
function agrees(ms = 3000): Promise<FolderStatus> {
  return untilAgrees(world, shape, ms);
}

it('a subfolder replaced by another of the same name is watched again: a .coffer overwritten in it is seen', async () => {
  expect((await cached()).protection.allProtected).toBe(true);
  // The watched directory leaves; a new one (a new inode, with a real-looking .coffer) takes its name.
  renameSync(join(data, 'sub'), join(run, 'sub-away'));
  mkdirSync(join(data, 'sub', 'deep'), { recursive: true });
  writeFileSync(join(data, 'sub', 'new.txt.coffer'), coffer);
  writeFileSync(join(data, 'sub', 'deep', 'new.txt.coffer'), coffer);
  let status = await agrees();
  expect(status.protection.allProtected).toBe(true);
  // Every event of the swap delivered and looked at.
  await sleep(300);
  expect((await cached()).protection.allProtected).toBe(true);
  // Now written over in place with plaintext: no directory time moves, only the new folder's watcher sees it.
  // The same in its subfolder of the same name as the old one's (a different directory too).
  writeFileSync(join(data, 'sub', 'new.txt.coffer'), 'plaintext now, still named like a protected file');
  writeFileSync(join(data, 'sub', 'deep', 'new.txt.coffer'), 'plaintext too');
  status = await agrees();
  expect(status.protection.allProtected).toBe(false);
  expect(status.protection.inTheClear.map((i) => `${i.code} ${i.path}`).sort()).toEqual([
    `BAD_MAGIC ${join(data, 'sub', 'deep', 'new.txt.coffer')}`,
    `BAD_MAGIC ${join(data, 'sub', 'new.txt.coffer')}`,
  ]);
  expect(rescans()).toEqual(['first status']);
});

it('a .coffer written over through a hard link outside the folder is seen (no event, no directory time moves)', async () => {
  expect((await cached()).protection.allProtected).toBe(true);
  // A second name, outside every watched directory, for a protected file's inode.
  const outside = join(run, 'outside-name');
  linkSync(join(data, 'sub', 'deep', 'c.txt.coffer'), outside);
  await sleep(300);
  // Plaintext written through it (truncated in place: same inode, so the name in the folder reads it too).
  writeFileSync(outside, 'the customer list, in the clear');
  await sleep(300);
  const status = await agrees();
  expect(status.protection.allProtected).toBe(false);
  expect(status.protection.inTheClear).toEqual([
    expect.objectContaining({ path: join(data, 'sub', 'deep', 'c.txt.coffer'), code: 'BAD_MAGIC' }),
  ]);
  expect(rescans()).toEqual(['first status']);
});

it("an editor's lock file that goes stale while nothing changes is counted as the walk counts it", async () => {
  expect((await cached()).protection.allProtected).toBe(true); // the worker started and the tree scanned
  // A lock beside a document that is litter itself: while the lock is live, nothing here is in the clear.
  writeFileSync(join(data, 'Thumbs.db'), 'litter');
  const lock = join(data, '~$Thumbs.db');
  writeFileSync(lock, 'owner: someone');
  // Written (as far as its time says) just under the lock's bound ago: stale in four seconds.
  const staleAt = Date.now() - 1 + 4000;
  utimesSync(lock, (staleAt - LOCK_FRESH_MS) / 1000, (staleAt - LOCK_FRESH_MS) / 1000);
  await agrees();
  // Every event of these writes delivered and looked at, while the lock is still live.
  await sleep(500);
  let status = await cached();
  expect(Date.now()).toBeLessThan(staleAt); // else this machine was too slow for the test to say anything
  expect(status.protection.allProtected).toBe(true);
  await sleep(staleAt - Date.now() + 300);
  // No event, no time of any directory or file moved: only the clock. The walk now counts the lock as data.
  status = await agrees(500);
  expect(status.protection.allProtected).toBe(false);
  expect(status.protection.inTheClear).toEqual([expect.objectContaining({ path: lock, code: 'WAITING' })]);
});

it('a subfolder left out because of what it held (a keyring folder) is walked once it holds documents instead', async () => {
  // A folder shaped like GNOME's keyring folder is never touched (guard-rails.ts secretStoreAt): excluded.
  mkdirSync(join(data, 'keyrings'));
  writeFileSync(join(data, 'keyrings', 'login.keyring'), 'keyring');
  let status = await agrees();
  expect(status.protection.allProtected).toBe(true);
  expect(status.protection.excluded).toBe(1);
  await sleep(300);
  expect((await cached()).protection.allProtected).toBe(true);
  // Its keyring goes, a document comes: now an ordinary folder, whose document is in the clear.
  writeFileSync(join(data, 'keyrings', 'contracts.pdf'), 'a customer contract');
  unlinkSync(join(data, 'keyrings', 'login.keyring'));
  status = await agrees();
  expect(status.protection.allProtected).toBe(false);
  expect(status.protection.inTheClear).toEqual([
    expect.objectContaining({ path: join(data, 'keyrings', 'contracts.pdf'), code: 'WAITING' }),
  ]);
});
