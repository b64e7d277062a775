/**
 * The v1 header: parsing with limits checked before allocation, stanza wrapping, and the header MAC.
 * docs/FORMAT.md §3 and §4.
 */
import { cryptoError } from './errors.js';
import { formatKeyId, keyIdOf, KEY_BYTES, KEY_ID_BYTES, type Identity, type Recipient } from './keys.js';
import { STREAM_HEADERBYTES, type SodiumBackend } from './sodium.js';

export const MAGIC = Uint8Array.of(0x89, 0x43, 0x46, 0x52, 0x0d, 0x0a, 0x1a, 0x0a);
export const VERSION = 1;
/** magic, version, header_length (§3): what must be read before the header length is known. */
export const PREFIX_BYTES = 13;
const FIXED_BYTES = 18;
const STANZA_HEAD_BYTES = 1 + KEY_ID_BYTES + 2;
const MAC_BYTES = 32;
export const MIN_HEADER_BYTES = FIXED_BYTES + STANZA_HEAD_BYTES + STREAM_HEADERBYTES + MAC_BYTES;
export const MAX_HEADER_BYTES = 65_536;
export const MIN_CHUNK_SIZE = 256;
export const MAX_CHUNK_SIZE = 1_048_576;
export const MAX_STANZAS = 32;

/** §4.1: reserved header room, never a recipient. */
export const STANZA_PADDING = 0;
export const STANZA_DEVICE = 1;
export const STANZA_RECOVERY = 2;
export const STANZA_HEAD_SIZE = STANZA_HEAD_BYTES;
const NONCE_BYTES = 24;
const DEVICE_BODY_BYTES = NONCE_BYTES + KEY_BYTES + 16;
const RECOVERY_BODY_BYTES = KEY_BYTES + 48;
/** §4.1: the room a writer reserves, in recovery stanzas, and the size its header length is rounded to. */
export const ROOM_RECOVERY_STANZAS = 4;
export const HEADER_ROUNDING = 256;

const encoder = new TextEncoder();
const DEVICE_STANZA_AD = encoder.encode('coffer v1 device stanza');
const MAC_CONTEXT = encoder.encode('coffer v1 header mac');
const PAYLOAD_CONTEXT = encoder.encode('coffer v1 payload');

export interface Stanza {
  readonly type: number;
  readonly keyId: Uint8Array;
  readonly body: Uint8Array;
}

export interface Header {
  readonly chunkSize: number;
  readonly stanzas: readonly Stanza[];
  readonly streamHeader: Uint8Array;
  /** The whole header as it is on disk, MAC included. */
  readonly bytes: Uint8Array;
}

export type StanzaKind = 'device' | 'recovery' | 'padding' | 'unknown';

export function stanzaKind(type: number): StanzaKind {
  if (type === STANZA_DEVICE) return 'device';
  if (type === STANZA_RECOVERY) return 'recovery';
  return type === STANZA_PADDING ? 'padding' : 'unknown';
}

/** The header length of `stanzas` without any reserved room (§3). */
export function exactHeaderLength(stanzas: readonly Stanza[]): number {
  return (
    FIXED_BYTES +
    stanzas.reduce((sum, s) => sum + STANZA_HEAD_BYTES + s.body.length, 0) +
    STREAM_HEADERBYTES +
    MAC_BYTES
  );
}

/**
 * §4.1: the header length a writer uses for `stanzas`: room for a padding stanza holding
 * ROOM_RECOVERY_STANZAS more recovery stanzas, rounded up to a multiple of HEADER_ROUNDING. Null when
 * the room does not fit (too many stanzas): such a header is written without room.
 */
export function roomyHeaderLength(stanzas: readonly Stanza[]): number | null {
  const wanted =
    exactHeaderLength(stanzas) +
    STANZA_HEAD_BYTES +
    ROOM_RECOVERY_STANZAS * (STANZA_HEAD_BYTES + RECOVERY_BODY_BYTES);
  const length = Math.ceil(wanted / HEADER_ROUNDING) * HEADER_ROUNDING;
  return stanzas.length < MAX_STANZAS && length <= MAX_HEADER_BYTES ? length : null;
}

