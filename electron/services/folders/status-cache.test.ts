/**
 * Issue 10 item 9: the app's status answers from a cache kept current by watching the folder, and never
 * claims protected what is not. Real files, the real worker and its real directory watchers: a file added,
 * changed, removed, a folder added and removed, a plaintext dropped in, a watcher error, a folder root
 * replaced, and changes whose events never came (a tree without watchers: only the directory check sees
 * them). The walk (FolderService.status, what the CLI answers) is the reference throughout.
 */
import { linkSync, mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import {
  COFFER as coffer,
  cachedStatus,
  useStatusWorld,
  untilAgrees,
  walkedStatus,
  type StatusWorld,
} from '../../../e2e/helpers/status-cache-world.js';
import type { FileIssue } from './types.js';
import { FolderService, type FolderStatus } from './folder-service.js';
import { FolderRegistry } from './registry.js';
import { StatusCache } from './status-cache.js';
import { StatusIndex } from './status-index.js';

const perTest = useStatusWorld('coffer-status-cache-');
let home: string;
let data: string;
let registry: FolderRegistry;
let service: FolderService;
let cache: StatusCache;
let rescans: { root: string; reason: string }[];
let world: StatusWorld;

beforeEach(() => {
  ({ world, rescans } = perTest);
  ({ home, data, registry, service, cache } = world);
});

function cached(): Promise<FolderStatus> {
  return cachedStatus(world);
}

/** What the walk says (the CLI's status), in an order-free form to compare with the cache. */
function shape(s: FolderStatus) {
  const key = (i: FileIssue) => `${i.code} ${i.path}`;
  return {
    protectedFiles: s.protectedFiles,
    protectedBytes: s.protectedBytes,
    plaintextFiles: s.plaintextFiles,
    plaintextBytes: s.plaintextBytes,
    leftovers: s.leftovers,
    skipped: s.skipped.map(key).sort(),
    inTheClearFiles: s.protection.inTheClearFiles,
    inTheClear: s.protection.inTheClear.map(key).sort(),
    excluded: s.protection.excluded,
    allProtected: s.protection.allProtected,
  };
}

function walked(): ReturnType<typeof shape> {
  return shape(walkedStatus(world));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Asks until the cache agrees with the walk (the watcher's events take a moment to arrive). */
function agrees(ms = 5000): Promise<FolderStatus> {
  return untilAgrees(world, shape, ms);
}

it('answers what the walk answers, for every kind of entry', async () => {
  writeFileSync(join(data, 'plain.txt'), 'readable');
  writeFileSync(join(data, 'fake.txt.coffer'), 'not ciphertext'); // BAD_MAGIC
  writeFileSync(join(data, 'x.coffer.tmp-0123456789ab'), 'temp');
  writeFileSync(join(data, '.DS_Store'), 'litter');
  writeFileSync(join(data, 'sub', 'Report.docx'), 'open in Word');
  writeFileSync(join(data, 'sub', '~$Report.docx'), 'owner'); // a live lock: litter, the document IN_USE
  writeFileSync(join(data, 'sub', 'linked.txt'), 'two names');
  linkSync(join(data, 'sub', 'linked.txt'), join(perTest.base, `other-name-${Date.now()}.txt`)); // HARD_LINK
  symlinkSync('/etc/hostname', join(data, 'link')); // SYMLINK: not data
  const status = await cached();
  expect(shape(status)).toEqual(walked());
  expect(status.protection.allProtected).toBe(false);
  expect(status.protection.inTheClear.map((i) => i.code).sort()).toEqual(
    ['BAD_MAGIC', 'HARD_LINK', 'IN_USE', 'TEMP_LEFTOVER', 'WAITING'].sort(),
  );
  expect(rescans).toEqual([{ root: data, reason: 'first status' }]);
});

it('follows files added, changed and removed, and folders added and removed, without scanning again', async () => {
  expect((await cached()).protection.allProtected).toBe(true);
  expect((await cached()).protectedFiles).toBe(3);

  // A plaintext dropped in: in the clear at once, with its reason.
  const dropped = join(data, 'sub', 'deep', 'dropped.pdf');
  writeFileSync(dropped, 'secret');
  let status = await agrees();
  expect(status.protection.allProtected).toBe(false);
  expect(status.protection.inTheClear).toEqual([expect.objectContaining({ path: dropped, code: 'WAITING' })]);

  // Protected (as a run leaves it): the plaintext goes, its .coffer comes.
  writeFileSync(`${dropped}.coffer`, coffer);
  unlinkSync(dropped);
  status = await agrees();
  expect(status.protection.allProtected).toBe(true);
  expect(status.protectedFiles).toBe(4);

  // A .coffer overwritten in place with plaintext (a change event only: no directory time moves).
  writeFileSync(join(data, 'a.txt.coffer'), 'plaintext now');
  status = await agrees();
  expect(status.protection.inTheClear).toEqual([
    expect.objectContaining({ path: join(data, 'a.txt.coffer'), code: 'BAD_MAGIC' }),
  ]);
  writeFileSync(join(data, 'a.txt.coffer'), coffer);

  // A new folder with files in it, then renamed, then removed with everything in it.
  mkdirSync(join(data, 'new', 'inner'), { recursive: true });
  writeFileSync(join(data, 'new', 'inner', 'n.txt'), 'n');
  status = await agrees();
  expect(status.plaintextFiles).toBe(1);
  renameSync(join(data, 'new'), join(data, 'renamed'));
  status = await agrees();
  expect(status.protection.inTheClear[0]?.path).toBe(join(data, 'renamed', 'inner', 'n.txt'));
  rmSync(join(data, 'renamed'), { recursive: true });
  rmSync(join(data, 'sub'), { recursive: true });
  status = await agrees();
  expect(status.protectedFiles).toBe(1);
  expect(status.protection.allProtected).toBe(true);
  // All of it from the first scan, kept current: no second full scan.
  expect(rescans.map((r) => r.reason)).toEqual(['first status']);
});

it('a watcher error drops the tree: the next answer is a full scan, and honest', async () => {
  await cached();
  cache.failWatcher(data, join(data, 'sub'), 'inotify watch lost');
  // What changed around the error is never seen by a watcher: the full scan finds it.
  writeFileSync(join(data, 'sub', 'deep', 'missed.txt'), 'missed');
  await sleep(100);
  const status = await agrees();
  expect(rescans.map((r) => r.reason)).toEqual([
    'first status',
    expect.stringContaining('inotify watch lost'),
  ]);
  expect(status.protection.inTheClear).toEqual([
    expect.objectContaining({ path: join(data, 'sub', 'deep', 'missed.txt'), code: 'WAITING' }),
  ]);
});

it('a folder root replaced (moved away, another put in its place) is scanned again', async () => {
  expect((await cached()).protectedFiles).toBe(3);
  renameSync(data, `${data}-old`);
  mkdirSync(data);
  writeFileSync(join(data, 'plain.txt'), 'readable');
  const status = await agrees();
  expect(status.protectedFiles).toBe(0);
  expect(status.protection.inTheClearFiles).toBe(1);
  expect(rescans.map((r) => r.reason)).toContain('the folder was replaced, moved or appeared');
});

it('a folder whose rules change (an exclusion added) is scanned again under them', async () => {
  writeFileSync(join(data, 'sub', 'notes.txt'), 'notes');
  expect((await cached()).protection.inTheClearFiles).toBe(1);
  const [entry] = service.list();
  if (!entry) throw new Error('no entry');
  await service.setExclusions(entry.id, [join(data, 'sub')]);
  const status = await agrees();
  expect(status.protection.inTheClearFiles).toBe(0);
  expect(rescans.map((r) => r.reason)).toContain('its rules changed');
});

it('changes whose events were lost are still seen (a directory check before each answer)', async () => {
  // No watchers at all: every event is lost. In-thread, so the test can hold the index.
  const reasons: string[] = [];
  const index = new StatusIndex({ watch: false, maxAgeMs: 60_000, onRescan: (_r, why) => reasons.push(why) });
  const config = {
    root: data,
    appHome: home,
    policyExclusions: [],
    folderExclusions: [],
    ignore: [...registry.ignorePatterns()],
  };
  try {
    const ask = async () => {
      const [s] = await index.status([config], 2000, true);
      if (!s) throw new Error('no answer');
      return s;
    };
    expect((await ask()).protection.allProtected).toBe(true);
    writeFileSync(join(data, 'sub', 'deep', 'unseen.txt'), 'no event came');
    let s = await ask();
    expect(s.protection.allProtected).toBe(false);
    expect(s.protection.inTheClear[0]).toMatchObject({ code: 'WAITING' });
    unlinkSync(join(data, 'sub', 'deep', 'unseen.txt'));
    mkdirSync(join(data, 'sub', 'later'));
    writeFileSync(join(data, 'sub', 'later', 'x.txt'), 'x');
    s = await ask();
    expect(s.plaintextFiles).toBe(1);
    expect(reasons).toEqual(['first status']);
  } finally {
    index.close();
  }
});

it('a directory not looked at again within the time budget is reported in the clear as CHECKING', async () => {
  const index = new StatusIndex({ watch: false });
  const config = {
    root: data,
    appHome: home,
    policyExclusions: [],
    folderExclusions: [],
    ignore: [...registry.ignorePatterns()],
  };
  try {
    await index.status([config], 2000, true);
    writeFileSync(join(data, 'sub', 'new.txt'), 'x');
    // No time to look: the changed folder may hide anything, so nothing is claimed.
    const [s] = await index.status([config], 0, true);
    expect(s?.protection.allProtected).toBe(false);
    expect(s?.protection.inTheClear).toEqual([
      expect.objectContaining({ path: join(data, 'sub'), code: 'CHECKING' }),
    ]);
    const [later] = await index.status([config], 2000, true);
    expect(later?.protection.inTheClear).toEqual([
      expect.objectContaining({ path: join(data, 'sub', 'new.txt'), code: 'WAITING' }),
    ]);
  } finally {
    index.close();
  }
});

it('a tree older than its bound is scanned again (what no directory time shows: a file rewritten in place)', async () => {
  const reasons: string[] = [];
  const index = new StatusIndex({ watch: false, maxAgeMs: 50, onRescan: (_r, why) => reasons.push(why) });
  const config = {
    root: data,
    appHome: home,
    policyExclusions: [],
    folderExclusions: [],
    ignore: [...registry.ignorePatterns()],
  };
  try {
    await index.status([config], 2000, true);
    // Same size, no event (no watcher), the directory untouched: only a new scan can see it.
    writeFileSync(join(data, 'sub', 'b.txt.coffer'), Buffer.alloc(coffer.length, 0x41));
    await sleep(100);
    // The old tree answers while the next scan runs, which then takes over.
    await index.status([config], 2000, true);
    const end = Date.now() + 5000;
    let s = (await index.status([config], 2000, true))[0];
    while (s?.protection.allProtected && Date.now() < end) {
      await sleep(20);
      s = (await index.status([config], 2000, true))[0];
    }
    expect(s?.protection.inTheClear).toEqual([
      expect.objectContaining({ path: join(data, 'sub', 'b.txt.coffer'), code: 'BAD_MAGIC' }),
    ]);
    expect(reasons).toContain('older than its bound');
  } finally {
    index.close();
  }
});
