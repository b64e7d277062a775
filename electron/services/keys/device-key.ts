/**
 * The device key: 32 random bytes per OS user account, kept only in the OS keychain (DESIGN.md "Keys",
 * FORMAT.md §2). Created on first use, and only then: once settings record a device key ID, a missing
 * keychain entry is NO_DEVICE_KEY, because files may exist that only that key opens.
 *
 * One writer per secret (DESIGN.md "Guarantees"): creation is single-flight inside a process and runs under
 * the user's `device-key` lock across processes, re-reading the keychain under the lock (create-if-absent),
 * so any number of first uses at once make exactly one key.
 *
 * Read-only keys: a restored key (restore-device) or a rotated-out one (rotate-device-key) is kept in its own
 * keychain account, `device-key-ro-<ID>`, and listed in settings. It opens files (identities) and never
 * writes them (recipients): "a restored key only reads". Nothing here ever deletes a key. Each key made
 * here also gets such a copy before it first writes (storeWriting), so a late keychain write can never take
 * away a key that files were written with; list() does not show the copy of the current key.
 */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError, isCofferError } from '../../../crypto/errors.js';
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
import { withUserLock } from './user-lock.js';

export const DEVICE_KEY_ACCOUNT = 'device-key';
/** The user lock (user-lock.ts) held while the device key set changes. */
export const DEVICE_KEY_LOCK = 'device-key';
/**
 * A first use waits this long for another process's creation: the holder only makes one key, but on a busy
 * machine each keychain call can take seconds, and failing someone's first use helps no one.
 */
const CREATE_LOCK_TIMEOUT_MS = 60_000;

/** The keychain account of a read-only device key. */
export function readOnlyAccount(keyId: string): string {
  return `${DEVICE_KEY_ACCOUNT}-ro-${keyId}`;
}

export interface DeviceKeyServiceDeps {
  sodium: SodiumBackend;
  keyStore: KeyStore;
  settings: SettingsStore;
  trustedKeys: TrustedRecoveryKeys;
  /** Where the cross-process lock lives (app data `locks`, shared by the app and every CLI run). */
  lockDir: string;
  lockTimeoutMs?: number;
}

/** `missing`: listed but not in the keychain; `damaged`: the entry is not the key its ID names. */
export type KeyState = 'ok' | 'missing' | 'damaged';

export interface DeviceKeyList {
  /** The key that writes; null when this account never had one. */
  current: { keyId: string; state: KeyState } | null;
  /** Keys that only read (restored or rotated out), oldest first. */
  readOnly: { keyId: string; state: KeyState }[];
}

export interface ReplaceResult {
  /** The key that wrote until now, kept read-only (null when the account had none in its keychain). */
  previousKeyId: string | null;
  /** Recorded in settings but missing from the keychain: files under it need a restore or the org key. */
  lostKeyId: string | null;
  deviceKeyId: string;
}

const idOf = (sodium: SodiumBackend, key: Uint8Array): string => formatKeyId(deviceKeyId(sodium, key));

function damaged(account: string): CofferError {
  return new CofferError(
    'KEYCHAIN_ENTRY_DAMAGED',
    `The keychain entry "${account}" does not hold a ${KEY_BYTES}-byte key`,
    'Restore the device key with `coffer restore-device`; keep the damaged entry until then.',
  );
}

export class DeviceKeyService {
  /** Cached for the life of the service (one CLI run, one app session); zeroed by close(). */
  private cached: { key: Uint8Array; id: string } | null = null;
  private readOnlyCache: Map<string, Uint8Array> | null = null;
  /** The settings index `readOnlyCache` was loaded from. */
  private readOnlyCacheOf = '';
  /** Single flight: concurrent first uses in this process share one creation. */
  private creating: Promise<Uint8Array> | null = null;

  constructor(private readonly deps: DeviceKeyServiceDeps) {}

