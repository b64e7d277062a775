/**
 * A protected folder swapped for a symlink (review of d97c5e7, issue 10 item 4): the folder moved away and a
 * link to an empty folder put at its path. The status read through the link, 0 files in the clear, and the
 * Overview said "Everything is protected" and the Folders page "all files protected" about a folder that was
 * not there. In real Chromium: both name it as not found, as the tray does. No root needed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trayView } from '../electron/main/tray-state.js';
import { axeViolations } from './helpers/axe.js';
import { chromiumSkipReason, startHarness, type Harness } from './helpers/app-harness.js';

const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`[e2e] swapped folder skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)('a protected folder swapped for a symlink', () => {
  let h: Harness;
  let folder: string;
  let folderId = '';

  beforeAll(async () => {
    h = await startHarness({ policy: {} });
    folder = path.join(h.home, 'Invoices');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'salaries.xlsx'), 'Customer: ACME\n');
    h.dialogs.answer(folder);
    const view = await h.app.handlers.addFolder({});
    if (!view) throw new Error('folder not added');
    folderId = view.id;
    const { runId } = await h.app.handlers.protectFolder({ folderId });
    expect((await h.app.runs.settled(runId)).state).toBe('done');
  }, 120_000);

  afterAll(async () => {
    await h.close();
  });

  it('is "cannot be found" on the Overview, the Folders page and the tray, never green', async () => {
    const { page } = h;
    await page.goto(`${new URL(page.url()).origin}/index.html#/overview`);
    const headline = page.getByTestId('overview-headline');
    await headline.getByRole('heading').waitFor({ timeout: 20_000 });
    const empty = path.join(h.home, 'Elsewhere');
    fs.mkdirSync(empty);
    fs.renameSync(folder, path.join(h.home, 'Invoices.moved'));
    fs.symlinkSync(empty, folder);
    await page.reload();
    await headline.getByRole('heading', { name: 'Invoices cannot be found' }).waitFor({ timeout: 20_000 });
    expect(await headline.getAttribute('data-tone')).toBe('warn');
    expect(await page.getByText('Everything is protected', { exact: true }).count()).toBe(0);
    expect(
      trayView({
        folders: await h.app.ports.folders.list({ notRecoverable: false }),
        runs: h.app.ports.folders.runs(),
      }),
    ).toMatchObject({ state: 'attention', status: 'Invoices cannot be found', folderId });
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('link', { name: 'Folders' }).click();
    const card = page.getByRole('listitem', { name: folder });
    await card.getByText(/cannot be found/).waitFor({ timeout: 15_000 });
    expect(await card.getByText(/all files protected/).count()).toBe(0);
    expect(h.problems).toEqual([]);
  });
});
