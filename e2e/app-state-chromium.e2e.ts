/**
 * The tampered-state banner in real Chromium over the real services and a private real Secret Service: a
 * recovery key swapped in settings.json behind the app's back is shown on Overview with the intruder key's
 * own ID, and the user's confirmation (in the app's dialog) clears it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatKeyId, recoveryKeyId } from '../crypto/keys.js';
import { defaultBackend, type SodiumBackend } from '../crypto/sodium.js';
import { encodePublicKey } from '../electron/services/keys/public-key-text.js';
import { chromiumSkipReason, startHarness, type Harness } from './helpers/app-harness.js';

const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`[e2e] Chromium state banner skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)('the app shows tampered state on Overview', () => {
  let h: Harness;
  let sodium: SodiumBackend;

  beforeAll(async () => {
    sodium = await defaultBackend();
    h = await startHarness();
  });

  afterAll(async () => {
    await h.close();
  });

  it('a swapped recovery key: banner with the real key ID, refused code, confirm clears it', async () => {
    const { page } = h;
    const mine = encodePublicKey(sodium, sodium.boxKeypair().publicKey);
    const evil = sodium.boxKeypair().publicKey;
    const evilId = formatKeyId(recoveryKeyId(sodium, evil));
    await h.app.handlers.trustRecoveryKey({ line: mine, label: 'IT 2026' });
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await page.getByText('settings were changed outside Coffer', { exact: false }).count()).toBe(0);

    const settings = path.join(h.home, 'userData', 'settings.json');
    const envelope = JSON.parse(fs.readFileSync(settings, 'utf8')) as { body: string };
    envelope.body = envelope.body.replace(mine, encodePublicKey(sodium, evil));
    fs.writeFileSync(settings, JSON.stringify(envelope));

    // Any change event reloads Overview; a new window would load it anyway.
    await page.reload();
    const banner = page.getByRole('alert').filter({ hasText: 'changed outside Coffer' });
    await banner.waitFor();
    await banner.getByText(evilId, { exact: false }).waitFor();
    // One notice, in plain words (issue 12 item 6): no second alert repeating it as "Could not finish",
    // no temp path, no command to type; the stable code stays, in small print.
    await expect.poll(() => page.locator('#main [role="alert"]').count()).toBe(1);
    expect(await page.locator('#main .notice-error').count()).toBe(1);
    expect(await page.locator('#main [role="alert"][data-testid="overview-headline"]').count()).toBe(1);
    const main = (await page.locator('#main').textContent()) ?? '';
    expect(main).not.toContain(h.home);
    expect(main).not.toMatch(/coffer state|`|Could not finish/);
    await banner.getByText('Code: STATE_TAMPERED').waitFor();
    await banner.getByText('Confirm them only if you or IT made this change', { exact: false }).waitFor();
    await h.screenshot('state-tampered-banner');
    await expect(h.app.handlers.makeRecoveryCode({})).rejects.toMatchObject({ code: 'STATE_TAMPERED' });

    await banner.getByRole('button', { name: 'Confirm these settings…' }).click();
    await page
      .getByRole('dialog', { name: 'Use these settings as they are?' })
      .getByRole('button', { name: 'Confirm and use them' })
      .click();
    await banner.waitFor({ state: 'detached' });
    expect((await h.app.handlers.getStateReview({})).tampered).toBe(0);
    expect(h.problems).toEqual([]);
  });
});