/**
 * §4.1: whether `stanzas` can be written in a header of exactly `length` bytes: exactly, or with a
 * padding stanza (at least its 11-byte head) filling the rest.
 */
export function fitsHeaderLength(stanzas: readonly Stanza[], length: number): boolean {
  const exact = exactHeaderLength(stanzas);
  if (exact === length) return true;
  return (
    stanzas.length < MAX_STANZAS &&
    exact + STANZA_HEAD_BYTES <= length &&
    length - exact - STANZA_HEAD_BYTES <= 0xffff
  );
}

/**
 * §3: checks magic, version and header_length from the first bytes of a file, before anything is
 * allocated. `prefix` may be shorter than PREFIX_BYTES when the file is.
 */
export function parsePrefix(prefix: Uint8Array): number {
  const magicSeen = prefix.subarray(0, MAGIC.length);
  if (!magicSeen.every((byte, i) => byte === MAGIC[i])) {
    throw cryptoError('BAD_MAGIC', 'not a Coffer file: the magic bytes do not match');
  }
  if (prefix.length < PREFIX_BYTES) throw cryptoError('TRUNCATED', 'the file ends inside its header');
  const version = prefix[8];
  if (version !== VERSION) {
    throw cryptoError(
      'UNSUPPORTED_VERSION',
      `format version ${version} is not supported (this Coffer reads v1)`,
    );
  }
  const length = view(prefix).getUint32(9, true);
  if (length > MAX_HEADER_BYTES) {
    throw cryptoError(
      'HEADER_TOO_LARGE',
      `the header claims ${length} bytes; at most ${MAX_HEADER_BYTES} are allowed`,
    );
  }
  if (length < MIN_HEADER_BYTES)
    throw cryptoError('MALFORMED_HEADER', `header length ${length} is too small`);
  return length;
}

/** §3, §4: the structure of a complete header; nothing is authenticated yet. */
export function parseHeader(bytes: Uint8Array): Header {
  const length = parsePrefix(bytes);
  if (bytes.length < length) throw cryptoError('TRUNCATED', 'the file ends inside its header');
  const data = view(bytes);
  const chunkSize = data.getUint32(13, true);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw cryptoError('MALFORMED_HEADER', `chunk size ${chunkSize} is out of range`);
  }
  const count = data.getUint8(17);
  if (count < 1 || count > MAX_STANZAS)
    throw cryptoError('MALFORMED_HEADER', `stanza count ${count} is out of range`);
  const stanzasEnd = length - STREAM_HEADERBYTES - MAC_BYTES;
  const stanzas: Stanza[] = [];
  let offset = FIXED_BYTES;
  for (let i = 0; i < count; i++) {
    if (offset + STANZA_HEAD_BYTES > stanzasEnd)
      throw cryptoError('MALFORMED_HEADER', 'stanzas overrun the header');
    const type = data.getUint8(offset);
    const keyId = bytes.slice(offset + 1, offset + 1 + KEY_ID_BYTES);
    const bodyLength = data.getUint16(offset + 1 + KEY_ID_BYTES, true);
    offset += STANZA_HEAD_BYTES;
    if (offset + bodyLength > stanzasEnd)
      throw cryptoError('MALFORMED_HEADER', 'a stanza overruns the header');
    const expected =
      type === STANZA_DEVICE ? DEVICE_BODY_BYTES : type === STANZA_RECOVERY ? RECOVERY_BODY_BYTES : null;
    if (expected !== null && bodyLength !== expected) {
      throw cryptoError('MALFORMED_HEADER', `a ${stanzaKind(type)} stanza must have a ${expected}-byte body`);
    }
    stanzas.push({ type, keyId, body: bytes.slice(offset, offset + bodyLength) });
    offset += bodyLength;
  }
  if (offset !== stanzasEnd)
    throw cryptoError('MALFORMED_HEADER', 'the stanzas do not fill the header exactly');
  return {
    chunkSize,
    stanzas,
    streamHeader: bytes.slice(stanzasEnd, stanzasEnd + STREAM_HEADERBYTES),
    bytes: bytes.slice(0, length),
  };
}

