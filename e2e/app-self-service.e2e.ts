/**
 * Self-service and helpdesk device restore in real Chromium (issue 12 item 5), over the real app: an "old
 * laptop" (the real composition root, a private real keychain) protects a folder and makes a real recovery
 * code; its folder is copied as a backup onto a "new laptop" (another private keychain) whose files do not
 * open. There the user restores their key with the code on the Recovery page (a typo named before anything
 * is tried, an unreadable record and a wrong code refused with nothing written, then the right code: files
 * open, a new code is shown once and confirmed), and the helpdesk restores from a folder backup with the
 * organization key (the folder is protected again). Main refuses a restore with no record picked and a
 * path smuggled into the request. axe finds no violation in light or dark; screenshots to docs/screenshots/.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { formatKeyId, recoveryKeyId } from '../crypto/keys.js';
import { defaultBackend } from '../crypto/sodium.js';
import { deviceKeyUsage } from '../electron/services/keys/key-usage.js';
import { encodePublicKey } from '../electron/services/keys/public-key-text.js';
import { sealRecoveryKeyFile } from '../electron/services/keys/recovery-key-file.js';
import { ScriptedDialogs, chromiumSkipReason, startHarness, type Harness } from './helpers/app-harness.js';
import { axeViolations } from './helpers/axe.js';
import { screenshotDir } from './helpers/screenshots.js';
import { TestAppHome, codeOf } from './helpers/test-app.js';

const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`[e2e] self-service restore skipped: ${skipReason}`);

/** docs/screenshots/ with `npm run screenshots`, test-results/ otherwise (e2e/helpers/screenshots.ts). */
const DOCS_SHOTS = screenshotDir();
const PASSPHRASE = 'correct horse battery staple';
const FILES = new Map<string, Buffer>([
  ['notes.txt', Buffer.from('Customer: ACME\nPhone: 555-0100\n')],
  ['contracts/acme.pdf', crypto.randomBytes(200_000)],
  ['empty.txt', Buffer.alloc(0)],
]);

