/**
 * Issue 9 item 1 through the app's handlers: the real composition root (buildApp), a private real Secret
 * Service and real files. A settings file edited behind the app's back is reported (getStateReview, the
 * banner on Overview), nothing is sealed to the intruder's key, and the user's confirmation re-signs it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltApp } from '../electron/main/composition.js';
import { Laptop, NO_KEYRING } from './cli-harness.js';
import { TestAppHome } from './helpers/test-app.js';

if (NO_KEYRING) console.warn(`SKIPPED app state scenarios: ${NO_KEYRING}`);

const pass = { COFFER_PASSPHRASE: 'correct horse battery staple' };

describe.skipIf(NO_KEYRING !== null)('the app: tampered state is shown and confirmed, never used', () => {
  const helpdesk = new Laptop('app-state-helpdesk');
  const t = new TestAppHome('app-state');
  const { home, userData } = t;
  const keys = { org: { line: '', keyId: '' }, evil: { line: '', keyId: '' } };
  let app: BuiltApp;

  beforeAll(async () => {
    for (const name of ['org', 'evil'] as const) {
      const { result, doc } = await helpdesk.json<{ publicKey: string; keyId: string }>(
        ['recovery', 'keygen', '--out', path.join(helpdesk.home, `${name}.key`)],
        pass,
      );
      expect(result.code, result.stderr).toBe(0);
      keys[name] = { line: doc.publicKey, keyId: doc.keyId };
    }
    app = await t.build();
    await app.handlers.trustRecoveryKey({ line: keys.org.line, label: 'IT 2026' });
  });

  afterAll(async () => {
    await app.close();
    const store = t.keyStore();
    for (const account of ['device-key', 'state-key', 'state-generations'])
      await store.delete(account).catch(() => false);
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(helpdesk.home, { recursive: true, force: true });
  });

  it('a swapped recovery key is reported with its real ID, refused for a new code, and confirmed by the user', async () => {
    expect((await app.handlers.getStateReview({})).tampered).toBe(0);
    const settings = path.join(userData, 'settings.json');
    const envelope = JSON.parse(fs.readFileSync(settings, 'utf8')) as { body: string };
    // The intruder edits the body (keeping the old MAC), as anyone who can write app data can.
    envelope.body = envelope.body.replace(keys.org.line, keys.evil.line);
    fs.writeFileSync(settings, JSON.stringify(envelope));

    const review = await app.handlers.getStateReview({});
    expect(review.tampered).toBe(1);
    const file = review.files.find((f) => f.kind === 'settings');
    expect(file?.status).toBe('tampered');
    expect(file?.lines.join('\n')).toContain(keys.evil.keyId);

    await expect(app.handlers.makeRecoveryCode({})).rejects.toMatchObject({ code: 'STATE_TAMPERED' });
    await expect(app.handlers.getOverview({})).rejects.toMatchObject({ code: 'STATE_TAMPERED' });
    expect(fs.existsSync(path.join(userData, 'escrow.json'))).toBe(false);

    const confirmed = await app.handlers.confirmState({ reviewed: review.reviewed });
    expect(confirmed.tampered).toBe(0);
    const status = await app.handlers.getRecovery({});
    expect(status.trustedRecoveryKeys.map((k) => k.keyId)).toEqual([keys.evil.keyId]);
  });

  it('confirm signs only what the banner showed: a file changed again after the review is refused', async () => {
    // R2 review: before, confirmState re-read the files and signed whatever was there when the user clicked,
    // so an edit made while the banner was open was signed unseen.
    const settings = path.join(userData, 'settings.json');
    const signed = JSON.parse(fs.readFileSync(settings, 'utf8')) as { body: string };
    const withKey = (line: string, label: string): { body: string } => {
      const doc = JSON.parse(signed.body) as Record<string, unknown>;
      doc.trustedRecoveryKeys = [{ publicKey: line, addedAt: '2026-01-01T00:00:00.000Z', label }];
      return { ...signed, body: JSON.stringify(doc, null, 2) + '\n' };
    };
    // What the user reviews: the org key (the MAC is the old one, so it does not verify).
    fs.writeFileSync(settings, JSON.stringify(withKey(keys.org.line, 'shown')));
    const review = await app.handlers.getStateReview({});
    expect(review.tampered).toBe(1);
    expect(review.files.find((f) => f.kind === 'settings')?.lines.join('\n')).toContain(keys.org.keyId);

    // The intruder's edit while the dialog is open.
    fs.writeFileSync(settings, JSON.stringify(withKey(keys.evil.line, 'shown')));
    await expect(app.handlers.confirmState({ reviewed: review.reviewed })).rejects.toMatchObject({
      code: 'STATE_TAMPERED',
      message: expect.stringContaining('changed again') as unknown,
    });
    expect((await app.handlers.getStateReview({})).tampered).toBe(1);
    await expect(app.handlers.makeRecoveryCode({})).rejects.toMatchObject({ code: 'STATE_TAMPERED' });

    // Reviewed again, it is what gets confirmed.
    const second = await app.handlers.getStateReview({});
    expect((await app.handlers.confirmState({ reviewed: second.reviewed })).tampered).toBe(0);
    const status = await app.handlers.getRecovery({});
    expect(status.trustedRecoveryKeys.map((k) => k.keyId)).toEqual([keys.evil.keyId]);
  });
});
