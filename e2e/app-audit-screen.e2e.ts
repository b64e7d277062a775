/**
 * The Audit and Activity screens in real Chromium (issue 11 item 4, issue 12 item 6), over the real app:
 * the real AuditService scanning real files planted in a policy audit root, a private real keychain, the
 * very handler table main registers, and the app's CSP. Walks a scan (charts drawn), a move into a
 * protected folder, a protect-the-folder, a delete that asks first, main refusing a path the last scan did
 * not list, and Activity's filters and export; axe finds no violation in light or dark. Screenshots of the
 * Audit screen go to docs/screenshots/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { chromiumSkipReason, startHarness, type Harness } from './helpers/app-harness.js';
import { axeViolations } from './helpers/axe.js';
import { screenshotDir } from './helpers/screenshots.js';

const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`[e2e] Audit screen skipped: ${skipReason}`);

/** docs/screenshots/ with `npm run screenshots`, test-results/ otherwise (e2e/helpers/screenshots.ts). */
const DOCS_SHOTS = screenshotDir();

async function inBothThemes(page: Page, check: (theme: 'light' | 'dark') => Promise<void>): Promise<void> {
  for (const theme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: theme });
    await check(theme);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const TWO_YEARS_AGO = new Date(Date.now() - 2 * 365 * 24 * 3600 * 1000);

