import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBackend } from '../../../crypto/sodium.js';
import { isCofferError } from '../../../crypto/errors.js';
import { formatKeyId, keyIdOf, type Recipient } from '../../../crypto/keys.js';
import { createPolicyService } from '../policy/create.js';
import { JsonSettingsStore } from '../settings.js';
import { DeviceKeyService } from './device-key.js';
import { MemoryKeyStore } from './key-store.js';
import { encodePublicKey } from './public-key-text.js';
import { TrustedRecoveryKeys } from './trusted-keys.js';
import { WriteKeys, dedupeRecipients } from './write-keys.js';

const sodium = await loadBackend('wasm');

/** Real services over a temp settings file, a memory keychain and a real policy file. */
async function setup(policy: unknown) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-writekeys-'));
  const policyFile = path.join(dir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify(policy));
  const settings = new JsonSettingsStore(path.join(dir, 'settings.json'));
  const trustedKeys = new TrustedRecoveryKeys(sodium, settings);
  const deviceKeys = new DeviceKeyService({
    sodium,
    keyStore: new MemoryKeyStore(),
    settings,
    trustedKeys,
    lockDir: path.join(dir, 'locks'),
  });
  const service = createPolicyService({
    sodium,
    allowEnvOverride: true,
    env: { COFFER_POLICY_FILE: policyFile },
  });
  await service.reload();
  return { trustedKeys, writeKeys: new WriteKeys({ sodium, deviceKeys, policy: service }) };
}

const ids = (recipients: readonly Recipient[]): string[] =>
  recipients.map((r) => `${r.kind} ${formatKeyId(keyIdOf(sodium, r))}`);

describe('WriteKeys', () => {
  it('device + trusted + policy keys, a key both trusted and deployed only once', async () => {
    const org = sodium.boxKeypair();
    const mine = sodium.boxKeypair();
    const { trustedKeys, writeKeys } = await setup({
      recoveryPublicKeys: [encodePublicKey(sodium, org.publicKey)],
    });
    trustedKeys.trust(encodePublicKey(sodium, org.publicKey));
    trustedKeys.trust(encodePublicKey(sodium, mine.publicKey));
    const recipients = await writeKeys.recipients();
    expect(recipients.map((r) => r.kind)).toEqual(['device', 'recovery', 'recovery']);
    expect(new Set(ids(recipients)).size).toBe(3);
    expect(ids(recipients)).toContain(
      `recovery ${formatKeyId(keyIdOf(sodium, { kind: 'recovery', publicKey: org.publicKey }))}`,
    );
    // An extra recipient for one write (rekey) that is already there adds nothing.
    expect(await writeKeys.recipients([{ kind: 'recovery', publicKey: mine.publicKey }])).toHaveLength(3);
  });

  it('refuses when the policy requires a recovery key it does not deploy, or is invalid', async () => {
    const codeOf = async (policy: unknown): Promise<string> => {
      const { writeKeys } = await setup(policy);
      try {
        await writeKeys.recipients();
        return 'ok';
      } catch (error) {
        if (isCofferError(error)) return error.code;
        throw error;
      }
    };
    expect(await codeOf({ requireRecoveryKey: true })).toBe('NO_RECOVERY_KEY');
    expect(await codeOf({ allowUnprotect: 'maybe' })).toBe('POLICY_INVALID');
    expect(await codeOf({})).toBe('ok');
  });

  it('dedupeRecipients keeps the first of each key ID and kind', () => {
    const key = sodium.randomBytes(32);
    const pair = sodium.boxKeypair();
    const list: Recipient[] = [
      { kind: 'device', key },
      { kind: 'recovery', publicKey: pair.publicKey },
      { kind: 'device', key: key.slice() },
      { kind: 'recovery', publicKey: pair.publicKey.slice() },
    ];
    expect(dedupeRecipients(sodium, list)).toEqual(list.slice(0, 2));
  });
});
