/**
 * The `.coffer` file association in real Chromium over the real app (issue 12 item 6 and "Bad input: a file
 * association opened on a damaged file"): main is handed files as the OS hands them (BuiltApp.openedFiles,
 * what main.ts feeds from argv, `second-instance` and macOS `open-file`), the page comes up on its own,
 * shows a good file (original size, its protected folder, the key and that this computer holds it, every
 * byte checked) and opens it for editing through the Files page's flow; a tampered file, a file for
 * another computer's key and a photo renamed .coffer each get a plain-language message with the stable
 * code, and nothing is written in their folder, the protected folder or the edit workspace. Keyboard
 * only, axe (WCAG 2.x A/AA) in light and dark with 0 violations. Main refuses a path in place of a token.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { encryptFd } from '../crypto/file.js';
import { formatKeyId, generateDeviceKey, keyIdOf } from '../crypto/keys.js';
import { defaultBackend } from '../crypto/sodium.js';
import { chromiumSkipReason, startHarness, type Harness } from './helpers/app-harness.js';
import { axeViolations } from './helpers/axe.js';

const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`[e2e] opened-file screen skipped: ${skipReason}`);

const PLAN = crypto.randomBytes(123_456);

async function noViolationsInEitherTheme(page: Page, what: string): Promise<void> {
  for (const theme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: theme });
    expect(await axeViolations(page), `${what} (${theme})`).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Every entry under the given folders, with size, mtime and ctime: "nothing written" is checked on it. */
function snapshot(...roots: string[]): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const s = fs.lstatSync(p);
      out.push(`${p} ${s.size} ${s.mtimeMs} ${s.ctimeMs}`);
      if (s.isDirectory()) walk(p);
    }
  };
  for (const r of roots) walk(r);
  return out;
}

/** Tabs until the focused element is the button named `name` (at most 12 steps). */
async function tabTo(page: Page, name: string): Promise<void> {
  for (let i = 0; i < 12; i += 1) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate<string>(`document.activeElement?.getAttribute('aria-label') ?? ''`);
    if (focused === name) return;
  }
  throw new Error(`"${name}" was not reached with the Tab key`);
}