export function deriveKeys(
  sodium: SodiumBackend,
  fileKey: Uint8Array,
): { macKey: Uint8Array; payloadKey: Uint8Array } {
  return {
    macKey: sodium.hash(32, MAC_CONTEXT, fileKey),
    payloadKey: sodium.hash(32, PAYLOAD_CONTEXT, fileKey),
  };
}

function deviceStanzaAd(keyId: Uint8Array): Uint8Array {
  const ad = new Uint8Array(DEVICE_STANZA_AD.length + KEY_ID_BYTES);
  ad.set(DEVICE_STANZA_AD);
  ad.set(keyId, DEVICE_STANZA_AD.length);
  return ad;
}

/** §4: wraps the file key for one recipient. */
export function wrapFileKey(
  sodium: SodiumBackend,
  fileKey: Uint8Array,
  recipient: Recipient,
  /** The recipient's key ID when the caller has it already (a batch computes it once). */
  knownKeyId?: Uint8Array,
): Stanza {
  const keyId = knownKeyId ?? keyIdOf(sodium, recipient);
  if (recipient.kind === 'recovery') {
    return { type: STANZA_RECOVERY, keyId, body: sodium.boxSeal(fileKey, recipient.publicKey) };
  }
  const nonce = sodium.randomBytes(NONCE_BYTES);
  const sealed = sodium.aeadEncrypt(fileKey, deviceStanzaAd(keyId), nonce, recipient.key);
  const body = new Uint8Array(DEVICE_BODY_BYTES);
  body.set(nonce);
  body.set(sealed, NONCE_BYTES);
  return { type: STANZA_DEVICE, keyId, body };
}

function unwrapStanza(sodium: SodiumBackend, stanza: Stanza, identity: Identity): Uint8Array | null {
  if (identity.kind === 'device' && stanza.type === STANZA_DEVICE) {
    const nonce = stanza.body.subarray(0, NONCE_BYTES);
    return sodium.aeadDecrypt(
      stanza.body.subarray(NONCE_BYTES),
      deviceStanzaAd(stanza.keyId),
      nonce,
      identity.key,
    );
  }
  if (identity.kind === 'recovery' && stanza.type === STANZA_RECOVERY) {
    return sodium.boxSealOpen(stanza.body, identity.publicKey, identity.secretKey);
  }
  return null;
}

/**
 * §3, §3.1: serializes a header and appends its MAC. With `length`, a padding stanza (§4.1) is appended
 * so that the header is exactly that long (INVALID_ARGUMENT when the stanzas do not fit it).
 */
