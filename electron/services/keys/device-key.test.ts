import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBackend } from '../../../crypto/sodium.js';
import { isCofferError } from '../../../crypto/errors.js';
import { deviceKeyId, formatKeyId, generateDeviceKey } from '../../../crypto/keys.js';
import { JsonSettingsStore } from '../settings.js';
import { DEVICE_KEY_ACCOUNT, DeviceKeyService } from './device-key.js';
import { MemoryKeyStore, type KeyStore } from './key-store.js';
import { TrustedRecoveryKeys } from './trusted-keys.js';
import { encodePublicKey } from './public-key-text.js';

const sodium = await loadBackend('wasm');

function setup(keyStore: KeyStore = new MemoryKeyStore()) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-device-'));
  const settings = new JsonSettingsStore(path.join(dir, 'settings.json'));
  const trustedKeys = new TrustedRecoveryKeys(sodium, settings);
  const make = () => new DeviceKeyService({ sodium, keyStore, settings, trustedKeys });
  return { keyStore, settings, trustedKeys, make };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isCofferError(error)) return error.code;
    throw error;
  }
  return 'ok';
}

describe('DeviceKeyService', () => {
  it('creates the key once, stores it, records its ID, and returns the same key afterwards', async () => {
    const { make, keyStore, settings } = setup();
    const first = make();
    const key = (await first.getOrCreateDeviceKey()).slice();
    expect(key).toHaveLength(32);
    expect(await keyStore.get(DEVICE_KEY_ACCOUNT)).toEqual(key);
    expect(settings.read().deviceKeyId).toBe(formatKeyId(deviceKeyId(sodium, key)));
    expect(await make().getOrCreateDeviceKey()).toEqual(key);
    first.close();
  });

  it('hands out copies: a caller zeroing its keys does not zero the cached key', async () => {
    const { make } = setup();
    const service = make();
    const key = (await service.getOrCreateDeviceKey()).slice();
    const [identity] = await service.identities();
    if (identity?.kind !== 'device') throw new Error('expected a device identity');
    sodium.zero(identity.key);
    expect(await service.getOrCreateDeviceKey()).toEqual(key);
    service.close();
  });

  it('never silently replaces a lost key: NO_DEVICE_KEY pointing to restore-device', async () => {
    const { make, keyStore } = setup();
    await make().getOrCreateDeviceKey();
    await keyStore.delete(DEVICE_KEY_ACCOUNT);
    const error = await make()
      .getOrCreateDeviceKey()
      .catch((e: unknown) => e);
    expect(isCofferError(error, 'NO_DEVICE_KEY')).toBe(true);
    expect(isCofferError(error) && error.hint).toContain('coffer restore-device');
    expect(await keyStore.get(DEVICE_KEY_ACCOUNT)).toBeNull();
  });

  it('identities() does not create a key', async () => {
    const { make, keyStore } = setup();
    expect(await codeOf(make().identities())).toBe('NO_DEVICE_KEY');
    expect(await keyStore.get(DEVICE_KEY_ACCOUNT)).toBeNull();
  });

  it('recipients() are the device key and each trusted recovery key', async () => {
    const { make, trustedKeys } = setup();
    const org = sodium.boxKeypair();
    trustedKeys.trust(encodePublicKey(sodium, org.publicKey), 'helpdesk');
    const service = make();
    const recipients = await service.recipients();
    expect(recipients.map((r) => r.kind)).toEqual(['device', 'recovery']);
    expect(recipients[1]).toEqual({ kind: 'recovery', publicKey: org.publicKey });
  });

  it('install() refuses to replace a different key unless asked, and rejects a keychain that keeps nothing', async () => {
    const { make } = setup();
    await make().getOrCreateDeviceKey();
    const other = generateDeviceKey(sodium);
    expect(await codeOf(make().install(other))).toBe('DEVICE_KEY_EXISTS');
    const service = make();
    expect(await service.install(other, { replace: true })).toBe(formatKeyId(deviceKeyId(sodium, other)));
    expect(await service.getDeviceKey()).toEqual(other);

    const forgetful: KeyStore = {
      get: () => Promise.resolve(null),
      set: () => Promise.resolve(),
      delete: () => Promise.resolve(false),
    };
    expect(await codeOf(setup(forgetful).make().getOrCreateDeviceKey())).toBe('KEYCHAIN_UNAVAILABLE');
  });
});
