/**
 * The device key: 32 random bytes per OS user account, kept only in the OS keychain (DESIGN.md "Keys",
 * FORMAT.md §2). Created on first use, and only then: once settings record a device key ID, a missing
 * keychain entry is NO_DEVICE_KEY, because files may exist that only that key opens.
 */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError } from '../../../crypto/errors.js';
import {
  KEY_BYTES,
  deviceKeyId,
  formatKeyId,
  generateDeviceKey,
  type Identity,
  type Recipient,
} from '../../../crypto/keys.js';
import type { SettingsStore } from '../settings.js';
import type { KeyStore } from './key-store.js';
import type { TrustedRecoveryKeys } from './trusted-keys.js';

export const DEVICE_KEY_ACCOUNT = 'device-key';

export interface DeviceKeyServiceDeps {
  sodium: SodiumBackend;
  keyStore: KeyStore;
  settings: SettingsStore;
  trustedKeys: TrustedRecoveryKeys;
}

export class DeviceKeyService {
  /** Cached for the life of the service (one CLI run, one app session); zeroed by close(). */
  private cached: Uint8Array | null = null;

  constructor(private readonly deps: DeviceKeyServiceDeps) {}

  /** The device key, made and stored on first use. Callers must not zero or keep it beyond close(). */
  async getOrCreateDeviceKey(): Promise<Uint8Array> {
    return this.load(true);
  }

  /** The device key; NO_DEVICE_KEY when there is none. */
  async getDeviceKey(): Promise<Uint8Array> {
    return this.load(false);
  }

  async deviceKeyId(): Promise<string> {
    return formatKeyId(deviceKeyId(this.deps.sodium, await this.getOrCreateDeviceKey()));
  }

  /** The key ID recorded in settings, without touching the keychain. */
  recordedDeviceKeyId(): string | undefined {
    return this.deps.settings.read().deviceKeyId;
  }

  /** Who new files are written for: this device, and each trusted organization recovery key. */
  async recipients(): Promise<Recipient[]> {
    const key = await this.getOrCreateDeviceKey();
    return [
      { kind: 'device', key },
      ...this.deps.trustedKeys.publicKeys().map((publicKey): Recipient => ({ kind: 'recovery', publicKey })),
    ];
  }

  /** What opens files on this device. */
  async identities(): Promise<Identity[]> {
    return [{ kind: 'device', key: await this.getDeviceKey() }];
  }

  /**
   * Puts a restored device key into the keychain (restore-device). Refuses to replace a different key that
   * already exists unless `replace`, since files written under that key would no longer open here.
   */
  async install(key: Uint8Array, options: { replace?: boolean } = {}): Promise<string> {
    const { sodium, keyStore, settings } = this.deps;
    const id = formatKeyId(deviceKeyId(sodium, key));
    const current = await keyStore.get(DEVICE_KEY_ACCOUNT);
    if (current) {
      const currentId = current.length === KEY_BYTES ? formatKeyId(deviceKeyId(sodium, current)) : 'damaged';
      sodium.zero(current);
      if (currentId !== id && !options.replace) {
        throw new CofferError(
          'DEVICE_KEY_EXISTS',
          `This account already has device key ${currentId}; restoring ${id} would replace it`,
          'Give the old files to this device with `coffer rekey --key FILE` instead, or pass --replace if no file here uses the current key.',
        );
      }
    }
    await keyStore.set(DEVICE_KEY_ACCOUNT, key);
    await this.readBack(id);
    settings.update((s) => ({ ...s, deviceKeyId: id }));
    this.close();
    this.cached = key.slice();
    return id;
  }

  /** Zeroes the cached key. */
  close(): void {
    if (this.cached) this.deps.sodium.zero(this.cached);
    this.cached = null;
  }

  /** A copy each time: a caller that zeroes the keys it was given must never zero the cache. */
  private async load(create: boolean): Promise<Uint8Array> {
    return (await this.loadCached(create)).slice();
  }

  private async loadCached(create: boolean): Promise<Uint8Array> {
    if (this.cached) return this.cached;
    const { sodium, keyStore, settings } = this.deps;
    const recorded = settings.read().deviceKeyId;
    const stored = await keyStore.get(DEVICE_KEY_ACCOUNT);
    if (stored) {
      if (stored.length !== KEY_BYTES) {
        throw new CofferError(
          'KEYCHAIN_ENTRY_DAMAGED',
          `The keychain entry "${DEVICE_KEY_ACCOUNT}" does not hold a ${KEY_BYTES}-byte key`,
          'Restore the device key with `coffer restore-device`; keep the damaged entry until then.',
        );
      }
      const id = formatKeyId(deviceKeyId(sodium, stored));
      if (recorded !== id) settings.update((s) => ({ ...s, deviceKeyId: id }));
      this.cached = stored;
      return stored;
    }
    if (recorded || !create) {
      throw new CofferError(
        'NO_DEVICE_KEY',
        recorded
          ? `The device key ${recorded} is missing from the OS keychain`
          : 'This account has no device key yet',
        recorded
          ? 'Ask the helpdesk to restore it: `coffer restore-device --code CODE ESCROW` (personal recovery code) or `coffer restore-device --key FILE ESCROW` (organization key).'
          : 'Run `coffer init` to create one, or `coffer restore-device` to bring back the key of a lost laptop.',
      );
    }
    const key = generateDeviceKey(sodium);
    const id = formatKeyId(deviceKeyId(sodium, key));
    await keyStore.set(DEVICE_KEY_ACCOUNT, key);
    // Read it back: a keychain that accepts a write but keeps nothing would lose every file.
    await this.readBack(id);
    settings.update((s) => ({ ...s, deviceKeyId: id }));
    this.cached = key;
    return key;
  }

  private async readBack(id: string): Promise<void> {
    const { sodium, keyStore } = this.deps;
    const back = await keyStore.get(DEVICE_KEY_ACCOUNT);
    const ok = back !== null && back.length === KEY_BYTES && formatKeyId(deviceKeyId(sodium, back)) === id;
    if (back) sodium.zero(back);
    if (!ok) {
      throw new CofferError(
        'KEYCHAIN_UNAVAILABLE',
        'The OS keychain did not keep the device key written to it',
        'Check that the keychain is unlocked and persistent (on Linux: the Secret Service, not the kernel keyring), then try again.',
      );
    }
  }
}
