/**
 * Folder runs at scale (issue 10): the run streams its walk to the workers instead of listing the tree
 * first, and leaves no journal of its temp files behind for the next start to check one by one.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { generateDeviceKey, type Identity, type Recipient } from '../../../crypto/keys.js';
import { defaultBackend } from '../../../crypto/sodium.js';
import { tempJournalDirIn } from '../safe-file.js';
import { FolderService, lockDirIn } from './folder-service.js';
import { WorkerPool } from './pool.js';
import { FolderRegistry } from './registry.js';
import type { RunProgress } from './types.js';

let key: Uint8Array;
let pool: WorkerPool;
let root: string;
let home: string;

const keys = {
  recipients: (): Promise<Recipient[]> => Promise.resolve([{ kind: 'device', key: new Uint8Array(key) }]),
  identities: (): Promise<Identity[]> => Promise.resolve([{ kind: 'device', key: new Uint8Array(key) }]),
};

beforeAll(async () => {
  key = generateDeviceKey(await defaultBackend());
  pool = new WorkerPool({ backend: 'wasm', size: 2 });
});
afterAll(async () => {
  await pool.close();
});
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'coffer-folder-run-'));
  home = join(root, 'home');
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function service(chunkFiles?: number): FolderService {
  return new FolderService({
    registry: FolderRegistry.inHome(home),
    keys,
    pool: () => pool,
    lockDir: lockDirIn(home),
    ...(chunkFiles ? { chunkFiles } : {}),
  });
}

/** `count` files of a few bytes in folders of 100. */
function tree(count: number): string {
  const data = join(root, 'data');
  for (let i = 0; i < count; i++) {
    const dir = join(data, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.txt`), `file ${i}`);
  }
  return data;
}

it('hands the walk to the workers as it goes: files are done before the tree is listed, and all of them are', async () => {
  const files = 2000;
  const data = tree(files);
  const seen: RunProgress[] = [];
  const report = await service(64).protect(data, { onProgress: (p) => seen.push(p) });
  expect(report).toMatchObject({ filesTotal: files, filesDone: files, failed: [], skipped: [] });
  // Listed first, the whole tree was the total from the first event on (what the run held: every path).
  const firstDone = seen.find((p) => p.filesDone > 0);
  expect(firstDone, 'a progress event with files done').toBeDefined();
  expect(firstDone?.filesTotal).toBeLessThan(files);
  // What the run holds between the walk and the workers stays a window, not the tree.
  const window = Math.max(...seen.map((p) => p.filesTotal - p.filesDone));
  expect(window).toBeLessThan(files / 2);
  const left = readdirSync(data, { recursive: true }).filter((n) => String(n).endsWith('.txt'));
  expect(left).toEqual([]);

  const back = await service(64).unprotect(data);
  expect(back).toMatchObject({ filesTotal: files, filesDone: files, failed: [], skipped: [] });
  expect(readFileSync(join(data, 'd7', 'f777.txt'), 'utf8')).toBe('file 777');
});

it('leaves no journal lines for temp files that are gone: the next start has nothing to check', async () => {
  const data = tree(300);
  const protect = await service().protect(data);
  expect(protect.filesDone).toBe(300);
  const journals = join(tempJournalDirIn(home));
  const lines = (): number =>
    readdirSync(journals)
      .map((name) => readFileSync(join(journals, name), 'utf8'))
      .join('')
      .split('\n')
      .filter(Boolean).length;
  // Every temp was renamed into place or removed: a journal line for each (2-3 per file) is dead weight.
  expect(lines()).toBe(0);
  const unprotect = await service().unprotect(data);
  expect(unprotect.filesDone).toBe(300);
  expect(lines()).toBe(0);
});