describe.skipIf(skipReason !== null)(
  'the Audit and Activity screens in Chromium',
  { timeout: 180_000 },
  () => {
    let h: Harness;
    let work: string;
    let inbox: string;
    let vault: string;
    let vaultId: string;

    beforeAll(async () => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-e2e-audit-'));
      inbox = path.join(work, 'Inbox');
      vault = path.join(work, 'Vault');
      fs.mkdirSync(path.join(inbox, 'exports'), { recursive: true });
      fs.mkdirSync(vault);
      // Customer data (valid checksums) and decoys (invalid IBAN, a Luhn-failing card), counts only kept.
      fs.writeFileSync(
        path.join(inbox, 'customers.csv'),
        'name,email,iban\nAda,ada@example.com,GB82WEST12345698765432\nBob,bob@example.org,GB82WEST12345698765433\n',
      );
      fs.writeFileSync(path.join(inbox, 'old-export.txt'), 'Contact carol@example.net or dave@example.net\n');
      fs.utimesSync(path.join(inbox, 'old-export.txt'), TWO_YEARS_AGO, TWO_YEARS_AGO);
      fs.writeFileSync(path.join(inbox, 'exports', 'list.csv'), 'erin@example.com\nfrank@example.com\n');
      fs.writeFileSync(path.join(inbox, 'recipe.txt'), 'Flour, water, salt. Card 4111 1111 1111 1112.\n');
      fs.writeFileSync(path.join(vault, 'readme.txt'), 'nothing personal here\n');
      h = await startHarness({ policy: { auditRoots: [inbox], retentionDays: 30 } });
      const view = await h.app.ports.folders.add(vault);
      vaultId = view.id;
      const { runId } = await h.app.ports.folders.protect(vaultId);
      await h.app.runs.settled(runId);
      fs.mkdirSync(DOCS_SHOTS, { recursive: true });
    });

    afterAll(async () => {
      await h.close();
      fs.rmSync(work, { recursive: true, force: true });
    });

    it('scans, shows what the scanner found as charts and a table, and passes axe in light and dark', async () => {
      const { page } = h;
      await page.getByRole('link', { name: 'Data audit' }).click();
      await page.getByRole('heading', { name: 'Data audit', level: 1 }).waitFor();
      await page.getByText('No audit yet').waitFor();
      // Two scans: the trend has two points (the service's history of policy scans).
      for (let i = 0; i < 2; i += 1) {
        await page.getByRole('button', { name: 'Check now' }).click();
        await page.getByRole('button', { name: 'Check now' }).waitFor({ timeout: 60_000 });
        await page.getByText('Audit finished').waitFor();
      }
      const last = h.app.audit.lastScan();
      expect(last?.filesWithFindings).toBe(3);
      expect(last?.unprotectedWithFindings).toBe(3);
      expect(h.app.audit.scans()).toHaveLength(2);
      // The scan's progress reached the window as events (the screen's progress bar), ending complete.
      const progress = h.events.flatMap((e) => (e.type === 'audit-progress' ? [e.progress] : []));
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress.at(-1)).toMatchObject({ filesDone: 5, filesTotal: 5 });

      const summary = page.getByRole('region', { name: 'Audit summary' });
      await expect
        .poll(() => summary.locator('.stat').filter({ hasText: 'With customer data' }).innerText())
        .toMatch(/^3\s/);
      await expect
        .poll(() => summary.locator('.stat').filter({ hasText: 'Stale' }).innerText())
        .toMatch(/^1\s/);
      // The charts are drawn by recharts as SVG: bars per detector, bars per folder, a line per series.
      expect(await page.locator('[data-chart="by-detector"] .recharts-bar-rectangle').count()).toBe(
        Object.keys(last?.findings ?? {}).length,
      );
      expect(await page.locator('[data-chart="by-folder"] .recharts-bar-rectangle').count()).toBeGreaterThan(
        0,
      );
      expect(await page.locator('[data-chart="trend"] .recharts-line-curve').count()).toBe(3);
      // Every kind found has its row in the chart's table, with the scanner's total.
      await page.locator('[data-chart="by-detector"] summary').click();
      const emails = page.locator('[data-chart="by-detector"] tr').filter({ hasText: 'E-mail addresses' });
      expect(await emails.locator('td').nth(1).innerText()).toBe(String(last?.findings.email));

      const table = page.getByRole('table', { name: 'Files with customer data' });
      await table.getByRole('row').filter({ hasText: 'old-export.txt' }).getByText('Stale').waitFor();
      await table.getByRole('row').filter({ hasText: 'customers.csv' }).waitFor();
      // The decoy file holds no valid number: not listed.
      expect(await table.getByRole('row').filter({ hasText: 'recipe.txt' }).count()).toBe(0);

      await page.locator('[data-chart="by-detector"] summary').click();
      await inBothThemes(page, async (theme) => {
        expect(await axeViolations(page)).toEqual([]);
        await page.screenshot({ path: path.join(DOCS_SHOTS, `audit-${theme}.png`), fullPage: true });
      });
      expect(h.problems).toEqual([]);

      // The Overview asks about the files in the clear, and leads back here.
      await page.getByRole('link', { name: 'Overview' }).click();
      await page.getByText('3 files with customer data not protected').waitFor();
      await page.screenshot({ path: path.join(DOCS_SHOTS, 'overview-audit-warning.png'), fullPage: true });
      await page.getByRole('button', { name: 'See the audit' }).first().click();
      await page.getByRole('heading', { name: 'Data audit', level: 1 }).waitFor();
    });

    it('moves a file into a protected folder through the real protect run', async () => {
      const { page } = h;
      const source = path.join(inbox, 'customers.csv');
      const row = page.getByRole('row').filter({ hasText: 'customers.csv' });
      await row.getByRole('button', { name: 'Move customers.csv into a protected folder' }).click();
      const dialog = page.getByRole('dialog', { name: 'Move into a protected folder' });
      await dialog.getByLabel('Protected folder').selectOption(vaultId);
      await dialog.getByRole('button', { name: 'Move and protect' }).click();
      await until('customers.csv protected in the vault', () =>
        fs.existsSync(path.join(vault, 'customers.csv.coffer')),
      );
      await until('the clear copy gone', () => !fs.existsSync(path.join(vault, 'customers.csv')));
      expect(fs.existsSync(source)).toBe(false);
      await page.getByText(/Moved customers\.csv into/).waitFor();
      // Listed in the vault until its run protected it, then gone (the screen's next reload).
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    });

    it('deletes only after the confirmation, and main refuses a path the last scan did not list', async () => {
      const { page } = h;
      const file = path.join(inbox, 'old-export.txt');
      const row = page.getByRole('row').filter({ hasText: 'old-export.txt' });
      await row.getByRole('button', { name: 'Delete old-export.txt' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete old-export.txt?' });
      await dialog.waitFor();
      await inBothThemes(page, async () => {
        expect(await axeViolations(page)).toEqual([]);
      });
      await page.screenshot({ path: path.join(DOCS_SHOTS, 'audit-delete-confirm.png') });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      expect(fs.existsSync(file)).toBe(true);

      // The renderer cannot name any other file: a path outside the findings, and a finding replaced since.
      const outside = path.join(work, 'not-scanned.txt');
      fs.writeFileSync(outside, 'keep me');
      const refused = await page.evaluate(
        (p) =>
          (
            globalThis as unknown as {
              coffer: { auditAct(r: unknown): Promise<{ ok: boolean; error?: { code: string } }> };
            }
          ).coffer.auditAct({ action: 'delete', path: p }),
        outside,
      );
      expect(refused).toMatchObject({ ok: false, error: { code: 'NOT_IN_AUDIT' } });
      expect(fs.readFileSync(outside, 'utf8')).toBe('keep me');
      const listed = path.join(inbox, 'exports', 'list.csv');
      fs.renameSync(listed, `${listed}.bak`);
      fs.symlinkSync(outside, listed);
      const swapped = await page.evaluate(
        (p) =>
          (
            globalThis as unknown as {
              coffer: { auditAct(r: unknown): Promise<{ ok: boolean; error?: { code: string } }> };
            }
          ).coffer.auditAct({ action: 'delete', path: p }),
        listed,
      );
      expect(swapped).toMatchObject({ ok: false, error: { code: 'CHANGED_SINCE_AUDIT' } });
      expect(fs.readFileSync(outside, 'utf8')).toBe('keep me');
      fs.rmSync(listed);
      fs.renameSync(`${listed}.bak`, listed);

      await row.getByRole('button', { name: 'Delete old-export.txt' }).click();
      await page
        .getByRole('dialog', { name: 'Delete old-export.txt?' })
        .getByRole('button', { name: 'Delete the file' })
        .click();
      await page.getByText('Deleted old-export.txt.').waitFor();
      expect(fs.existsSync(file)).toBe(false);
      await expect.poll(() => row.count()).toBe(0);
    });

    it('protects the folder of a finding with the real protect path', async () => {
      const { page } = h;
      const exportsDir = path.join(inbox, 'exports');
      const row = page.getByRole('row').filter({ hasText: 'list.csv' });
      await row.getByRole('button', { name: 'Protect folder of list.csv' }).click();
      await page
        .getByRole('dialog', { name: 'Protect this folder?' })
        .getByRole('button', { name: 'Protect the folder' })
        .click();
      await until('list.csv protected', () => fs.existsSync(path.join(exportsDir, 'list.csv.coffer')));
      await until('the clear list.csv gone', () => !fs.existsSync(path.join(exportsDir, 'list.csv')));
      const folders = await h.app.ports.folders.list();
      expect(folders.map((f) => f.path)).toContain(fs.realpathSync(exportsDir));
      // The row leaves once its file is protected (not when the run starts: a file the run leaves in the
      // clear stays listed), which the screen sees on its next reload.
      await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
      await page.getByText('Nothing needs you here').waitFor();

      // A third audit: the trend shows the files in the clear going to none.
      await page.getByRole('button', { name: 'Check now' }).click();
      await page.getByRole('button', { name: 'Check now' }).waitFor({ timeout: 60_000 });
      expect(h.app.audit.lastScan()?.unprotectedWithFindings).toBe(0);
      expect(await page.locator('[data-chart="trend"] .recharts-line-dot').count()).toBe(9);
      await page.getByRole('button', { name: 'All' }).click();
      await page
        .getByRole('row')
        .filter({ hasText: 'customers.csv.coffer' })
        .getByText('Protected')
        .waitFor();
      await inBothThemes(page, async (theme) => {
        expect(await axeViolations(page)).toEqual([]);
        await page.screenshot({ path: path.join(DOCS_SHOTS, `audit-after-${theme}.png`), fullPage: true });
      });
    });

    it('the Overview shows the last audit', async () => {
      const { page } = h;
      await page.getByRole('link', { name: 'Overview' }).click();
      const card = page
        .locator('.card')
        .filter({ has: page.getByRole('heading', { name: 'Last data audit' }) });
      await card.getByText(/files? checked/).waitFor();
      // All three acted on: none left in the clear.
      await card.getByText(/All \d+ files? with customer data protected/).waitFor();
      await page.screenshot({ path: path.join(DOCS_SHOTS, 'overview-last-audit.png'), fullPage: true });
    });

    it('Activity: plain words, filters by kind and text, and exports exactly the rows shown', async () => {
      const { page } = h;
      await page.getByRole('link', { name: 'Activity' }).click();
      const table = page.getByRole('table', { name: 'Recent activity' });
      await table.waitFor();
      // Folder IDs never reach the table: the Vault's protect run names the folder.
      await table.getByRole('cell', { name: 'Protect finished', exact: true }).first().waitFor();
      expect(await table.innerText()).not.toContain(vaultId);
      await inBothThemes(page, async (theme) => {
        await page.screenshot({ path: path.join(DOCS_SHOTS, `activity-${theme}.png`), fullPage: true });
      });

      await page.getByLabel('Kind').selectOption('audit');
      await expect.poll(async () => table.getByRole('row').count()).toBeGreaterThan(1);
      const kinds = await table.locator('tbody tr td:nth-child(2)').allInnerTexts();
      expect(kinds.length).toBeGreaterThanOrEqual(5); // 2 scans, move, delete, protect folder
      for (const k of kinds) expect(k).toMatch(/Data audit|\(audit\)/);

      await page.getByLabel('Search').fill('old-export');
      await expect.poll(async () => table.locator('tbody tr').count()).toBe(1);
      await table.getByRole('cell', { name: 'Delete file (audit)', exact: true }).waitFor();
      await inBothThemes(page, async () => {
        expect(await axeViolations(page)).toEqual([]);
      });

      await page.getByLabel('Search').fill('');
      const rows = await table.locator('tbody tr').count();
      const csv = path.join(work, 'activity.csv');
      h.dialogs.answer(csv);
      await page.getByRole('button', { name: 'Export…' }).click();
      await page.getByText(`Exported ${rows} entries`).waitFor();
      const lines = fs.readFileSync(csv, 'utf8').trimEnd().split('\r\n');
      expect(lines[0]).toBe('time,category,action,target,outcome,detail');
      expect(lines).toHaveLength(rows + 1);
      expect(lines.slice(1).every((l) => /^\d{4}-\d\d-\d\dT[^,]+,audit,/.test(l))).toBe(true);

      const jsonl = path.join(work, 'activity.jsonl');
      await page.getByLabel('Export as').selectOption('jsonl');
      h.dialogs.answer(jsonl);
      await page.getByRole('button', { name: 'Export…' }).click();
      await expect.poll(() => fs.existsSync(jsonl)).toBe(true);
      const records = fs
        .readFileSync(jsonl, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { category: string; action: string });
      expect(records).toHaveLength(rows);
      expect(records.every((r) => r.category === 'audit')).toBe(true);
      expect(h.problems).toEqual([]);
    });
  },
);
