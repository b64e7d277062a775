import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBackend } from '../../../crypto/sodium.js';
import { isCofferError } from '../../../crypto/errors.js';
import { decryptFd, encryptFd } from '../../../crypto/file.js';
import { deviceKeyId, formatKeyId, generateDeviceKey, type Identity } from '../../../crypto/keys.js';
import { FailingKeyStore } from '../../../e2e/helpers/failing-key-store.js';
import { JsonSettingsStore } from '../settings.js';
import { DEVICE_KEY_ACCOUNT, DeviceKeyService, readOnlyAccount } from './device-key.js';
import { MemoryKeyStore, type KeyStore } from './key-store.js';
import { TrustedRecoveryKeys } from './trusted-keys.js';
import { encodePublicKey } from './public-key-text.js';

const sodium = await loadBackend('wasm');

const idOf = (key: Uint8Array): string => formatKeyId(deviceKeyId(sodium, key));

/** Counts writes, so a test can see how many keys were made. */
class CountingKeyStore extends MemoryKeyStore {
  /** Writes of `device-key` (each new key also gets its own read-only copy: storeWriting). */
  sets = 0;
  override set(account: string, secret: Uint8Array): Promise<void> {
    if (account === DEVICE_KEY_ACCOUNT) this.sets++;
    return super.set(account, secret);
  }
}

function setup(keyStore: KeyStore = new MemoryKeyStore()) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-device-'));
  const settings = new JsonSettingsStore(path.join(dir, 'settings.json'));
  const trustedKeys = new TrustedRecoveryKeys(sodium, settings);
  const lockDir = path.join(dir, 'locks');
  const make = (store: KeyStore = keyStore) =>
    new DeviceKeyService({ sodium, keyStore: store, settings, trustedKeys, lockDir });
  return { keyStore, settings, trustedKeys, make, dir };
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

function deviceIds(identities: Identity[]): string[] {
  return identities.flatMap((i) => (i.kind === 'device' ? [idOf(i.key)] : []));
}