describe.skipIf(skipReason !== null)('a .coffer file opened from the file manager', () => {
  let h: Harness;
  let folder: string;
  let downloads: string;
  let workspace: string;
  let good: string;

  beforeAll(async () => {
    h = await startHarness();
    folder = fs.realpathSync(fs.mkdirSync(path.join(h.home, 'Customers'), { recursive: true }) ?? '');
    downloads = fs.realpathSync(fs.mkdirSync(path.join(h.home, 'Downloads'), { recursive: true }) ?? '');
    workspace = path.join(h.home, 'userData', 'workspace');
    fs.writeFileSync(path.join(folder, 'plan.txt'), PLAN);
    const view = await h.app.ports.folders.add(folder);
    const { runId } = await h.app.ports.folders.protect(view.id);
    await h.app.runs.settled(runId);
    good = path.join(folder, 'plan.txt.coffer');
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(good) || fs.existsSync(path.join(folder, 'plan.txt'))) {
      if (Date.now() > deadline) throw new Error('plan.txt was not protected within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }, 120_000);
  afterAll(async () => {
    await h.close();
  });

  it('shows a good file, checked, and opens it for editing, keyboard only', async () => {
    const { page } = h;
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    // What main.ts does with a double-clicked file (argv, second-instance, open-file).
    expect(h.app.openedFiles.add([good])).toBe(1);
    await page.getByRole('heading', { name: 'Opened file', level: 1 }).waitFor();
    expect(page.url()).toMatch(/#\/opened$/);
    const card = page.getByRole('region', { name: 'plan.txt.coffer' });
    await card.getByText('Intact: every byte was checked').waitFor();
    await card.getByText('123 KB').waitFor();
    await card.getByText('Customers (protected)').waitFor();
    const deviceKeyId = await h.app.ports.keys.keychainStatus().then((k) => k.deviceKeyId ?? '');
    expect(deviceKeyId).not.toBe('');
    await card.getByText(deviceKeyId).waitFor();
    await card.getByText('on this computer', { exact: true }).waitFor();
    // Focus is on the page's heading after the page came up by itself.
    expect(await page.evaluate<string>('document.activeElement?.id')).toBe('page-title');
    await noViolationsInEitherTheme(page, 'opened file (good)');

    await tabTo(page, 'Open for editing: plan.txt.coffer');
    await page.keyboard.press('Enter');
    await card.getByText('plan.txt is open for editing').waitFor();
    expect(h.shell.opened).toHaveLength(1);
    expect(fs.readFileSync(h.shell.opened[0] ?? '')).toEqual(PLAN);
    await tabTo(page, 'Show in file manager: plan.txt.coffer');
    await page.keyboard.press('Enter');
    await expect.poll(() => h.shell.revealed).toEqual([good]);
    await h.screenshot('opened-file-good');
  });

  it('a tampered file, another computer’s file and a renamed photo: plain words, the code, nothing written', async () => {
    const { page } = h;
    const sodium = await defaultBackend();
    // A copy of the good file with one content byte flipped, as a broken download would be.
    const tampered = path.join(downloads, 'plan (1).txt.coffer');
    const bytes = fs.readFileSync(good);
    const at = bytes.length - 200;
    bytes[at] = (bytes[at] ?? 0) ^ 0x40;
    fs.writeFileSync(tampered, bytes);
    // A file protected on another laptop: its device key is not in this keychain.
    const otherKey = generateDeviceKey(sodium);
    const otherKeyId = formatKeyId(keyIdOf(sodium, { kind: 'device', key: otherKey }));
    const foreign = path.join(downloads, 'budget.xlsx.coffer');
    const source = path.join(h.home, 'budget.xlsx');
    fs.writeFileSync(source, crypto.randomBytes(5000));
    const inFd = fs.openSync(source, 'r');
    const outFd = fs.openSync(foreign, 'wx');
    encryptFd(sodium, inFd, outFd, { name: 'budget.xlsx', recipients: [{ kind: 'device', key: otherKey }] });
    fs.closeSync(inFd);
    fs.closeSync(outFd);
    fs.rmSync(source);
    sodium.zero(otherKey);
    // A JPEG renamed .coffer.
    const fake = path.join(downloads, 'holiday.jpg.coffer');
    fs.writeFileSync(fake, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), crypto.randomBytes(3000)]));

    const before = snapshot(downloads, folder, workspace);
    const revealedBefore = h.shell.revealed.length;
    // Navigated away meanwhile: the page comes up again when files arrive.
    await page.getByRole('link', { name: 'Folders' }).click();
    await page.getByRole('heading', { name: 'Folders', level: 1 }).waitFor();
    expect(h.app.openedFiles.add([tampered, foreign, fake])).toBe(3);
    await page.getByRole('heading', { name: 'Opened file', level: 1 }).waitFor();

    const damaged = page.getByRole('region', { name: 'plan (1).txt.coffer' });
    await damaged.getByText('Damaged or tampered file', { exact: true }).waitFor();
    await damaged.getByText('This Coffer file is damaged and cannot be opened.').waitFor();
    await damaged.getByText(/Code: AUTH_FAILED\./).waitFor();
    await damaged.getByText('Not in a protected folder').waitFor();

    const other = page.getByRole('region', { name: 'budget.xlsx.coffer' });
    await other.getByText('Locked with another key', { exact: true }).waitFor();
    await other.getByText(new RegExp(`protected on another computer, with key ${otherKeyId}`)).waitFor();
    await other
      .getByText(new RegExp(`Ask your helpdesk to open it: give them the key ID ${otherKeyId}`))
      .waitFor();
    await other.getByText(/Code: NO_MATCHING_KEY\./).waitFor();
    await other.getByText('not on this computer').waitFor();
    await other.getByText('5.0 KB').waitFor(); // the original's size, from the length alone (5,000 B)

    const photo = page.getByRole('region', { name: 'holiday.jpg.coffer' });
    await photo.getByText('Not a Coffer file', { exact: true }).waitFor();
    await photo.getByText(/^This is not a Coffer file/).waitFor();
    await photo.getByText(/Code: BAD_MAGIC\./).waitFor();

    // None of them offers to open: there is nothing to open.
    for (const card of [damaged, other, photo]) {
      expect(await card.getByRole('button', { name: /^Open for editing/ }).count()).toBe(0);
    }
    await noViolationsInEitherTheme(page, 'opened files (damaged, another key, not Coffer)');
    await h.screenshot('opened-file-problems');

    // Keyboard: each card's one action is reachable, and works.
    await tabTo(page, 'Show in file manager: budget.xlsx.coffer');
    await page.keyboard.press('Enter');
    await expect.poll(() => h.shell.revealed.slice(revealedBefore)).toEqual([foreign]);

    expect(snapshot(downloads, folder, workspace)).toEqual(before);
    expect(h.problems).toEqual([]);
  });

  it('a file opened again after it changed shows its new state once, never the old "Intact" beside it', async () => {
    const { page } = h;
    const copy = path.join(downloads, 'again.txt.coffer');
    fs.copyFileSync(good, copy);
    expect(h.app.openedFiles.add([copy])).toBe(1);
    const cards = page.getByRole('region', { name: 'again.txt.coffer' });
    await cards.getByText('Intact: every byte was checked').waitFor();
    // The download was broken after all: one content byte differs. The user double-clicks it again.
    const bytes = fs.readFileSync(copy);
    const at = bytes.length - 300;
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    fs.writeFileSync(copy, bytes);
    expect(h.app.openedFiles.add([copy])).toBe(1);
    await cards.getByText(/Code: AUTH_FAILED\./).waitFor();
    expect(await cards.count()).toBe(1);
    expect(await cards.getByText('Intact: every byte was checked').count()).toBe(0);
    // Newest first: the file opened again is at the top of the page.
    const first = page.locator('section.opened-file').first();
    expect(await first.getAttribute('aria-labelledby')).toBe(await cards.getAttribute('aria-labelledby'));
  });

  it('main takes only its own tokens: a path or an unknown token is refused', async () => {
    const { page } = h;
    const answers = await page.evaluate(async () => {
      const api = (
        globalThis as unknown as {
          coffer: Record<string, (r: unknown) => Promise<{ ok: boolean; error?: { code: string } }>>;
        }
      ).coffer;
      const path = await api.showOpenedFile?.({ token: '/etc/passwd' });
      const unknown = await api.inspectOpenedFile?.({ token: '00000000-0000-4000-8000-000000000000' });
      const extra = await api.showOpenedFile?.({ token: '00000000-0000-4000-8000-000000000000', path: '/' });
      return [path?.error?.code, unknown?.error?.code, extra?.error?.code];
    });
    expect(answers).toEqual(['INVALID_REQUEST', 'NOT_FOUND', 'INVALID_REQUEST']);
  });
});
