/**
 * The header journal at app start (issue 9 item 6, FORMAT.md §8.1): a header rewrite cut by a crash leaves a journal in app data
 * and, for a moment, a torn header: the file opens with no key until `recover` writes the journalled
 * header. The app must do that at start whatever did the rewrite. A helpdesk rekey (or any rewrite with
 * the key set unchanged) leaves no rotation pending, so a start that only ran `recover` as part of a
 * rotation left the file unopenable until the recovery key set next changed (failed before).
 *
 * Real app composition (buildApp), real private Secret Service, real files; the crash state is the one a
 * kill -9 between the pwrite and the flush leaves (e2e/rewrap-kill.e2e.ts makes it by killing).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectFd } from '../crypto/file.js';
import type { Identity, Recipient } from '../crypto/keys.js';
import { loadBackend } from '../crypto/sodium.js';
import type { BuiltApp } from '../electron/main/composition.js';
import { DEVICE_KEY_ACCOUNT } from '../electron/services/keys/device-key.js';
import { headerJournalDir } from '../electron/services/keys/rotation.js';
import { NO_KEYRING, tempDir } from './cli-harness.js';
import { opens } from './helpers/opens.js';
import { TestAppHome } from './helpers/test-app.js';
import { tearWithJournal } from './helpers/torn-header.js';

if (NO_KEYRING) console.warn(`SKIPPED header journal at start: ${NO_KEYRING}`);

const sodium = await loadBackend('wasm');

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(NO_KEYRING !== null)('a header rewrite cut by a crash is finished at start', () => {
  const t = new TestAppHome('r7');
  const { home, userData } = t;
  let app: BuiltApp | null = null;
  const start = (): Promise<BuiltApp> => t.build();

  afterAll(async () => {
    await app?.close();
    await t
      .keyStore()
      .delete(DEVICE_KEY_ACCOUNT)
      .catch(() => false);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('a torn header with its journal (no rotation pending) opens again after the app starts', async () => {
    app = await start();
    const folder = fs.realpathSync(tempDir('r7-journal'));
    fs.writeFileSync(path.join(folder, 'ledger.txt'), 'customer ledger\n'.repeat(100));
    const view = await app.ports.folders.add(folder);
    const run = await app.ports.folders.protect(view.id);
    expect((await app.runs.settled(run.runId)).errors).toEqual([]);
    const file = path.join(folder, 'ledger.txt.coffer');
    await app.close();
    app = null;

    // A rewrite for this device plus a helpdesk's key X (what a helpdesk rekey writes), cut by a crash:
    // the journal is durable, the header half written.
    const key = await t.keyStore().get(DEVICE_KEY_ACCOUNT);
    if (!key) throw new Error('no device key in the keychain');
    const device: Identity & Recipient = { kind: 'device', key };
    const scratch = path.join(home, 'side');
    fs.mkdirSync(scratch);
    const journalDir = headerJournalDir(userData);
    const x = await tearWithJournal(sodium, { file, journalDir, device, scratch });
    expect(opens(sodium, file, [device])).toBe(false);

    app = await start();

    await until('the journalled header written at start', () => opens(sodium, file, [device]));
    expect(opens(sodium, file, [{ kind: 'recovery', ...x }])).toBe(true);
    await until('the journal removed', () => fs.readdirSync(journalDir).length === 0);
    const fd = fs.openSync(file, 'r');
    try {
      expect(inspectFd(fd).stanzas.map((s) => s.kind)).toEqual(['device', 'recovery']);
    } finally {
      fs.closeSync(fd);
    }
  }, 180_000);
});
