/**
 * Issue 10 item 9 through the app's own handlers: the folder list answers from the status cache (one full
 * scan, in its worker), kept current by watching the folder: a plaintext dropped in, a hard-linked file
 * (which stays in the clear, with its reason), a protected file removed. Real keychain, real files, the
 * app's real watcher and auto-protect.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BuiltApp } from '../electron/main/composition.js';
import type { FolderView } from '../electron/shared/contract.js';
import { TestAppHome } from './helpers/test-app.js';

const NO_KEYRING =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ??
      'not run under scripts/with-keyring.sh (npm run test:unit does that)');
if (NO_KEYRING !== null) console.warn(`app status cache e2e skipped: ${NO_KEYRING}`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(NO_KEYRING !== null)('folder status in the app', () => {
  let t: TestAppHome;
  let app: BuiltApp | null = null;
  const log: string[] = [];

  beforeEach(() => {
    t = new TestAppHome('app-status');
    log.length = 0;
  });
  afterEach(async () => {
    await app?.close();
    app = null;
    fs.rmSync(t.home, { recursive: true, force: true });
  });

  it('answers from the cache, and follows what changes in the folder', async () => {
    t.writePolicy({});
    const a = (app = await t.build({ watchStableMs: 100, log: (line) => log.push(line) }));
    const folder = path.join(t.home, 'Docs');
    fs.mkdirSync(path.join(folder, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'a.txt'), 'a');
    fs.writeFileSync(path.join(folder, 'sub', 'b.txt'), 'b');
    const list = async (): Promise<FolderView> => {
      const [view] = await a.handlers.listFolders({});
      if (!view) throw new Error('no folder');
      return view;
    };
    const until = async (check: (v: FolderView) => boolean): Promise<FolderView> => {
      const end = Date.now() + 15_000;
      for (;;) {
        const view = await list();
        if (check(view)) return view;
        if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(view)}`);
        await sleep(50);
      }
    };
    const added = await a.ports.folders.add(folder);
    expect(added.plaintextFiles).toBe(2);
    expect(added.inTheClearFiles).toBe(2);
    expect((await a.runs.settled((await a.handlers.protectFolder({ folderId: added.id })).runId)).state).toBe(
      'done',
    );
    let view = await until((v) => v.protectedFiles === 2);
    expect(view.inTheClearFiles).toBe(0);

    // A file with a second name elsewhere: never protected (the other name keeps it), listed with why.
    const linked = path.join(folder, 'sub', 'linked.txt');
    fs.writeFileSync(linked, 'two names');
    fs.linkSync(linked, path.join(t.home, 'other-name.txt'));
    view = await until((v) => v.inTheClear.some((f) => f.code === 'HARD_LINK'));
    expect(view.inTheClear).toEqual([expect.objectContaining({ path: 'sub/linked.txt', code: 'HARD_LINK' })]);
    expect(view.inTheClearFiles).toBe(1);

    // A plaintext dropped in: auto-protect protects it; the list follows.
    fs.writeFileSync(path.join(folder, 'sub', 'new.pdf'), 'new');
    // (While the run writes `new.pdf.coffer`, `new.pdf` is still there, and listed: both, for a moment.)
    view = await until((v) => v.protectedFiles === 3 && v.inTheClearFiles === 1);
    expect(view.inTheClear.map((f) => f.path)).toEqual(['sub/linked.txt']);

    // Removed: a protected file and the hard link.
    fs.rmSync(path.join(folder, 'a.txt.coffer'));
    fs.rmSync(linked);
    view = await until((v) => v.protectedFiles === 2 && v.inTheClearFiles === 0);
    expect(view.inTheClear).toEqual([]);

    // Every answer came from one scan of the folder, kept current (the app logs each full scan).
    expect(log.filter((l) => l.startsWith('status cache: scanning'))).toHaveLength(1);
  }, 60_000);
});
