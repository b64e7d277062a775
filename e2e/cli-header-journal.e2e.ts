/**
 * Issue 9 item 6 (FORMAT.md §8.1): a header rewrite cut by a crash leaves a journal and a torn header that
 * opens with no key. A CLI-only user (no app to start) must not depend on `coffer rewrap` to get the file
 * back: any command that opens the keychain finishes journalled rewrites first. Real CLI, real private
 * Secret Service, real files; the crash state is the one a kill -9 between pwrite and flush leaves.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Identity, Recipient } from '../crypto/keys.js';
import { loadBackend } from '../crypto/sodium.js';
import { DEVICE_KEY_ACCOUNT } from '../electron/services/keys/device-key.js';
import { OsKeyStore } from '../electron/services/keys/key-store.js';
import { headerJournalDir } from '../electron/services/keys/rotation.js';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';
import { opens } from './helpers/opens.js';
import { tearWithJournal } from './helpers/torn-header.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI header journal: ${NO_KEYRING}`);

const sodium = await loadBackend('wasm');

describe.skipIf(NO_KEYRING !== null)('the CLI finishes a header rewrite a crash cut', () => {
  const laptop = new Laptop('journal');
  const scratch = tempDir('journal-scratch');

  afterAll(async () => {
    await new OsKeyStore({ service: laptop.service }).delete(DEVICE_KEY_ACCOUNT).catch(() => false);
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('the next command writes the journalled header, and the file opens again', async () => {
    const folder = fs.realpathSync(tempDir('journal-folder'));
    fs.writeFileSync(path.join(folder, 'ledger.txt'), 'customer ledger\n'.repeat(100));
    const protect = await laptop.run(['protect', folder]);
    expect(protect.stderr).toBe('');
    expect(protect.code).toBe(0);
    const file = path.join(folder, 'ledger.txt.coffer');

    const key = await new OsKeyStore({ service: laptop.service }).get(DEVICE_KEY_ACCOUNT);
    if (!key) throw new Error('no device key in the keychain');
    const device: Identity & Recipient = { kind: 'device', key };
    const journalDir = headerJournalDir(laptop.home);
    const x = await tearWithJournal(sodium, { file, journalDir, device, scratch });
    expect(opens(sodium, file, [device])).toBe(false);

    const status = await laptop.run(['status', folder]);
    expect(status.code).toBe(0);
    expect(status.stderr).toMatch(/finished 1 interrupted header rewrite/);
    expect(opens(sodium, file, [device])).toBe(true);
    expect(opens(sodium, file, [{ kind: 'recovery', ...x }])).toBe(true);
    expect(fs.readdirSync(journalDir)).toEqual([]);
  }, 180_000);
});