describe('DeviceKeyService', () => {
  it('creates the key once, stores it, records its ID, and returns the same key afterwards', async () => {
    const { make, keyStore, settings } = setup();
    const first = make();
    const key = (await first.getOrCreateDeviceKey()).slice();
    expect(key).toHaveLength(32);
    expect(await keyStore.get(DEVICE_KEY_ACCOUNT)).toEqual(key);
    expect(settings.read().deviceKeyId).toBe(idOf(key));
    expect(await make().getOrCreateDeviceKey()).toEqual(key);
    first.close();
  });

  it('single flight: many concurrent first uses in one process, and in two services, make one key', async () => {
    const store = new CountingKeyStore();
    const { make } = setup(store);
    const a = make();
    const b = make();
    const keys = await Promise.all([
      ...Array.from({ length: 10 }, () => a.getOrCreateDeviceKey()),
      ...Array.from({ length: 10 }, () => b.getOrCreateDeviceKey()),
      a.deviceKeyId().then(() => a.getDeviceKey()),
    ]);
    expect(new Set(keys.map(idOf)).size).toBe(1);
    expect(store.sets).toBe(1);
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

  it('a read-only key opens (identities) and never writes (recipients)', async () => {
    const { make, keyStore, settings } = setup();
    const service = make();
    const current = (await service.getOrCreateDeviceKey()).slice();
    const restored = generateDeviceKey(sodium);
    expect(await service.keepReadOnly(restored)).toEqual({ keyId: idOf(restored), isCurrent: false });
    expect(await keyStore.get(readOnlyAccount(idOf(restored)))).toEqual(restored);
    expect(await keyStore.get(DEVICE_KEY_ACCOUNT)).toEqual(current);
    // The current key's own copy (storeWriting), then the restored key.
    expect(settings.read().readOnlyDeviceKeyIds).toEqual([idOf(current), idOf(restored)]);
    const fresh = make();
    expect(deviceIds(await fresh.identities())).toEqual([idOf(current), idOf(restored)]);
    const writers = (await fresh.recipients()).flatMap((r) => (r.kind === 'device' ? [idOf(r.key)] : []));
    expect(writers).toEqual([idOf(current)]);
    // Keeping the current key "read-only" changes nothing.
    expect(await fresh.keepReadOnly(current)).toEqual({ keyId: idOf(current), isCurrent: true });
    expect(settings.read().readOnlyDeviceKeyIds).toEqual([idOf(current), idOf(restored)]);
    expect((await fresh.list()).readOnly).toEqual([{ keyId: idOf(restored), state: 'ok' }]);
  });

  it('a read-only entry whose bytes are not the key its ID names is not used; list() says so', async () => {
    const { make, keyStore, settings } = setup();
    const service = make();
    const current = (await service.getOrCreateDeviceKey()).slice();
    const restored = generateDeviceKey(sodium);
    await service.keepReadOnly(restored);
    const swapped = generateDeviceKey(sodium);
    await keyStore.set(readOnlyAccount(idOf(restored)), swapped);
    settings.update((s) => ({
      ...s,
      readOnlyDeviceKeyIds: [...s.readOnlyDeviceKeyIds, 'aaaa-bbbb-cccc-dddd'],
    }));
    const fresh = make();
    expect(deviceIds(await fresh.identities())).toEqual([idOf(current)]);
    expect(await fresh.list()).toEqual({
      current: { keyId: idOf(current), state: 'ok' },
      readOnly: [
        { keyId: idOf(restored), state: 'damaged' },
        { keyId: 'aaaa-bbbb-cccc-dddd', state: 'missing' },
      ],
    });
  });

  it('replaceCurrent(): a fresh key writes, the old one is kept read-only; another service notices', async () => {
    const { make, keyStore, settings } = setup();
    const other = make(); // e.g. the app, which cached the key before a CLI rotation
    const old = (await other.getOrCreateDeviceKey()).slice();
    const result = await make().replaceCurrent();
    expect(result.previousKeyId).toBe(idOf(old));
    expect(result.deviceKeyId).not.toBe(idOf(old));
    expect(settings.read().deviceKeyId).toBe(result.deviceKeyId);
    expect(await keyStore.get(readOnlyAccount(idOf(old)))).toEqual(old);
    const writers = (await other.recipients()).flatMap((r) => (r.kind === 'device' ? [idOf(r.key)] : []));
    expect(writers).toEqual([result.deviceKeyId]);
    expect(deviceIds(await other.identities())).toEqual([result.deviceKeyId, idOf(old)]);
  });

  it('R5: a running app whose keys were cached before a rotation or restore elsewhere opens with the new keys', async () => {
    const { make } = setup();
    const app = make();
    const old = (await app.getOrCreateDeviceKey()).slice();
    expect(deviceIds(await app.identities())).toEqual([idOf(old)]);
    // `coffer rotate-device-key` in a terminal: files are re-wrapped to the new key only.
    const cli = make();
    const rotated = await cli.replaceCurrent();
    expect(deviceIds(await app.identities())).toEqual([rotated.deviceKeyId, idOf(old)]);
    // `coffer restore-device` keeps a restored key read-only: the app opens files that only it opens.
    const restored = generateDeviceKey(sodium);
    await make().keepReadOnly(restored);
    expect(deviceIds(await app.identities())).toEqual([rotated.deviceKeyId, idOf(old), idOf(restored)]);
  });

  it('R5: settings naming a forged key as current, or listing planted read-only keys, never make it write', async () => {
    const { make, settings, keyStore } = setup();
    const own = (await make().getOrCreateDeviceKey()).slice();
    // An attacker's key, kept read-only by a restore of a forged record, and one planted beside it.
    const forged = generateDeviceKey(sodium);
    await make().keepReadOnly(forged);
    const planted = generateDeviceKey(sodium);
    await keyStore.set(readOnlyAccount(idOf(planted)), planted);
    // Settings edited (the app and CLI sign them: STATE_TAMPERED; here plain, to see the key logic alone).
    settings.update((x) => ({
      ...x,
      deviceKeyId: idOf(forged),
      readOnlyDeviceKeyIds: [...x.readOnlyDeviceKeyIds, idOf(planted)],
    }));
    for (const service of [make(), make()]) {
      const writers = (await service.recipients()).flatMap((r) => (r.kind === 'device' ? [idOf(r.key)] : []));
      expect(writers).toEqual([idOf(own)]);
      expect(await service.deviceKeyId()).toBe(idOf(own));
    }
    expect(settings.read().deviceKeyId).toBe(idOf(own));
    // A rotation keeps the forged key read-only and makes a fresh one: never the forged one.
    const rotated = await make().replaceCurrent();
    expect([idOf(own), idOf(forged), idOf(planted)]).not.toContain(rotated.deviceKeyId);
    expect(await keyStore.get(DEVICE_KEY_ACCOUNT)).not.toEqual(forged);
  });

  it('R5: a restore of a forged record that stops after keeping it (crash, keychain gone) never lets it write', async () => {
    const { make, keyStore } = setup();
    const forged = generateDeviceKey(sodium);
    // restore-device on an account without a key: the restored key is kept, then the process dies.
    await make().keepReadOnly(forged);
    // The next first use (the app, a CLI run) makes its own key; the forged one only reads.
    const next = make();
    const writers = (await next.recipients()).flatMap((r) => (r.kind === 'device' ? [idOf(r.key)] : []));
    expect(writers).toHaveLength(1);
    expect(writers).not.toContain(idOf(forged));
    expect(deviceIds(await next.identities())).toEqual([writers[0], idOf(forged)]);
    expect(await keyStore.get(DEVICE_KEY_ACCOUNT)).not.toEqual(forged);
  });

  it('a damaged entry is moved aside by replaceCurrent(), never overwritten; a restore works past it', async () => {
    const store = new MemoryKeyStore();
    const { make } = setup(store);
    const junk = new Uint8Array(7).fill(1);
    await store.set(DEVICE_KEY_ACCOUNT, junk);
    expect(await codeOf(make().getOrCreateDeviceKey())).toBe('KEYCHAIN_ENTRY_DAMAGED');
    const service = make();
    const restored = generateDeviceKey(sodium);
    expect(await service.keepReadOnly(restored)).toEqual({ keyId: idOf(restored), isCurrent: false });
    const result = await service.replaceCurrent();
    expect(result.previousKeyId).toBeNull();
    const aside = `${DEVICE_KEY_ACCOUNT}-damaged-${Buffer.from(sodium.hash(16, junk)).toString('hex').slice(0, 16)}`;
    expect(await store.get(aside)).toEqual(junk);
    expect(deviceIds(await make().identities())).toEqual([result.deviceKeyId, idOf(restored)]);
  });

  it('rejects a keychain that keeps nothing', async () => {
    const forgetful: KeyStore = {
      get: () => Promise.resolve(null),
      set: () => Promise.resolve(),
      delete: () => Promise.resolve(false),
    };
    expect(await codeOf(setup(forgetful).make().getOrCreateDeviceKey())).toBe('KEYCHAIN_UNAVAILABLE');
  });
});

describe('a keychain failing between the steps of a rotation leaves every key that opens files', () => {
  for (const mode of ['before', 'after'] as const) {
    it(`fails ${mode} the Nth call, for every N`, async () => {
      let completed = false;
      for (let n = 1; !completed; n++) {
        expect(n, 'the rotation never completed').toBeLessThan(50);
        const inner = new MemoryKeyStore();
        const { make } = setup(inner);
        const old = (await make().getOrCreateDeviceKey()).slice();
        const restored = generateDeviceKey(sodium);
        const failing = new FailingKeyStore(inner, n, mode);
        const service = make(failing);
        try {
          await service.keepReadOnly(restored);
          await service.replaceCurrent();
          completed = true;
        } catch (error) {
          expect(String(error)).toMatch(/keychain failed|KEYCHAIN_UNAVAILABLE|did not keep/);
        }
        // Whatever step failed: the old key (files written until now) still opens, and once it was kept,
        // the restored one too; whatever key writes is in the keychain.
        const after = make();
        const opens = deviceIds(await after.identities());
        expect(opens, `failure at call ${n} (${mode})`).toContain(idOf(old));
        if (failing.calls > 2 || completed) expect(opens).toContain(idOf(restored));
        const writer = (await after.recipients()).find((r) => r.kind === 'device');
        if (writer?.kind !== 'device') throw new Error('no device recipient');
        expect(opens).toContain(idOf(writer.key));
        if (completed) expect(idOf(writer.key)).not.toBe(idOf(old));
      }
    });
  }
});

const noKeyring =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ?? 'not run under scripts/with-keyring.sh');
if (noKeyring) console.warn(`SKIPPED real-keychain device key race: ${noKeyring}`);

/**
 * A real keychain whose answer to one read of `device-key` is held back until the test lets it go: a slow
 * Secret Service (seconds on a busy machine) answering after another process rotated the key.
 */
class HeldReadKeyStore implements KeyStore {
  private hold: Promise<void> | null = null;
  private release: () => void = () => undefined;
  reading: Promise<void>;
  private readStarted: () => void = () => undefined;
  constructor(private readonly inner: KeyStore) {
    this.reading = new Promise((resolve) => (this.readStarted = resolve));
  }
  holdNextRead(): void {
    this.hold = new Promise((resolve) => (this.release = resolve));
  }
  letGo(): void {
    this.release();
  }
  async get(account: string) {
    const value = await this.inner.get(account);
    const hold = account === DEVICE_KEY_ACCOUNT ? this.hold : null;
    if (hold) {
      this.hold = null;
      this.readStarted();
      await hold;
    }
    return value;
  }
  set(account: string, secret: Uint8Array) {
    return this.inner.set(account, secret);
  }
  delete(account: string) {
    return this.inner.delete(account);
  }
}

describe.skipIf(noKeyring !== null)(
  'R5: a key read before a rotation, answered after it (real Secret Service)',
  () => {
    it('never brings the rotated-out key back as the one that writes, nor records it as current', async () => {
      const { OsKeyStore } = await import('./key-store.js');
      const os_ = new OsKeyStore({ service: `CofferTest-${Math.random().toString(16).slice(2, 10)}` });
      const { make, settings, dir } = setup(os_);
      const old = (await make().getOrCreateDeviceKey()).slice();
      // The app starts (another process: its own settings reader) and asks for the key; the keychain is slow.
      const held = new HeldReadKeyStore(os_);
      held.holdNextRead();
      const app = new DeviceKeyService({
        sodium,
        keyStore: held,
        settings: new JsonSettingsStore(path.join(dir, 'settings.json')),
        trustedKeys: new TrustedRecoveryKeys(sodium, settings),
        lockDir: path.join(dir, 'locks'),
      });
      const appKey = app.getOrCreateDeviceKey();
      await held.reading;
      // Meanwhile `coffer rotate-device-key` (or restore-device --replace) completes.
      const rotated = await make().replaceCurrent();
      held.letGo();
      await appKey;
      const writers = (await app.recipients()).flatMap((r) => (r.kind === 'device' ? [idOf(r.key)] : []));
      expect(writers).toEqual([rotated.deviceKeyId]);
      expect(settings.read().deviceKeyId).toBe(rotated.deviceKeyId);
      expect(idOf(old)).not.toBe(rotated.deviceKeyId);
      // Every process agrees afterwards, and both keys open.
      const later = make();
      expect(deviceIds(await later.identities())).toEqual([rotated.deviceKeyId, idOf(old)]);
      for (const account of [DEVICE_KEY_ACCOUNT, readOnlyAccount(idOf(old))]) await os_.delete(account);
    });
  },
);

/**
 * A keychain write that timed out for its caller (the helper killed after COFFER_KEYCHAIN_TIMEOUT_MS, or its
 * process killed with -9) but that the Secret Service still carries out later: the request was already in
 * the daemon. The caller saw an error and let go of the lock.
 */
class LateWriteKeyStore implements KeyStore {
  late: (() => Promise<void>) | null = null;
  constructor(private readonly inner: KeyStore) {}
  get(account: string) {
    return this.inner.get(account);
  }
  set(account: string, secret: Uint8Array) {
    if (account === DEVICE_KEY_ACCOUNT && this.late === null) {
      const copy = secret.slice();
      this.late = () => this.inner.set(account, copy);
      return Promise.reject(new Error('The OS keychain is unavailable: no answer within 5 s'));
    }
    return this.inner.set(account, secret);
  }
  delete(account: string) {
    return this.inner.delete(account);
  }
}

describe.skipIf(noKeyring !== null)(
  'R5: a first use whose keychain write lands late (real Secret Service)',
  () => {
    it('does not take away the key another first use made and wrote files with', async () => {
      const { OsKeyStore } = await import('./key-store.js');
      const real = new OsKeyStore({ service: `CofferTest-${Math.random().toString(16).slice(2, 10)}` });
      const { make, settings, dir } = setup(real);
      const late = new LateWriteKeyStore(real);
      // First use #1 (say `coffer init`): its write times out; it reports KEYCHAIN_UNAVAILABLE and stops.
      await expect(make(late).getOrCreateDeviceKey()).rejects.toThrow(/no answer/);
      // First use #2 (the app): makes a key and writes a file with it.
      const app = make();
      const writer = (await app.recipients()).find((r) => r.kind === 'device');
      if (writer?.kind !== 'device') throw new Error('no device recipient');
      const plain = path.join(dir, 'report.txt');
      fs.writeFileSync(plain, 'quarterly numbers\n');
      const input = fs.openSync(plain, 'r');
      const output = fs.openSync(`${plain}.coffer`, 'w');
      try {
        encryptFd(sodium, input, output, { recipients: [writer], name: 'report.txt' });
      } finally {
        fs.closeSync(input);
        fs.closeSync(output);
      }
      fs.rmSync(plain);
      // Then the Secret Service carries out #1's write.
      await late.late?.();
      // The file still opens with this account's keys, in a new process; the key that writes is in the keychain.
      const later = make();
      const fd = fs.openSync(`${plain}.coffer`, 'r');
      try {
        expect(() => decryptFd(sodium, fd, null, [])).toThrow();
      } finally {
        fs.closeSync(fd);
      }
      const identities = await later.identities();
      expect(deviceIds(identities)).toContain(idOf(writer.key));
      const again = fs.openSync(`${plain}.coffer`, 'r');
      try {
        expect(() => decryptFd(sodium, again, null, identities)).not.toThrow();
      } finally {
        fs.closeSync(again);
      }
      const now = (await later.recipients()).find((r) => r.kind === 'device');
      if (now?.kind !== 'device') throw new Error('no device recipient');
      expect(await real.get(DEVICE_KEY_ACCOUNT)).toEqual(now.key);
      expect(settings.read().deviceKeyId).toBe(idOf(now.key));
      for (const id of settings.read().readOnlyDeviceKeyIds) await real.delete(readOnlyAccount(id));
      await real.delete(DEVICE_KEY_ACCOUNT);
    });
  },
);