  /** The device key, made and stored on first use. */
  async getOrCreateDeviceKey(): Promise<Uint8Array> {
    this.forgetIfChanged();
    return (await this.loadCached(true)).slice();
  }

  /** The device key; NO_DEVICE_KEY when there is none. */
  async getDeviceKey(): Promise<Uint8Array> {
    this.forgetIfChanged();
    return (await this.loadCached(false)).slice();
  }

  async deviceKeyId(): Promise<string> {
    this.forgetIfChanged();
    return idOf(this.deps.sodium, await this.loadCached(true));
  }

  /**
   * Runs `fn` with the key that writes (made first if there is none), read from the keychain under the
   * device key lock, so no rotation or restore in another process replaces it meanwhile: an escrow record
   * made for a key that was rotated out while its code was derived would replace the rotation's record,
   * and the key that writes would have no code (R5 review). `fn` must not keep the key.
   */
  async withCurrentKey<T>(fn: (key: Uint8Array) => Promise<T>): Promise<T> {
    this.forgetIfChanged();
    await this.loadCached(true);
    return this.locked(async () => {
      const key = await this.readCurrent();
      if (!key) throw this.noDeviceKey(this.recordedDeviceKeyId());
      try {
        return await fn(key);
      } finally {
        this.deps.sodium.zero(key);
      }
    }, CREATE_LOCK_TIMEOUT_MS);
  }

  /** The key ID recorded in settings, without touching the keychain. */
  recordedDeviceKeyId(): string | undefined {
    return this.deps.settings.read().deviceKeyId;
  }

  /** IDs of the read-only keys listed in settings, without touching the keychain. */
  readOnlyKeyIds(): string[] {
    return this.deps.settings.read().readOnlyDeviceKeyIds;
  }

  /**
   * Who new files are written for: the current device key only (never a read-only one), and each trusted
   * organization recovery key.
   */
  async recipients(): Promise<Recipient[]> {
    // Another process may have rotated the key since it was cached (settings record the new ID): write
    // for the new one. The old one stays readable, so even a write that raced the rotation opens.
    this.forgetIfChanged();
    const key = await this.getOrCreateDeviceKey();
    return [
      { kind: 'device', key },
      ...this.deps.trustedKeys.publicKeys().map((publicKey): Recipient => ({ kind: 'recovery', publicKey })),
    ];
  }

  /** What opens files on this device: the current key, then each read-only key that is in the keychain. */
  async identities(): Promise<Identity[]> {
    // A rotation or restore in another process re-wraps files to keys this one never loaded (R5 review:
    // the running app then opened none of them until restarted).
    this.forgetIfChanged();
    const current = await this.getDeviceKey();
    const currentId = idOf(this.deps.sodium, current);
    const readOnly = [...(await this.loadReadOnly()).entries()]
      .filter(([id]) => id !== currentId)
      .map(([, key]): Identity => ({ kind: 'device', key: key.slice() }));
    return [{ kind: 'device', key: current }, ...readOnly];
  }

  /** The current key and the read-only keys, each with its state in the keychain (`coffer device-keys`). */
  async list(): Promise<DeviceKeyList> {
    const { keyStore, settings, sodium } = this.deps;
    const recorded = settings.read().deviceKeyId;
    let current: DeviceKeyList['current'] = null;
    try {
      const key = await this.readCurrent();
      if (key) {
        current = { keyId: idOf(sodium, key), state: 'ok' };
        sodium.zero(key);
      } else if (recorded) {
        current = { keyId: recorded, state: 'missing' };
      }
    } catch (error) {
      if (!isCofferError(error, 'KEYCHAIN_ENTRY_DAMAGED')) throw error;
      current = { keyId: recorded ?? 'unknown', state: 'damaged' };
    }
    const readOnly: DeviceKeyList['readOnly'] = [];
    for (const keyId of settings.read().readOnlyDeviceKeyIds) {
      if (keyId === current?.keyId) continue; // the copy of the key that writes (storeWriting)
      const key = await keyStore.get(readOnlyAccount(keyId));
      const state: KeyState =
        key === null ? 'missing' : key.length === KEY_BYTES && idOf(sodium, key) === keyId ? 'ok' : 'damaged';
      if (key) sodium.zero(key);
      readOnly.push({ keyId, state });
    }
    return { current, readOnly };
  }

