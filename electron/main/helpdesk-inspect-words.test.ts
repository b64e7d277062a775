/**
 * Review of issue 12 item 6 (plain language everywhere): the helpdesk's list of picked files showed a
 * damaged file's header error as the crypto layer words it ("stanza count 0 is out of range", "the stanzas
 * do not fill the header exactly"). Over the real composition (helpdesk tools on by policy, a real .coffer
 * made by a protect run, one header byte changed): the reason is said in words, the stable code kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScriptedDialogs } from '../../e2e/helpers/app-harness.js';
import { TestAppHome } from '../../e2e/helpers/test-app.js';
import type { BuiltApp } from './composition.js';

const NO_KEYRING =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ?? 'not run under scripts/with-keyring.sh');
if (NO_KEYRING) console.warn(`SKIPPED helpdesk inspection words: ${NO_KEYRING}`);

describe.skipIf(NO_KEYRING !== null)('a damaged file in the helpdesk’s list', { timeout: 60_000 }, () => {
  const homes: TestAppHome[] = [];
  const apps: BuiltApp[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const h of homes) fs.rmSync(h.home, { recursive: true, force: true });
  });

  it('says what is wrong without "stanza"', async () => {
    const home = new TestAppHome('helpdesk-words');
    homes.push(home);
    home.writePolicy({ helpdeskTools: true });
    const dialog = new ScriptedDialogs();
    const app = await home.build({ dialog });
    apps.push(app);
    const folder = path.join(home.home, 'Customers');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'notes.txt'), 'Customer: ACME\n');
    dialog.answer(folder);
    const view = await app.handlers.addFolder({});
    if (!view) throw new Error('folder not added');
    const { runId } = await app.handlers.protectFolder({ folderId: view.id });
    expect((await app.runs.settled(runId)).state).toBe('done');

    // A copy on a backup stick, its header's recipient count (FORMAT.md §3, byte 17) set to 0.
    const stick = path.join(home.home, 'stick');
    fs.mkdirSync(stick);
    const damaged = path.join(stick, 'notes.txt.coffer');
    const bytes = fs.readFileSync(path.join(folder, 'notes.txt.coffer'));
    bytes[17] = 0;
    fs.writeFileSync(damaged, bytes);

    dialog.answer([damaged]);
    const found = await app.handlers.helpdeskPick({ what: 'files' });
    const error = found?.[0]?.error;
    expect(error?.code).toBe('MALFORMED_HEADER');
    expect(`${error?.message ?? ''} ${error?.hint ?? ''}`).not.toMatch(/stanza/i);
  });
});
