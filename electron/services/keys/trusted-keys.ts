/**
 * The organization recovery public keys this user trusts, kept in the user's settings. Every file written
 * carries a recovery stanza for each (DESIGN.md "Keys"). IT policy will add machine-wide keys later.
 */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError } from '../../../crypto/errors.js';
import { formatKeyId, parseKeyId, recoveryKeyId } from '../../../crypto/keys.js';
import type { SettingsStore, TrustedRecoveryKey } from '../settings.js';
import { encodePublicKey, parsePublicKey } from './public-key-text.js';

export class TrustedRecoveryKeys {
  constructor(
    private readonly sodium: SodiumBackend,
    private readonly settings: SettingsStore,
  ) {}

  list(): TrustedRecoveryKey[] {
    return this.settings.read().trustedRecoveryKeys;
  }

  /** The trusted public keys, each re-checked against its checksum (a hand-edited settings file). */
  publicKeys(): Uint8Array[] {
    return this.list().map((entry) => parsePublicKey(this.sodium, entry.publicKey));
  }

  /** Trusts a key given as its §11.2 text line; trusting one twice is a no-op that returns the entry. */
  trust(line: string, label?: string, now = new Date()): { entry: TrustedRecoveryKey; added: boolean } {
    const publicKey = parsePublicKey(this.sodium, line);
    const keyId = formatKeyId(recoveryKeyId(this.sodium, publicKey));
    const existing = this.list().find((entry) => entry.keyId === keyId);
    if (existing) return { entry: existing, added: false };
    const entry: TrustedRecoveryKey = {
      publicKey: encodePublicKey(this.sodium, publicKey),
      keyId,
      addedAt: now.toISOString(),
      ...(label ? { label } : {}),
    };
    this.settings.update((s) => ({ ...s, trustedRecoveryKeys: [...s.trustedRecoveryKeys, entry] }));
    return { entry, added: true };
  }

  untrust(keyIdText: string): TrustedRecoveryKey {
    const id = parseKeyId(keyIdText);
    if (!id) {
      throw new CofferError(
        'BAD_KEY_ID',
        `"${keyIdText}" is not a key ID`,
        'A key ID is 16 hex digits, e.g. 3f9a-12bc-0e77-a1d4; `coffer recovery list` shows them.',
      );
    }
    const keyId = formatKeyId(id);
    const existing = this.list().find((entry) => entry.keyId === keyId);
    if (!existing) {
      throw new CofferError(
        'NOT_TRUSTED',
        `Recovery key ${keyId} is not trusted here`,
        '`coffer recovery list` shows the trusted recovery keys.',
      );
    }
    this.settings.update((s) => ({
      ...s,
      trustedRecoveryKeys: s.trustedRecoveryKeys.filter((entry) => entry.keyId !== keyId),
    }));
    return existing;
  }
}