  /**
   * Keeps `key` (a restored device key) as a read-only key: it will open files and never write one. The
   * caller keeps and zeroes `key`. Returns its ID and whether it is this account's current key already.
   */
  async keepReadOnly(key: Uint8Array): Promise<{ keyId: string; isCurrent: boolean }> {
    const { sodium } = this.deps;
    if (key.length !== KEY_BYTES) throw damaged('restored key');
    const keyId = idOf(sodium, key);
    return this.locked(async () => {
      const current = await this.readCurrent().catch((error: unknown) => {
        if (isCofferError(error, 'KEYCHAIN_ENTRY_DAMAGED')) return null; // not this key, whatever it is
        throw error;
      });
      const isCurrent = current !== null && idOf(sodium, current) === keyId;
      if (current) sodium.zero(current);
      if (!isCurrent) await this.storeReadOnly(keyId, key);
      return { keyId, isCurrent };
    });
  }

  /**
   * A fresh device key writes from now on; the current one (if the keychain has it) is kept read-only first,
   * so no file written under it stops opening. Each key is read back from the keychain before anything
   * depends on it, and no key is deleted: a keychain failing between steps leaves every file opening. A
   * damaged entry (not a 32-byte key) is moved aside to `device-key-damaged-<hash>`, never overwritten.
   */
  async replaceCurrent(): Promise<ReplaceResult> {
    const { sodium, settings } = this.deps;
    return this.locked(async () => {
      const raw = await this.deps.keyStore.get(DEVICE_KEY_ACCOUNT);
      if (raw && raw.length !== KEY_BYTES) {
        await this.keepDamaged(raw);
        sodium.zero(raw);
      }
      const current = raw?.length === KEY_BYTES ? raw : null;
      let previousKeyId: string | null = null;
      if (current) {
        previousKeyId = idOf(sodium, current);
        try {
          await this.storeReadOnly(previousKeyId, current);
        } finally {
          sodium.zero(current);
        }
      }
      const recorded = settings.read().deviceKeyId;
      const lostKeyId =
        recorded && recorded !== previousKeyId && !settings.read().readOnlyDeviceKeyIds.includes(recorded)
          ? recorded
          : null;
      const key = generateDeviceKey(sodium);
      const keyId = idOf(sodium, key);
      try {
        await this.storeWriting(key, keyId);
        settings.update((s) => ({ ...s, deviceKeyId: keyId }));
      } catch (error) {
        sodium.zero(key);
        throw error;
      }
      this.close();
      this.cached = { key, id: keyId };
      return { previousKeyId, lostKeyId, deviceKeyId: keyId };
    });
  }

  /** Zeroes the cached keys. */
  close(): void {
    const { sodium } = this.deps;
    if (this.cached) sodium.zero(this.cached.key);
    this.cached = null;
    for (const key of this.readOnlyCache?.values() ?? []) sodium.zero(key);
    this.readOnlyCache = null;
  }

  /** Drops cached keys that settings say are no longer the set (another process changed it). */
  private forgetIfChanged(): void {
    const settings = this.deps.settings.read();
    if (this.cached && settings.deviceKeyId !== this.cached.id) this.close();
    if (this.readOnlyCache && settings.readOnlyDeviceKeyIds.join(',') !== this.readOnlyCacheOf) {
      for (const key of this.readOnlyCache.values()) this.deps.sodium.zero(key);
      this.readOnlyCache = null;
    }
  }

