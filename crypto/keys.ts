/**
 * Recipients (who a file is written for) and identities (what can open it), and their key IDs.
 * docs/FORMAT.md §2.
 */
import type { SodiumBackend } from './sodium.js';
import { cryptoError } from './errors.js';

export const KEY_BYTES = 32;
export const KEY_ID_BYTES = 8;

export type Recipient = { kind: 'device'; key: Uint8Array } | { kind: 'recovery'; publicKey: Uint8Array };

export type Identity =
  { kind: 'device'; key: Uint8Array } | { kind: 'recovery'; publicKey: Uint8Array; secretKey: Uint8Array };

const encoder = new TextEncoder();
const DEVICE_KEY_ID = encoder.encode('coffer v1 device key id');
const RECOVERY_KEY_ID = encoder.encode('coffer v1 recovery key id');

function checkLength(what: string, bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) throw cryptoError('INVALID_ARGUMENT', `${what} must be ${length} bytes`);
}

/**
 * FORMAT.md §2.1: a keyed hash, so the ID reveals nothing about the device key. Truncated from 32 bytes
 * because libsodium's minimum BLAKE2b output is 16 (sodium-native enforces it).
 */
export function deviceKeyId(sodium: SodiumBackend, key: Uint8Array): Uint8Array {
  checkLength('a device key', key, KEY_BYTES);
  return sodium.hash(32, DEVICE_KEY_ID, key).slice(0, KEY_ID_BYTES);
}

/** FORMAT.md §2.1. */
export function recoveryKeyId(sodium: SodiumBackend, publicKey: Uint8Array): Uint8Array {
  checkLength('a recovery public key', publicKey, KEY_BYTES);
  const message = new Uint8Array(RECOVERY_KEY_ID.length + KEY_BYTES);
  message.set(RECOVERY_KEY_ID);
  message.set(publicKey, RECOVERY_KEY_ID.length);
  return sodium.hash(32, message).slice(0, KEY_ID_BYTES);
}

export function keyIdOf(sodium: SodiumBackend, key: Recipient | Identity): Uint8Array {
  return key.kind === 'device' ? deviceKeyId(sodium, key.key) : recoveryKeyId(sodium, key.publicKey);
}

/** `3f9a-12bc-0e77-a1d4`: how people see a key ID (FORMAT.md §2.1). */
export function formatKeyId(id: Uint8Array): string {
  const hex = Buffer.from(id).toString('hex');
  return hex.match(/.{4}/g)?.join('-') ?? hex;
}

/** Accepts a displayed key ID with or without dashes. */
export function parseKeyId(text: string): Uint8Array | null {
  const hex = text.trim().toLowerCase().replace(/-/g, '');
  return /^[0-9a-f]{16}$/.test(hex) ? new Uint8Array(Buffer.from(hex, 'hex')) : null;
}

export function generateDeviceKey(sodium: SodiumBackend): Uint8Array {
  return sodium.randomBytes(KEY_BYTES);
}

export function generateRecoveryKeyPair(sodium: SodiumBackend): {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
} {
  return sodium.boxKeypair();
}
