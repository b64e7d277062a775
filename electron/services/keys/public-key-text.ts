/** The recovery public key as one line of text with a checksum (FORMAT.md §11.2). */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError } from '../../../crypto/errors.js';
import { KEY_BYTES } from '../../../crypto/keys.js';

export const PUBLIC_KEY_PREFIX = 'coffer-recovery-1:';
const CHECKSUM_BYTES = 4;
const CHECKSUM_LABEL = new TextEncoder().encode('coffer v1 recovery public key checksum');

function checksum(sodium: SodiumBackend, publicKey: Uint8Array): Uint8Array {
  const message = new Uint8Array(CHECKSUM_LABEL.length + publicKey.length);
  message.set(CHECKSUM_LABEL);
  message.set(publicKey, CHECKSUM_LABEL.length);
  // §2.1: libsodium's smallest BLAKE2b output is 16 bytes, so hash to 32 and cut.
  return sodium.hash(32, message).slice(0, CHECKSUM_BYTES);
}

export function encodePublicKey(sodium: SodiumBackend, publicKey: Uint8Array): string {
  const body = new Uint8Array(KEY_BYTES + CHECKSUM_BYTES);
  body.set(publicKey);
  body.set(checksum(sodium, publicKey), KEY_BYTES);
  return PUBLIC_KEY_PREFIX + Buffer.from(body).toString('base64url');
}

export function parsePublicKey(sodium: SodiumBackend, text: string): Uint8Array {
  const line = text.trim();
  const bad = (why: string): CofferError =>
    new CofferError(
      'BAD_PUBLIC_KEY',
      `Not a Coffer recovery public key: ${why}`,
      `Copy the whole line again, from "${PUBLIC_KEY_PREFIX}" to its end, as \`coffer recovery keygen\` printed it.`,
    );
  if (!line.startsWith(PUBLIC_KEY_PREFIX)) throw bad(`it must start with "${PUBLIC_KEY_PREFIX}"`);
  const encoded = line.slice(PUBLIC_KEY_PREFIX.length);
  if (!/^[A-Za-z0-9_-]{48}$/.test(encoded)) throw bad('it must have 48 characters after the prefix');
  const body = new Uint8Array(Buffer.from(encoded, 'base64url'));
  const publicKey = body.slice(0, KEY_BYTES);
  if (!sodium.equal(checksum(sodium, publicKey), body.subarray(KEY_BYTES))) {
    throw bad('its checksum does not match (a character was mistyped or changed)');
  }
  return publicKey;
}
