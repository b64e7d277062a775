/**
 * The keychain key that authenticates the data audit's cache (cache.ts). The cache sits in app data, which
 * the user can edit: without a MAC, an entry edited to "no findings" for an unchanged file would make the
 * next scan (and the report built from it) state a clean file. With it, an edited cache is one that does
 * not verify, and costs a re-read of every file. Made once under the per-user lock, like the audit-log key.
 */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import type { KeyStore } from '../keys/key-store.js';
import { withUserLock } from '../keys/user-lock.js';
import { createKeychainKey, readKeychainKey } from '../state/state-files.js';

export const AUDIT_CACHE_KEY_ACCOUNT = 'audit-cache-key';
export const AUDIT_CACHE_KEY_BYTES = 32;
const HINT = 'Delete that keychain entry: the data audit makes a new one and reads every file again.';

export interface AuditCacheKeyDeps {
  readonly sodium: SodiumBackend;
  readonly keyStore: KeyStore;
  /** The per-user lock folder (lockDirIn(home)). */
  readonly lockDir: string;
}

export class AuditCacheKey {
  constructor(private readonly deps: AuditCacheKeyDeps) {}

  /** A fresh copy of the key (created at first use); the caller zeroes it. */
  async get(): Promise<Uint8Array> {
    const { sodium, keyStore, lockDir } = this.deps;
    const existing = await readKeychainKey(keyStore, AUDIT_CACHE_KEY_ACCOUNT, AUDIT_CACHE_KEY_BYTES, HINT);
    if (existing) return existing;
    return withUserLock(
      lockDir,
      AUDIT_CACHE_KEY_ACCOUNT,
      async () =>
        (await readKeychainKey(keyStore, AUDIT_CACHE_KEY_ACCOUNT, AUDIT_CACHE_KEY_BYTES, HINT)) ??
        createKeychainKey(sodium, keyStore, AUDIT_CACHE_KEY_ACCOUNT, AUDIT_CACHE_KEY_BYTES),
      60_000,
    );
  }
}