export function serializeHeader(
  sodium: SodiumBackend,
  chunkSize: number,
  stanzas: readonly Stanza[],
  streamHeader: Uint8Array,
  macKey: Uint8Array,
  length: number = exactHeaderLength(stanzas),
): Uint8Array {
  if (stanzas.length < 1 || stanzas.length > MAX_STANZAS) {
    throw cryptoError(
      'INVALID_ARGUMENT',
      `a file needs 1 to ${MAX_STANZAS} recipients, not ${stanzas.length}`,
    );
  }
  const exact = exactHeaderLength(stanzas);
  if (exact > MAX_HEADER_BYTES || length > MAX_HEADER_BYTES)
    throw cryptoError('INVALID_ARGUMENT', 'too many or too large stanzas');
  if (!fitsHeaderLength(stanzas, length))
    throw cryptoError('INVALID_ARGUMENT', `the stanzas do not fit a header of ${length} bytes`);
  const all: readonly Stanza[] =
    length === exact
      ? stanzas
      : [
          ...stanzas,
          {
            type: STANZA_PADDING,
            keyId: new Uint8Array(KEY_ID_BYTES),
            body: new Uint8Array(length - exact - STANZA_HEAD_BYTES),
          },
        ];
  const bytes = new Uint8Array(length);
  const data = view(bytes);
  bytes.set(MAGIC);
  data.setUint8(8, VERSION);
  data.setUint32(9, length, true);
  data.setUint32(13, chunkSize, true);
  data.setUint8(17, all.length);
  let offset = FIXED_BYTES;
  for (const stanza of all) {
    data.setUint8(offset, stanza.type);
    bytes.set(stanza.keyId, offset + 1);
    data.setUint16(offset + 1 + KEY_ID_BYTES, stanza.body.length, true);
    bytes.set(stanza.body, offset + STANZA_HEAD_BYTES);
    offset += STANZA_HEAD_BYTES + stanza.body.length;
  }
  bytes.set(streamHeader, offset);
  bytes.set(sodium.hash(MAC_BYTES, bytes.subarray(0, length - MAC_BYTES), macKey), length - MAC_BYTES);
  return bytes;
}

/** The stanzas that name a recipient (§4): padding and unknown types left out. */
export function recipientStanzas(header: Header): Stanza[] {
  return header.stanzas.filter((s) => s.type === STANZA_DEVICE || s.type === STANZA_RECOVERY);
}

/**
 * §3.1, §4: finds the file key with any identity whose key ID the header names, and returns it only once
 * the header MAC matched under it.
 */
export function unwrapFileKey(
  sodium: SodiumBackend,
  header: Header,
  identities: readonly Identity[],
  /** The identities' key IDs, in order, when the caller has them already (a batch computes them once). */
  knownKeyIds?: readonly Uint8Array[],
): Uint8Array {
  let unwrappedButBadMac = false;
  let damaged: string | null = null;
  for (const [index, identity] of identities.entries()) {
    const id = knownKeyIds?.[index] ?? keyIdOf(sodium, identity);
    for (const stanza of header.stanzas) {
      if (!sodium.equal(stanza.keyId, id)) continue;
      const fileKey = unwrapStanza(sodium, stanza, identity);
      if (!fileKey || fileKey.length !== KEY_BYTES) {
        // §4: the ID names this very key (a keyed hash of it, or the hash of its public key), so a stanza
        // that does not open under it was damaged or forged, not meant for some other key.
        if (stanza.type === STANZA_DEVICE || stanza.type === STANZA_RECOVERY)
          damaged ??= `${stanzaKind(stanza.type)} key ${formatKeyId(stanza.keyId)}`;
        continue;
      }
      const { macKey, payloadKey } = deriveKeys(sodium, fileKey);
      sodium.zero(payloadKey);
      const length = header.bytes.length;
      const mac = sodium.hash(MAC_BYTES, header.bytes.subarray(0, length - MAC_BYTES), macKey);
      sodium.zero(macKey);
      if (sodium.equal(mac, header.bytes.subarray(length - MAC_BYTES))) return fileKey;
      sodium.zero(fileKey);
      unwrappedButBadMac = true;
    }
  }
  if (unwrappedButBadMac)
    throw cryptoError('HEADER_AUTH_FAILED', 'the header MAC does not match: the header was altered');
  if (damaged !== null) {
    throw cryptoError(
      'HEADER_AUTH_FAILED',
      `the header is damaged: its stanza for ${damaged} (a key you hold) does not open under that key`,
    );
  }
  const wanted = header.stanzas
    .filter((s) => s.type === STANZA_DEVICE || s.type === STANZA_RECOVERY)
    .map((s) => `${stanzaKind(s.type)} key ${formatKeyId(s.keyId)}`);
  throw cryptoError(
    'NO_MATCHING_KEY',
    `none of the available keys opens this file; it is for: ${wanted.join(', ')}`,
  );
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
