/**
 * The per-account Ed25519 key that signs breach-readiness reports (docs/REPORT.md §3). Its 32-byte seed is a
 * keychain secret made once, under the per-user lock, like the audit-log key; it signs nothing else. Ed25519
 * and SHA-256 come from Node's standard library so that a report verifies on any machine.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { formatKeyId } from '../../../crypto/keys.js';
import type { KeyStore } from '../keys/key-store.js';
import { withUserLock } from '../keys/user-lock.js';
import { createKeychainKey, readKeychainKey } from '../state/state-files.js';

export const REPORT_KEY_ACCOUNT = 'report-signing-key';
const SEED_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

// DER wrappers of a raw Ed25519 key (RFC 8410): PKCS#8 for the seed, SubjectPublicKeyInfo for the public key.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const KEY_ID_LABEL = Buffer.from('coffer report signing key v1\0', 'ascii');

/** docs/REPORT.md §3: first 8 bytes of SHA-256(label || 0x00 || pk), shown as FORMAT.md §2.1 shows IDs. */
export function reportKeyId(publicKey: Uint8Array): string {
  const digest = createHash('sha256').update(KEY_ID_LABEL).update(publicKey).digest();
  return formatKeyId(digest.subarray(0, 8));
}

export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

export function verifySignature(message: Uint8Array, publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  return verify(null, message, publicKeyObject(publicKey), signature);
}

export interface Signer {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** Signs with a seed the caller holds (the tests' forger uses this with a key of its own). */
export function signWithSeed(seed: Uint8Array, message: Uint8Array): Signer {
  const der = Buffer.concat([PKCS8_PREFIX, seed]);
  try {
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    const publicKey = new Uint8Array(spki.subarray(spki.length - PUBLIC_KEY_BYTES));
    return {
      keyId: reportKeyId(publicKey),
      publicKey,
      signature: new Uint8Array(sign(null, message, privateKey)),
    };
  } finally {
    der.fill(0);
  }
}

export interface ReportSigningKeyDeps {
  sodium: SodiumBackend;
  keyStore: KeyStore;
  /** The per-user lock folder (lockDirIn(home)). */
  lockDir: string;
}

const KEY_HINT =
  'The report-signing key in the keychain is damaged: delete the keychain entry "report-signing-key"; the next report makes a new key, which IT will see as a changed signer.';

export class ReportSigningKey {
  constructor(private readonly deps: ReportSigningKeyDeps) {}

  /**
   * Lends a signing function to `fn` (the key made first when this account has none), reading the keychain
   * once however often `fn` signs; the seed is zeroed when `fn` is done.
   */
  async use<T>(fn: (sign: (message: Uint8Array) => Signer) => Promise<T>): Promise<T> {
    const seed = await this.seed();
    try {
      return await fn((message) => signWithSeed(seed, message));
    } finally {
      this.deps.sodium.zero(seed);
    }
  }

  private async seed(): Promise<Uint8Array> {
    const { keyStore, sodium, lockDir } = this.deps;
    const existing = await readKeychainKey(keyStore, REPORT_KEY_ACCOUNT, SEED_BYTES, KEY_HINT);
    if (existing) return existing;
    return withUserLock(
      lockDir,
      REPORT_KEY_ACCOUNT,
      async () =>
        (await readKeychainKey(keyStore, REPORT_KEY_ACCOUNT, SEED_BYTES, KEY_HINT)) ??
        createKeychainKey(sodium, keyStore, REPORT_KEY_ACCOUNT, SEED_BYTES),
      60_000,
    );
  }
}