  private locked<T>(fn: () => Promise<T>, timeoutMs = this.deps.lockTimeoutMs): Promise<T> {
    return withUserLock(this.deps.lockDir, DEVICE_KEY_LOCK, fn, timeoutMs);
  }

  private async loadCached(create: boolean): Promise<Uint8Array> {
    if (this.cached) return this.cached.key;
    if (create) {
      this.creating ??= this.loadOrCreate().finally(() => {
        this.creating = null;
      });
      return this.creating;
    }
    // A creation under way in this process: its key, rather than a NO_DEVICE_KEY read in between.
    if (this.creating) return this.creating;
    const stored = await this.readCurrent();
    if (stored) return this.settle(stored);
    throw this.noDeviceKey(this.recordedDeviceKeyId());
  }

  private async loadOrCreate(): Promise<Uint8Array> {
    const stored = await this.readCurrent();
    if (stored) return this.settle(stored);
    const made = await this.locked(async () => {
      // Settings record the ID once a key is made (under this lock): then another process made it while
      // this one waited. Decided from the file, so that many waiters do not each hold the lock for a
      // keychain call; the key itself is read outside the lock.
      if (this.recordedDeviceKeyId()) return null;
      // Nothing recorded: a v1 keychain-only key, or a crash between storing and recording.
      const again = await this.readCurrent();
      if (again) return this.adopt(again, true);
      const key = generateDeviceKey(this.deps.sodium);
      const id = idOf(this.deps.sodium, key);
      try {
        await this.storeWriting(key, id);
      } catch (error) {
        this.deps.sodium.zero(key);
        throw error;
      }
      return this.adopt(key, true);
    }, CREATE_LOCK_TIMEOUT_MS);
    if (made) return made;
    const current = await this.readCurrent();
    if (current) return this.settle(current);
    throw this.noDeviceKey(this.recordedDeviceKeyId());
  }

  /**
   * A key read outside the lock is used as it is only when settings name it. Otherwise the read may have
   * been answered after a rotation or `restore-device --replace` in another process (a slow keychain):
   * adopting it would make the rotated-out key write again and record it as current over the new one
   * (R5 review). The keychain is then read again under the lock, where no rotation is half done.
   */
  private async settle(key: Uint8Array): Promise<Uint8Array> {
    const { sodium } = this.deps;
    if (this.recordedDeviceKeyId() === idOf(sodium, key)) return this.adopt(key);
    sodium.zero(key);
    return this.locked(async () => {
      const again = await this.readCurrent();
      if (again) return this.adopt(again, true);
      throw this.noDeviceKey(this.recordedDeviceKeyId());
    }, CREATE_LOCK_TIMEOUT_MS);
  }

  /**
   * Caches `key` as the current key (the first one wins). `record` (only under the lock, where the keychain
   * read is current) writes its ID to settings: a v1 keychain-only key, or a crash before recording.
   */
  private adopt(key: Uint8Array, record = false): Uint8Array {
    const { sodium, settings } = this.deps;
    if (this.cached) {
      sodium.zero(key);
      return this.cached.key;
    }
    const id = idOf(sodium, key);
    if (record && settings.read().deviceKeyId !== id) settings.update((s) => ({ ...s, deviceKeyId: id }));
    this.cached = { key, id };
    return key;
  }

  private async readCurrent(): Promise<Uint8Array | null> {
    const stored = await this.deps.keyStore.get(DEVICE_KEY_ACCOUNT);
    if (stored && stored.length !== KEY_BYTES) {
      this.deps.sodium.zero(stored);
      throw damaged(DEVICE_KEY_ACCOUNT);
    }
    return stored;
  }

