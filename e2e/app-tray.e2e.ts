/**
 * The tray and its notification (issue 12 item 6) over the real services: real folders, real files, the
 * app's own watcher and status cache, the private Secret Service. main.ts cannot run here (no Electron
 * binary), so this drives what it does: the folder list → trayView and ClearNotifier, then the window opened
 * at `#/folders/<id>` (main.ts showFolder) in real Chromium, on the folder the notice names.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClearNotifier, STUCK_AFTER_MS, type ClearNotice } from '../electron/main/clear-notifier.js';
import { trayView } from '../electron/main/tray-state.js';
import type { FolderView } from '../electron/shared/contract.js';
import { TEST_ORIGIN, chromiumSkipReason, startHarness, type Harness } from './helpers/app-harness.js';
import { axeViolations } from './helpers/axe.js';

const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`[e2e] tray e2e skipped: ${skipReason}`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipReason !== null)('tray state and the files-stay-in-the-clear notice', () => {
  let h: Harness;
  const folders = new Map<string, string>(); // name → id

  beforeAll(async () => {
    h = await startHarness({ policy: {} });
    // Enough folders that the last one is below the fold: opening it must bring it into view.
    for (const name of ['Archive', 'Board', 'Claims', 'Deals', 'Estimates', 'Invoices']) {
      const dir = path.join(h.home, name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, `${name.toLowerCase()}.txt`), `the ${name} file`);
      const added = await h.app.ports.folders.add(dir);
      const { runId } = await h.app.ports.folders.protect(added.id);
      expect((await h.app.runs.settled(runId)).state).toBe('done');
      folders.set(name, added.id);
    }
  }, 120_000);

  afterAll(async () => {
    await h.close();
  });

  const list = (): Promise<FolderView[]> => h.app.ports.folders.list();
  const until = async (check: (v: FolderView[]) => boolean): Promise<FolderView[]> => {
    const end = Date.now() + 20_000;
    for (;;) {
      const view = await list();
      if (check(view)) return view;
      if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(view)}`);
      await sleep(100);
    }
  };

  it('says protected when every file is, then names the folder and count of files that stay in the clear', async () => {
    let view = await until((v) => v.every((f) => f.inTheClearFiles === 0 && f.protectedFiles === 1));
    expect(
      trayView({ folders: view, policy: h.app.ports.policy.view(), runs: h.app.ports.folders.runs() }),
    ).toMatchObject({
      state: 'protected',
      status: 'All files protected in 6 folders',
      icon: 'tray-protected',
    });

    // Two files with a second name outside the folder: never protected (the other name keeps the data).
    const invoices = path.join(h.home, 'Invoices');
    for (const name of ['Acme salaries.xlsx', 'Acme contract.pdf']) {
      fs.writeFileSync(path.join(invoices, name), `customer data of ${name}`);
      fs.linkSync(path.join(invoices, name), path.join(h.home, `other-${name}`));
    }
    view = await until((v) => v.some((f) => f.inTheClear.filter((i) => i.code === 'HARD_LINK').length === 2));
    const tray = trayView({
      folders: view,
      policy: h.app.ports.policy.view(),
      runs: h.app.ports.folders.runs(),
    });
    expect(tray).toMatchObject({
      state: 'attention',
      icon: 'tray-attention',
      status: '2 files in the clear in Invoices',
      tooltip: 'Coffer: 2 files in the clear in Invoices',
      folderId: folders.get('Invoices'),
    });

    // The notice: not at the first look, once the same files are still there past the threshold (this
    // unit's clock is the only thing faked: the lists are the app's), and only once.
    let now = 0;
    const told: ClearNotice[] = [];
    const notifier = new ClearNotifier({ now: () => now, notify: (n) => told.push(n) });
    notifier.observe(view);
    expect(told).toEqual([]);
    now = STUCK_AFTER_MS;
    notifier.observe(await list());
    now += 60_000;
    notifier.observe(await list());
    expect(told).toEqual([
      {
        folderId: folders.get('Invoices'),
        title: 'Files are still in the clear',
        body: '2 files in Invoices have stayed in the clear for 5 minutes or more. Open Coffer to see why.',
      },
    ]);
    expect(JSON.stringify(told)).not.toMatch(/Acme|xlsx|pdf/);
  });

  it('opens the window on the folder the notice names, in view and marked', async () => {
    const { page } = h;
    const id = folders.get('Invoices') ?? '';
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // What main.ts showFolder does: a same-document navigation of the running window.
    await page.goto(`${TEST_ORIGIN}/index.html#/folders/${encodeURIComponent(id)}`);
    await page.getByRole('heading', { name: 'Folders', level: 1 }).waitFor();
    const card = page.getByRole('listitem', { name: path.join(h.home, 'Invoices') });
    await card.getByText('2 files in the clear').waitFor();
    await expect.poll(() => card.getAttribute('aria-current')).toBe('true');
    const box = await card.boundingBox();
    const viewport = page.viewportSize();
    expect(box && viewport && box.y >= 0 && box.y < viewport.height).toBe(true);
    // The others are not marked.
    const other = page.getByRole('listitem', { name: path.join(h.home, 'Archive') });
    expect(await other.getAttribute('aria-current')).toBeNull();
    await h.screenshot('tray-folder-opened');
    // The marked card passes the automated accessibility scan, light and dark (the outline is the accent colour).
    expect(await axeViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await axeViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'light' });
    expect(h.problems).toEqual([]);
  });
});