/** axe in light and dark, with a screenshot of each into docs/screenshots/. */
async function checkBothThemes(page: Page, name: string): Promise<void> {
  for (const theme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: theme });
    expect(await axeViolations(page), `${name} (${theme})`).toEqual([]);
    await page.screenshot({ path: path.join(DOCS_SHOTS, `${name}-${theme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

/** A digest of every file under `dir` except the activity/audit trail (an error is recorded there, on purpose). */
function treeDigest(dir: string): string {
  const hash = crypto.createHash('sha256');
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const stat = fs.lstatSync(p);
      if (stat.isDirectory()) walk(p);
      else if (!/activity|audit|trail|\.lock$/i.test(name)) hash.update(p).update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

function deviceKeysOf(folder: string): string[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.coffer')) files.push(p);
    }
  };
  walk(folder);
  return deviceKeyUsage(files).byKey.map((k) => k.keyId);
}

describe.skipIf(skipReason !== null)('restoring a device key in the app', () => {
  let work: string;
  let oldFolder: string;
  let oldDeviceKeyId: string;
  let oldCode: string[];
  let oldCodeId: string;
  let orgKeyFile: string;
  let orgKeyId: string;
  let orgLine: string;

  beforeAll(async () => {
    const sodium = await defaultBackend();
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-e2e-self-')));
    const org = sodium.boxKeypair();
    orgKeyId = formatKeyId(recoveryKeyId(sodium, org.publicKey));
    orgLine = encodePublicKey(sodium, org.publicKey);
    orgKeyFile = path.join(work, 'org.cofferkey');
    fs.writeFileSync(orgKeyFile, await sealRecoveryKeyFile(org, PASSPHRASE, { opslimit: 1, memlimit: 8192 }));

    // The old laptop: a protected folder and a real recovery code, made through the app's own handlers.
    const old = new TestAppHome('self-old');
    old.writePolicy({ recoveryPublicKeys: [orgLine] });
    const dialogs = new ScriptedDialogs();
    const app = await old.build({ dialog: dialogs });
    try {
      oldFolder = path.join(old.home, 'Customers');
      for (const [rel, data] of FILES) {
        fs.mkdirSync(path.dirname(path.join(oldFolder, rel)), { recursive: true });
        fs.writeFileSync(path.join(oldFolder, rel), data);
      }
      dialogs.answer(oldFolder);
      const view = await app.handlers.addFolder({});
      if (!view) throw new Error('folder not added');
      const { runId } = await app.handlers.protectFolder({ folderId: view.id });
      expect((await app.runs.settled(runId)).state).toBe('done');
      const made = await app.handlers.makeRecoveryCode({});
      oldCode = made.groups;
      oldCodeId = made.keyId;
      oldDeviceKeyId = (await app.handlers.getRecovery({})).deviceKeyId ?? '';
      expect(fs.existsSync(path.join(oldFolder, '.coffer-escrow.json'))).toBe(true);
    } finally {
      await app.close();
    }
  });

  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  describe('the user, with their recovery code', () => {
    let h: Harness;
    let backup: string;
    let folderId: string;

    beforeAll(async () => {
      h = await startHarness();
      backup = path.join(h.home, 'Customers');
      fs.cpSync(oldFolder, backup, { recursive: true });
      h.dialogs.answer(backup);
      const view = await h.app.handlers.addFolder({});
      if (!view) throw new Error('folder not added');
      folderId = view.id;
    });
    afterAll(async () => {
      await h.close();
    });

    it('main refuses a restore with no record picked, and a path the renderer names', async () => {
      expect(await codeOf(h.app.handlers.restoreDeviceWithCode({ groups: oldCode }))).toBe(
        'NO_RECORD_PICKED',
      );
      expect(await codeOf(h.app.handlers.helpdeskRestoreDevice({}))).toBe('POLICY_FORBIDS');
      // Through the page's bridge: the request schema has no room for a path, or for a ninth group.
      const answers = await h.page.evaluate(async () => {
        const api = (globalThis as unknown as { coffer: Record<string, (r: unknown) => Promise<unknown>> })
          .coffer;
        return Promise.all([
          api.pickRestoreRecord?.({ from: 'file', path: '/etc/passwd' }),
          api.pickRestoreRecord?.({ from: '/etc/passwd' }),
          api.restoreDeviceWithCode?.({ groups: ['1', '2', '3', '4', '5', '6', '7', '8', '9'] }),
          api.deviceRestoreResult?.({ runId: 'not-a-run' }),
        ]);
      });
      expect(answers.map((a) => (a as { error?: { code: string } }).error?.code)).toEqual([
        'INVALID_REQUEST',
        'INVALID_REQUEST',
        'INVALID_REQUEST',
        'NOT_FOUND',
      ]);
      // The files do not open here yet: the key is on the old laptop only.
      expect(await codeOf(h.app.handlers.verifyFile({ folderId, relPath: 'notes.txt.coffer' }))).toBe(
        'NO_MATCHING_KEY',
      );
    });

    it('names a mistyped group, refuses an unreadable record and a wrong code with nothing written, then restores with the right code', async () => {
      const { page } = h;
      await page.goto(`${new URL(page.url()).origin}/index.html#/recovery`);
      await page.getByRole('button', { name: 'Restore my key with my recovery code…' }).click();
      const card = page.locator('section', {
        has: page.getByRole('heading', { name: 'Restore my key with my recovery code' }),
      });

      // An unreadable record: a plain message, no record shown.
      const garbage = path.join(h.home, 'not-a-record.json');
      fs.writeFileSync(garbage, '{"type":"something else"}');
      h.dialogs.answer(garbage);
      await card.getByRole('button', { name: 'Choose a record file…' }).click();
      await card.getByText('is not a Coffer key record, or it is damaged').waitFor();
      expect(await card.getByTestId('record-summary').count()).toBe(0);

      // The backup's record: its key ID, code ID and date.
      h.dialogs.answer(path.join(backup, '.coffer-escrow.json'));
      await card.getByRole('button', { name: 'Choose a record file…' }).click();
      const summary = card.getByTestId('record-summary');
      await summary.getByText(oldDeviceKeyId).waitFor();
      await summary.getByText(oldCodeId).waitFor();
      await summary.getByText('3 of 3').waitFor();

      // A typo: group 3 is one off, so it is not a multiple of 11. Named at once; nothing is sent.
      const field = card.getByLabel('Recovery code');
      const typo = oldCode.map((g, i) =>
        i === 2 ? String((Number(g) + 1) % 1_000_000).padStart(6, '0') : g,
      );
      await field.fill(typo.join(''));
      expect(await field.inputValue()).toBe(typo.join('-'));
      await card.getByText('Group 3 is mistyped').waitFor();
      expect(await card.getByRole('button', { name: 'Restore my key' }).isDisabled()).toBe(true);
      await checkBothThemes(page, 'self-service-restore-typo');

      // A wrong code (well formed, not this record's): refused, nothing written.
      const before = { data: treeDigest(path.join(h.home, 'userData')), files: treeDigest(backup) };
      const keyBefore = (await h.app.handlers.getRecovery({})).deviceKeyId;
      const wrong = Array.from({ length: 8 }, (_, i) => String((i + 1) * 11 * 7).padStart(6, '0'));
      await field.fill(wrong.join(''));
      await card.getByRole('button', { name: 'Restore my key' }).click();
      await card.getByText('This recovery code does not open the chosen key record').waitFor();
      expect(await field.inputValue()).toBe('');
      expect(treeDigest(path.join(h.home, 'userData'))).toBe(before.data);
      expect(treeDigest(backup)).toBe(before.files);
      expect((await h.app.handlers.getRecovery({})).deviceKeyId).toBe(keyBefore);
      await checkBothThemes(page, 'self-service-restore-wrong-code');

      // The right code, typed: dashes appear as it is typed.
      await field.click();
      await page.keyboard.type(oldCode.join(''));
      expect(await field.inputValue()).toBe(oldCode.join('-'));
      await card.getByRole('button', { name: 'Restore my key' }).click();
      const shown = page.getByTestId('recovery-code');
      await shown.waitFor({ timeout: 60_000 });
      await page.getByText('The key is back: your files open again').waitFor();
      const newCode = (await shown.locator('.code-group').allTextContents()).map((g) => g.trim());
      expect(newCode).toHaveLength(8);
      expect(newCode).not.toEqual(oldCode);
      await checkBothThemes(page, 'self-service-restore-new-code');

      // The files open, and their headers now name this laptop's key that writes (re-wrapped).
      const now = await h.app.handlers.getRecovery({});
      for (const rel of FILES.keys()) {
        const verified = await h.app.handlers.verifyFile({ folderId, relPath: `${rel}.coffer` });
        expect(verified.size).toBe(FILES.get(rel)?.length);
      }
      expect(deviceKeysOf(backup)).toEqual([now.deviceKeyId]);
      expect(now.personalCode.keyId).not.toBe(oldCodeId);

      // The new code is confirmed by typing it back.
      await page.getByRole('button', { name: 'I have written it down' }).click();
      await page.getByRole('textbox', { name: 'Recovery code' }).fill(newCode.join(''));
      await page.getByRole('button', { name: 'Confirm code' }).click();
      await page.getByText('Recovery code confirmed').waitFor();

      // Neither code is ever in the activity, the events sent to the page or the page's problems.
      const said = JSON.stringify([await h.app.handlers.listActivity({}), h.events, h.problems]);
      for (const code of [oldCode, newCode, wrong]) {
        expect(said).not.toContain(code.join('-'));
        expect(said).not.toContain(code.join(''));
        expect(said).not.toContain(code.slice(0, 3).join(' '));
      }
      expect(h.problems).toEqual([]);
    });

    it('Folders and Files: the folder by name with its path on hover, original sizes, Show in file manager', async () => {
      const { page } = h;
      await page.goto(`${new URL(page.url()).origin}/index.html#/folders`);
      const card = page.getByRole('listitem', { name: backup });
      const title = card.getByRole('heading', { level: 2 });
      expect((await title.textContent())?.trim()).toBe('Customers');
      expect(await title.getAttribute('title')).toBe(backup);
      await card.getByRole('button', { name: `Show in file manager: ${backup}` }).click();
      await checkBothThemes(page, 'folders-names');

      await page.getByRole('link', { name: 'Files' }).click();
      const table = page.getByRole('table', { name: 'Files in this folder' });
      const row = (name: string) => table.getByRole('row').filter({ hasText: name });
      // The original's size, not the .coffer file's: an empty file is 0 B (it was 1.3 KB on disk).
      await row('empty.txt').getByRole('cell', { name: '0 B', exact: true }).waitFor();
      await row('notes.txt')
        .getByRole('cell', { name: `${FILES.get('notes.txt')?.length ?? 0} B`, exact: true })
        .waitFor();
      expect(fs.statSync(path.join(backup, 'empty.txt.coffer')).size).toBeGreaterThan(1000);
      await row('notes.txt').getByRole('button', { name: 'Show notes.txt in the file manager' }).click();
      await checkBothThemes(page, 'files-sizes');
      await expect.poll(() => h.shell.revealed).toEqual([backup, path.join(backup, 'notes.txt.coffer')]);
      // Main resolves the path inside the folder: a way out of it is refused before the shell sees it.
      const escape = await page.evaluate(async (folderId) => {
        const api = (globalThis as unknown as { coffer: Record<string, (r: unknown) => Promise<unknown>> })
          .coffer;
        return api.showInFileManager?.({ folderId, relPath: '../../etc/passwd' });
      }, folderId);
      expect((escape as { error?: { code: string } }).error?.code).toBe('INVALID_REQUEST');
      expect(h.shell.revealed).toHaveLength(2);
      expect(h.problems).toEqual([]);
    });
  });

  describe('the helpdesk, with the organization key and a folder backup', () => {
    let h: Harness;
    let backup: string;

    beforeAll(async () => {
      h = await startHarness({ policy: { recoveryPublicKeys: [orgLine], helpdeskTools: true } });
      backup = path.join(h.home, 'Customers-backup');
      fs.cpSync(oldFolder, backup, { recursive: true });
    });
    afterAll(async () => {
      await h.close();
    });

    it('loads the key, restores the device key from the backup, protects the folder again, unloads the key', async () => {
      const { page } = h;
      await page.goto(`${new URL(page.url()).origin}/index.html#/helpdesk`);
      await page.getByRole('heading', { name: 'Helpdesk' }).waitFor();
      await page.getByLabel('Passphrase of the key file').fill(PASSPHRASE);
      h.dialogs.answer(orgKeyFile);
      await page.getByRole('button', { name: 'Choose key file…' }).click();
      await page.getByText(`Loaded key ${orgKeyId}`).waitFor();

      const card = page.locator('section', {
        has: page.getByRole('heading', { name: 'Restore a device key' }),
      });
      h.dialogs.answer(backup);
      await card.getByRole('button', { name: 'Choose a folder backup…' }).click();
      await card.getByTestId('record-summary').getByText(oldDeviceKeyId).waitFor();
      await card.getByText(orgKeyId).waitFor();
      await checkBothThemes(page, 'helpdesk-restore-device');

      await card.getByRole('button', { name: 'Restore with the loaded key' }).click();
      await page.getByText('The key is back: your files open again').waitFor({ timeout: 60_000 });
      await page.getByTestId('new-recovery-code').waitFor();
      // The user's new code can be printed as a kit from here too: it holds the code shown.
      const shownCode = (await page.getByTestId('new-recovery-code').locator('.code-group').allTextContents())
        .map((g) => g.trim())
        .join('-');
      await page.getByRole('button', { name: 'Print recovery kit…' }).waitFor();
      expect((await page.getByTestId('kit-code').textContent())?.trim()).toBe(shownCode);
      await page.locator('[data-run-state="done"]').last().waitFor({ timeout: 60_000 });
      await checkBothThemes(page, 'helpdesk-restore-device-done');

      // Procedure E, step 3: the backup folder is in Coffer again and every file opens here.
      const folders = await h.app.handlers.listFolders({});
      const restored = folders.find((f) => f.path === backup);
      expect(restored).toBeDefined();
      for (const rel of FILES.keys()) {
        const verified = await h.app.handlers.verifyFile({
          folderId: restored?.id ?? '',
          relPath: `${rel}.coffer`,
        });
        expect(verified.size).toBe(FILES.get(rel)?.length);
      }
      // As `coffer restore-device` then `coffer protect` (HELPDESK.md E): the backup's files open as they
      // are, with the restored key (read-only here); new files are written with this laptop's key.
      expect(deviceKeysOf(backup)).toEqual([oldDeviceKeyId]);
      expect((await h.app.handlers.getRecovery({})).deviceKeyId).not.toBe(oldDeviceKeyId);

      // The loaded key is shown after navigating away and back (asked from main), then unloaded.
      await page.getByRole('link', { name: 'Overview' }).click();
      await page.getByRole('link', { name: 'Helpdesk' }).click();
      await page.getByText(`Loaded key ${orgKeyId}`).waitFor();
      await page.getByRole('button', { name: 'Unload key' }).click();
      await page.getByLabel('Passphrase of the key file').waitFor();
      expect(await h.app.handlers.helpdeskStatus({})).toEqual({ keyId: null });
      expect(h.problems).toEqual([]);
    });
  });
});
