/**
 * The main flows against the real Electron app with Playwright's `_electron`. They need the Electron
 * binary, which machines without GitHub access cannot download (`npm start` fetches it on first run): there the
 * tests are reported skipped with that reason, never passed. The same flows run in Chromium
 * (app-chromium.e2e.ts) over the same handlers.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

function electronSkipReason(): string | null {
  const pathTxt = path.join(ROOT, 'node_modules/electron/path.txt');
  if (!fs.existsSync(pathTxt)) {
    return 'the Electron binary is not downloaded (node_modules/electron/path.txt is missing: `npm start` fetches it, GitHub or ELECTRON_MIRROR must be reachable)';
  }
  try {
    const binary = createRequire(import.meta.url)('electron') as unknown as string;
    if (!fs.existsSync(binary)) return `the Electron binary ${binary} does not exist`;
  } catch (error) {
    return `the electron package cannot be loaded: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (
    process.platform === 'linux' &&
    !process.env.DISPLAY &&
    !process.env.WAYLAND_DISPLAY &&
    !process.env.COFFER_ELECTRON_HEADLESS
  ) {
    return 'no display: run under xvfb-run, or set COFFER_ELECTRON_HEADLESS=1 where Electron can run headless';
  }
  if (process.env.COFFER_KEYRING_READY !== '1') {
    return (
      process.env.COFFER_NO_KEYRING_REASON ?? 'no private Secret Service: run through scripts/with-keyring.sh'
    );
  }
  return null;
}

const skipReason = electronSkipReason();
if (skipReason) console.warn(`[e2e] Electron app tests skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)('the real Electron app', () => {
  let app: ElectronApplication;
  let page: Page;
  let home: string;

  beforeAll(async () => {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-electron-'));
    app = await electron.launch({
      args: [ROOT],
      cwd: ROOT,
      env: {
        ...process.env,
        COFFER_HOME: path.join(home, 'data'),
        COFFER_KEYCHAIN_SERVICE: `coffer-electron-e2e-${randomBytes(6).toString('hex')}`,
      },
    });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  }, 180_000);

  afterAll(async () => {
    await app.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('runs with the secure window options and exposes only window.coffer', async () => {
    // Behaviour, not configuration: with contextIsolation, sandbox and no nodeIntegration the page sees no Node.
    expect(page.url()).toMatch(/^app:\/\/coffer\//);
    const globals = await page.evaluate(() => ({
      coffer: typeof (globalThis as unknown as { coffer?: unknown }).coffer,
      require: typeof (globalThis as unknown as { require?: unknown }).require,
      process: typeof (globalThis as unknown as { process?: unknown }).process,
      ipc: typeof (globalThis as unknown as { ipcRenderer?: unknown }).ipcRenderer,
    }));
    expect(globals).toEqual({
      coffer: 'object',
      require: 'undefined',
      process: 'undefined',
      ipc: 'undefined',
    });
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as { open(u: string): unknown }).open('https://example.com/'),
      ),
    ).toBeNull();
  });

  it('adds a folder through the native picker, protects it, and leaves .coffer files', async () => {
    const folder = path.join(home, 'Customers');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'a.txt'), 'customer data');
    await app.evaluate(({ dialog }, chosen) => {
      dialog.showOpenDialog = () => Promise.resolve({ canceled: false, filePaths: [chosen] });
    }, folder);
    await page.getByRole('link', { name: 'Folders' }).click();
    await page.getByRole('button', { name: 'Add folder…' }).click();
    const card = page.getByRole('listitem', { name: folder });
    // Adding the folder protects it at once.
    await card.locator('[data-run-state="done"]').waitFor({ timeout: 60_000 });
    expect(fs.readdirSync(folder)).toEqual(['a.txt.coffer']);
  });
});