  private async loadReadOnly(): Promise<Map<string, Uint8Array>> {
    if (this.readOnlyCache) return this.readOnlyCache;
    const { sodium, keyStore } = this.deps;
    const keys = new Map<string, Uint8Array>();
    const ids = this.readOnlyKeyIds();
    for (const keyId of ids) {
      const key = await keyStore.get(readOnlyAccount(keyId));
      if (!key) continue; // listed before it was stored (a failed step): `coffer device-keys` shows it
      // The ID is recomputed from the key, never trusted from the index or the account name.
      if (key.length === KEY_BYTES && idOf(sodium, key) === keyId) keys.set(keyId, key);
      else sodium.zero(key);
    }
    this.readOnlyCache = keys;
    this.readOnlyCacheOf = ids.join(',');
    return keys;
  }

  /**
   * The index first, then the key: an ID listed without its key is harmless (shown as missing), while a key
   * stored without its ID listed would be invisible.
   */
  private async storeReadOnly(keyId: string, key: Uint8Array): Promise<void> {
    this.deps.settings.update((s) =>
      s.readOnlyDeviceKeyIds.includes(keyId)
        ? s
        : { ...s, readOnlyDeviceKeyIds: [...s.readOnlyDeviceKeyIds, keyId] },
    );
    await this.store(readOnlyAccount(keyId), key, keyId);
    // Loaded again, with its index, at the next identities().
    for (const cached of this.readOnlyCache?.values() ?? []) this.deps.sodium.zero(cached);
    this.readOnlyCache = null;
  }

  /**
   * Stores a new key that is about to write: first a copy under its own read-only account, then as
   * `device-key`. A write to `device-key` that timed out for another process (its helper killed, or the
   * process killed with -9, while the request was already in the Secret Service) can still land later and
   * replace this key there, after files were written with it (R5 review). The copy keeps every such file
   * opening; the late key then simply writes from there on (settle() records it).
   */
  private async storeWriting(key: Uint8Array, keyId: string): Promise<void> {
    await this.storeReadOnly(keyId, key);
    await this.store(DEVICE_KEY_ACCOUNT, key, keyId);
  }

  /** Keeps the bytes of a damaged entry under their own account: they may still mean something to someone. */
  private async keepDamaged(raw: Uint8Array): Promise<void> {
    const { sodium, keyStore } = this.deps;
    const account = `${DEVICE_KEY_ACCOUNT}-damaged-${Buffer.from(sodium.hash(16, raw)).toString('hex').slice(0, 16)}`;
    await keyStore.set(account, raw);
    const back = await keyStore.get(account);
    const kept = back !== null && sodium.equal(back, raw);
    if (back) sodium.zero(back);
    if (!kept) {
      throw new CofferError(
        'KEYCHAIN_UNAVAILABLE',
        `The OS keychain did not keep the damaged entry moved to "${account}"`,
        'Check that the keychain is unlocked and persistent, then try again; the entry "device-key" is unchanged.',
      );
    }
  }

  /** Writes and reads back: a keychain that accepts a write but keeps nothing would lose every file. */
  private async store(account: string, key: Uint8Array, id: string): Promise<void> {
    const { sodium, keyStore } = this.deps;
    await keyStore.set(account, key);
    const back = await keyStore.get(account);
    const ok = back !== null && back.length === KEY_BYTES && idOf(sodium, back) === id;
    if (back) sodium.zero(back);
    if (!ok) {
      throw new CofferError(
        'KEYCHAIN_UNAVAILABLE',
        'The OS keychain did not keep the device key written to it',
        'Check that the keychain is unlocked and persistent (on Linux: the Secret Service, not the kernel keyring), then try again.',
      );
    }
  }

  private noDeviceKey(recorded: string | undefined): CofferError {
    return new CofferError(
      'NO_DEVICE_KEY',
      recorded
        ? `The device key ${recorded} is missing from the OS keychain`
        : 'This account has no device key yet',
      recorded
        ? 'Ask the helpdesk to restore it: `coffer restore-device --code - ESCROW` (personal recovery code) or `coffer restore-device --key FILE ESCROW` (organization key).'
        : 'Run `coffer init` to create one, or `coffer restore-device` to bring back the key of a lost laptop.',
    );
  }
}
