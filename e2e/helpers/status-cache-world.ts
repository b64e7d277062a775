/**
 * The setup the status cache's unit tests share (electron/services/folders/status-cache.test.ts and
 * status-cache-attacks.test.ts): a registered folder of .coffer files in a fresh temp tree, the walk
 * (FolderService.status, the CLI's answer) and the cache over it (real worker, real directory watchers),
 * and the wait until the two agree.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { MAGIC } from '../../crypto/header.js';
import {
  FolderService,
  lockDirIn,
  type FolderStatus,
} from '../../electron/services/folders/folder-service.js';
import type { WorkerPool } from '../../electron/services/folders/pool.js';
import { FolderRegistry } from '../../electron/services/folders/registry.js';
import { StatusCache } from '../../electron/services/folders/status-cache.js';
import { tempBase } from './temp-base.js';

/** Bytes that pass for a .coffer file to the status (its magic), not a real ciphertext. */
export const COFFER = Buffer.concat([MAGIC, Buffer.alloc(64, 7)]);

export { tempBase } from './temp-base.js';

export interface StatusWorld {
  /** This test's folder under the base; `home` (app data) and `data` (the protected folder) are in it. */
  readonly run: string;
  readonly home: string;
  readonly data: string;
  readonly registry: FolderRegistry;
  readonly service: FolderService;
  readonly cache: StatusCache;
}

/** `data` holds a.txt.coffer, sub/b.txt.coffer, sub/deep/c.txt.coffer and is registered; status never runs. */
export function statusWorld(base: string, onRescan: (root: string, reason: string) => void): StatusWorld {
  const run = mkdtempSync(join(base, 'run-'));
  const home = join(run, 'home');
  const data = join(run, 'data');
  mkdirSync(join(data, 'sub', 'deep'), { recursive: true });
  writeFileSync(join(data, 'a.txt.coffer'), COFFER);
  writeFileSync(join(data, 'sub', 'b.txt.coffer'), COFFER);
  writeFileSync(join(data, 'sub', 'deep', 'c.txt.coffer'), COFFER);
  const registry = FolderRegistry.inHome(home);
  const service = new FolderService({
    registry,
    keys: { recipients: () => Promise.resolve([]), identities: () => Promise.resolve([]) },
    pool: (): WorkerPool => {
      throw new Error('status never starts a run');
    },
    lockDir: lockDirIn(home),
  });
  registry.add(data);
  const cache = new StatusCache({
    appHome: home,
    policyExclusions: () => [],
    ignorePatterns: () => registry.ignorePatterns(),
    budgetMs: 2000,
    onRescan,
  });
  return { run, home, data, registry, service, cache };
}

/** A fresh world per test and the rescans its cache reported, in order. */
export interface StatusWorldPerTest {
  /** The test file's temp base (each world is a run- folder in it). */
  readonly base: string;
  readonly world: StatusWorld;
  readonly rescans: { root: string; reason: string }[];
}

/**
 * Call at the top of a test file: a temp base removed after its tests, and before each test a fresh
 * world (statusWorld) whose cache is closed after it.
 */
export function useStatusWorld(prefix: string): StatusWorldPerTest {
  const base = tempBase(prefix);
  let current: { world: StatusWorld; rescans: { root: string; reason: string }[] } | undefined;
  beforeEach(() => {
    const rescans: { root: string; reason: string }[] = [];
    current = { world: statusWorld(base, (root, reason) => rescans.push({ root, reason })), rescans };
  });
  afterEach(async () => {
    await current?.world.cache.close();
  });
  const get = () => {
    if (!current) throw new Error('useStatusWorld: the world is made in beforeEach; use it inside a test');
    return current;
  };
  return {
    base,
    get world() {
      return get().world;
    },
    get rescans() {
      return get().rescans;
    },
  };
}

/** The cache's answer for the folder. */
export async function cachedStatus(w: StatusWorld): Promise<FolderStatus> {
  const [status] = await w.cache.status(w.service.list());
  if (!status) throw new Error('no status');
  return status;
}

/** The walk's answer for the folder (the CLI's status). */
export function walkedStatus(w: StatusWorld): FolderStatus {
  const [status] = w.service.status(w.data);
  if (!status) throw new Error('no status');
  return status;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Asks until the cache agrees with the walk, compared as `shape` has them (the watcher's events take a
 * moment to arrive); fails with both when it never does within `ms`.
 */
export async function untilAgrees(
  w: StatusWorld,
  shape: (s: FolderStatus) => unknown,
  ms: number,
): Promise<FolderStatus> {
  const end = Date.now() + ms;
  for (;;) {
    const status = await cachedStatus(w);
    if (JSON.stringify(shape(status)) === JSON.stringify(shape(walkedStatus(w)))) return status;
    if (Date.now() > end) {
      expect(shape(status)).toEqual(shape(walkedStatus(w)));
      return status;
    }
    await sleep(50);
  }
}
