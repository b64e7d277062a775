/**
 * The About page in real Chromium over the real handlers (issue 12 item 3): the versions IT asks for and
 * where the policy comes from. The handlers run in Node here, so Electron and Chromium say so; in the app
 * they are the running Electron's (process.versions, electron/main/about.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, startHarness, type Harness } from './helpers/app-harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`[e2e] About page skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)('the About page', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ policy: { allowUnprotect: false } });
  });
  afterAll(async () => {
    await h.close();
  });

  it('lists Coffer, Electron, Chromium, Node.js and libsodium versions and the policy source', async () => {
    const { page } = h;
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'About', exact: true })
      .click();
    await page.getByRole('heading', { name: 'About Coffer' }).waitFor();
    await page.locator('dl.kv dd').first().waitFor();
    const rows = await page.evaluate(`Object.fromEntries(
      [...document.querySelectorAll('dl.kv dt')].map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))`);
    const version = (
      JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
    ).version;
    expect(rows).toMatchObject({
      Coffer: version,
      Electron: 'not running in Electron',
      Chromium: 'not running in Electron',
      'Node.js': process.versions.node,
      Policy: 'Applied',
      'Policy source': path.join(h.home, 'policy.json'),
    });
    expect((rows as Record<string, string>).libsodium).toMatch(
      /^(sodium-native \d+\.\d+\.\d+|libsodium 1\.0\.\d+)/,
    );
    expect(h.problems).toEqual([]);
  });
});
