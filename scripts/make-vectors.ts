/**
 * Writes the format test vectors: crypto/testdata/<case>.coffer and <case>.json (the keys, the expected
 * outcome, what the case checks). Run with `npm run vectors`. Existing cases are never rewritten (their
 * bytes pin the format: old files must keep decrypting); pass --force only while a case is being created.
 *
 * Damaged files are built from a valid one by byte surgery, and files no correct writer produces (wrong
 * tags, bad metadata) by the same header and stream code driven by hand, so that every rule of
 * docs/FORMAT.md §5.3 has a case.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import libsodium from 'libsodium-wrappers-sumo';
import { deriveKeys, MAGIC, serializeHeader, wrapFileKey, type Stanza } from '../crypto/header.js';
import { KEY_BYTES, type Identity, type Recipient } from '../crypto/keys.js';
import { encodeMetadata, METADATA_BYTES, type FileMetadata } from '../crypto/metadata.js';
import { DEFAULT_CHUNK_SIZE, EncryptSession } from '../crypto/session.js';
import { loadBackend, STREAM_ABYTES } from '../crypto/sodium.js';

const dir = join(import.meta.dirname, '..', 'crypto', 'testdata');
const force = process.argv.includes('--force');
const sodium = await loadBackend('wasm');

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const deviceKey = sodium.randomBytes(KEY_BYTES);
const otherDeviceKey = sodium.randomBytes(KEY_BYTES);
const org = sodium.boxKeypair();
const device: Identity = { kind: 'device', key: deviceKey };
const recovery: Identity = { kind: 'recovery', publicKey: org.publicKey, secretKey: org.secretKey };
const toRecovery: Recipient = { kind: 'recovery', publicKey: org.publicKey };

type Expect = { error: string } | { ok: true };

function identityJson(identity: Identity): Record<string, string> {
  return identity.kind === 'device'
    ? { kind: 'device', key: hex(identity.key) }
    : { kind: 'recovery', publicKey: hex(identity.publicKey), secretKey: hex(identity.secretKey) };
}

function meta(size: number, name = 'plain.txt'): FileMetadata {
  return { name, size, mode: 0o640, mtimeMs: 1_700_000_000_123 };
}

interface Built {
  bytes: Uint8Array;
  headerLength: number;
  /** Offsets of content messages 1..n in `bytes` with their lengths. */
  chunks: { offset: number; length: number }[];
}

/** A valid file, written by the real session code. */
function encrypt(plaintext: Uint8Array, recipients: Recipient[], chunkSize = 256, name = 'plain.txt'): Built {
  const session = new EncryptSession(sodium, {
    recipients,
    metadata: meta(plaintext.length, name),
    chunkSize,
  });
  const prologue = session.start().slice();
  const parts = [prologue];
  const headerLength = prologue.length - METADATA_BYTES - STREAM_ABYTES;
  const chunks: Built['chunks'] = [];
  let offset = prologue.length;
  let read = 0;
  while (!session.done) {
    const n = session.nextChunkLength();
    const c = session.push(plaintext.subarray(read, read + n)).slice();
    chunks.push({ offset, length: c.length });
    parts.push(c);
    offset += c.length;
    read += n;
  }
  return { bytes: new Uint8Array(Buffer.concat(parts)), headerLength, chunks };
}

/** A file driven by hand: any metadata bytes, any tags, extra stanzas. */
function handmade(options: {
  metadataBytes: Uint8Array;
  metadataFinal?: boolean;
  chunks: { data: Uint8Array; final: boolean }[];
  extraStanzas?: Stanza[];
  chunkSize?: number;
}): Uint8Array {
  const fileKey = sodium.randomBytes(KEY_BYTES);
  const { macKey, payloadKey } = deriveKeys(sodium, fileKey);
  const stream = sodium.streamPush(payloadKey, 1 << 20);
  const stanzas = [wrapFileKey(sodium, fileKey, device), ...(options.extraStanzas ?? [])];
  const header = serializeHeader(sodium, options.chunkSize ?? 256, stanzas, stream.header, macKey);
  const parts = [header, stream.pusher.push(options.metadataBytes, options.metadataFinal ?? false).slice()];
  for (const chunk of options.chunks) parts.push(stream.pusher.push(chunk.data, chunk.final).slice());
  return new Uint8Array(Buffer.concat(parts));
}

function write(
  name: string,
  description: string,
  bytes: Uint8Array,
  identities: Identity[],
  expect: Expect,
  plaintext?: Uint8Array,
  metadata?: FileMetadata,
): void {
  const base = join(dir, name);
  if (!force && existsSync(`${base}.coffer`)) return;
  const outcome =
    'ok' in expect
      ? { ok: true, sha256: sha256(plaintext ?? new Uint8Array()), metadata }
      : { error: expect.error };
  writeFileSync(`${base}.coffer`, bytes);
  writeFileSync(
    `${base}.json`,
    JSON.stringify({ description, identities: identities.map(identityJson), expect: outcome }, null, 2) +
      '\n',
  );
}

function flip(bytes: Uint8Array, offset: number, mask = 0x01): Uint8Array {
  const copy = bytes.slice();
  copy[offset] = (copy[offset] ?? 0) ^ mask;
  return copy;
}

function setU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

mkdirSync(dir, { recursive: true });

// Round trips at the chunk boundaries (chunk size 256).
for (const [name, size] of [
  ['empty', 0],
  ['one-byte', 1],
  ['chunk-minus-one', 255],
  ['chunk-exact', 256],
  ['chunk-plus-one', 257],
  ['many-chunks', 256 * 9 + 100],
] as const) {
  const plaintext = sodium.randomBytes(size);
  const built = encrypt(plaintext, [device, toRecovery]);
  write(
    `ok-${name}`,
    `${size} bytes round trip with 256-byte chunks`,
    built.bytes,
    [device],
    { ok: true },
    plaintext,
    meta(size),
  );
}

const plaintext = sodium.randomBytes(256 * 3 + 10);
const good = encrypt(plaintext, [device, toRecovery]);
const okMeta = meta(plaintext.length);
write(
  'ok-recovery-key-opens',
  'the organization recovery key alone opens a file',
  good.bytes,
  [recovery],
  { ok: true },
  plaintext,
  okMeta,
);
const recoveryOnly = encrypt(plaintext, [toRecovery]);
write(
  'ok-recovery-only',
  'a file with only a recovery stanza',
  recoveryOnly.bytes,
  [recovery],
  { ok: true },
  plaintext,
  okMeta,
);
const deviceOnly = encrypt(plaintext, [device]);
write(
  'ok-device-only',
  'a file with only a device stanza',
  deviceOnly.bytes,
  [device],
  { ok: true },
  plaintext,
  okMeta,
);
write(
  'no-matching-key-device-only',
  'a device-only file does not open with the recovery key',
  deviceOnly.bytes,
  [recovery],
  { error: 'NO_MATCHING_KEY' },
);
write(
  'no-matching-key-other-device',
  'a stanza only for another device key',
  good.bytes,
  [{ kind: 'device', key: otherDeviceKey }],
  { error: 'NO_MATCHING_KEY' },
);
const bigChunk = sodium.randomBytes(3000);
write(
  'ok-chunk-1mib',
  'the largest chunk size, 1 MiB (the default of the first drafts)',
  encrypt(bigChunk, [device], 1 << 20).bytes,
  [device],
  { ok: true },
  bigChunk,
  meta(3000),
);
const overOneChunk = sodium.randomBytes(DEFAULT_CHUNK_SIZE + 1000);
write(
  'ok-default-chunk-size',
  'the default chunk size (256 KiB), two chunks',
  encrypt(overOneChunk, [device], DEFAULT_CHUNK_SIZE).bytes,
  [device],
  { ok: true },
  overOneChunk,
  meta(overOneChunk.length),
);
const unicodeName = 'Angebot für Kunde — 客户.xlsx';
write(
  'ok-unicode-name',
  'a UTF-8 name is restored exactly',
  encrypt(plaintext, [device], 256, unicodeName).bytes,
  [device],
  { ok: true },
  plaintext,
  meta(plaintext.length, unicodeName),
);
const unknownStanza: Stanza = { type: 9, keyId: sodium.randomBytes(8), body: sodium.randomBytes(40) };
const withUnknown = handmade({
  metadataBytes: encodeMetadata(meta(3)),
  chunks: [{ data: Uint8Array.of(1, 2, 3), final: true }],
  extraStanzas: [unknownStanza],
});
write(
  'ok-unknown-stanza-type-ignored',
  'a stanza of an unknown type is kept under the MAC and skipped',
  withUnknown,
  [device],
  { ok: true },
  Uint8Array.of(1, 2, 3),
  meta(3),
);

// The header, field by field (FORMAT.md §3).
const h = good.headerLength;
write('bad-magic', 'the first byte differs from the magic', flip(good.bytes, 0), [device], {
  error: 'BAD_MAGIC',
});
write(
  'not-a-coffer-file',
  'a plain text file',
  new TextEncoder().encode('hello, this is not encrypted\n'),
  [device],
  { error: 'BAD_MAGIC' },
);
write('unknown-version', 'version 2', flip(good.bytes, 8, 0x03), [device], { error: 'UNSUPPORTED_VERSION' });
write(
  'header-length-absurd',
  'a header length of 4 GiB must be refused before allocating',
  setU32(good.bytes, 9, 0xffffffff),
  [device],
  { error: 'HEADER_TOO_LARGE' },
);
write('header-length-too-small', 'a header length below the minimum', setU32(good.bytes, 9, 20), [device], {
  error: 'MALFORMED_HEADER',
});
write(
  'header-length-off-by-one',
  'a header length one byte longer than its fields',
  setU32(good.bytes, 9, h + 1),
  [device],
  { error: 'MALFORMED_HEADER' },
);
write(
  'chunk-size-changed',
  'the chunk size changed within range (caught by the MAC)',
  setU32(good.bytes, 13, 512),
  [device],
  { error: 'HEADER_AUTH_FAILED' },
);
write('chunk-size-out-of-range', 'a chunk size over 1 MiB', setU32(good.bytes, 13, (1 << 20) + 1), [device], {
  error: 'MALFORMED_HEADER',
});
write('stanza-count-zero', 'a stanza count of 0', flip(good.bytes, 17, 0x02), [device], {
  error: 'MALFORMED_HEADER',
});
write('stanza-count-too-high', 'a stanza count of 3 with 2 stanzas', flip(good.bytes, 17, 0x01), [device], {
  error: 'MALFORMED_HEADER',
});
write(
  'stanza-type-changed',
  'the device stanza relabelled as a recovery stanza',
  flip(good.bytes, 18, 0x03),
  [device],
  { error: 'MALFORMED_HEADER' },
);
write('stanza-key-id-changed', 'the device stanza key ID altered', flip(good.bytes, 19), [device], {
  error: 'NO_MATCHING_KEY',
});
write('stanza-body-length-changed', 'the device stanza body length altered', flip(good.bytes, 27), [device], {
  error: 'MALFORMED_HEADER',
});
write(
  'stanza-body-changed',
  "a bit of the wrapped file key flipped: the stanza names this device's key but does not open under it, so the header is damaged (FORMAT.md §4), not a file for another key",
  flip(good.bytes, 40),
  [device],
  { error: 'HEADER_AUTH_FAILED' },
);
write(
  'recovery-stanza-changed',
  'a bit of the recovery stanza flipped: the device still opens the file, the MAC catches it',
  flip(good.bytes, 18 + 83 + 20),
  [device],
  { error: 'HEADER_AUTH_FAILED' },
);
write(
  'stream-header-changed',
  'a bit of the secretstream header flipped',
  flip(good.bytes, h - 40),
  [device],
  { error: 'HEADER_AUTH_FAILED' },
);
write('bad-header-mac', 'a bit of the header MAC flipped', flip(good.bytes, h - 1), [device], {
  error: 'HEADER_AUTH_FAILED',
});
write('truncated-in-prefix', 'the file ends within the first 13 bytes', good.bytes.slice(0, 10), [device], {
  error: 'TRUNCATED',
});
write('truncated-in-header', 'the file ends inside the header', good.bytes.slice(0, h - 5), [device], {
  error: 'TRUNCATED',
});
write('empty-file', 'a file of zero bytes', new Uint8Array(), [device], { error: 'TRUNCATED' });

// The payload (FORMAT.md §5).
type Chunk = Built['chunks'][0];
const [c1, c2, c3, c4] = good.chunks as [Chunk, Chunk, Chunk, Chunk];
const slice = (c: { offset: number; length: number }) => good.bytes.subarray(c.offset, c.offset + c.length);
write('metadata-bit-flipped', 'a bit of the metadata message flipped', flip(good.bytes, h + 100), [device], {
  error: 'AUTH_FAILED',
});
write('chunk-bit-flipped', 'a bit of the second chunk flipped', flip(good.bytes, c2.offset + 30), [device], {
  error: 'AUTH_FAILED',
});
write(
  'chunks-swapped',
  'chunks 1 and 2 swapped',
  Buffer.concat([good.bytes.subarray(0, c1.offset), slice(c2), slice(c1), good.bytes.subarray(c3.offset)]),
  [device],
  { error: 'AUTH_FAILED' },
);
write(
  'chunk-duplicated',
  'chunk 1 repeated',
  Buffer.concat([good.bytes.subarray(0, c2.offset), slice(c1), good.bytes.subarray(c2.offset)]),
  [device],
  { error: 'AUTH_FAILED' },
);
write(
  'chunk-dropped',
  'chunk 2 removed',
  Buffer.concat([good.bytes.subarray(0, c2.offset), good.bytes.subarray(c3.offset)]),
  [device],
  { error: 'AUTH_FAILED' },
);
const other = encrypt(sodium.randomBytes(plaintext.length), [device]);
const [, otherC2] = other.chunks as [Chunk, Chunk];
write(
  'chunk-from-another-file',
  'chunk 2 replaced by chunk 2 of another file',
  Buffer.concat([
    good.bytes.subarray(0, c2.offset),
    other.bytes.subarray(otherC2.offset, otherC2.offset + c2.length),
    good.bytes.subarray(c3.offset),
  ]),
  [device],
  { error: 'AUTH_FAILED' },
);
write('truncated-after-header', 'cut right after the header', good.bytes.slice(0, h), [device], {
  error: 'TRUNCATED',
});
write('truncated-in-metadata', 'cut inside the metadata message', good.bytes.slice(0, h + 500), [device], {
  error: 'TRUNCATED',
});
good.chunks.forEach((chunk, i) => {
  write(
    `truncated-at-chunk-${i + 1}-boundary`,
    `cut right before content chunk ${i + 1}`,
    good.bytes.slice(0, chunk.offset),
    [device],
    { error: 'TRUNCATED' },
  );
  write(
    `truncated-in-chunk-${i + 1}`,
    `cut in the middle of content chunk ${i + 1}`,
    good.bytes.slice(0, chunk.offset + Math.floor(chunk.length / 2)),
    [device],
    { error: 'TRUNCATED' },
  );
});
write('truncated-last-byte', 'the last byte removed', good.bytes.slice(0, -1), [device], {
  error: 'TRUNCATED',
});
write('trailing-byte', 'one byte appended', Buffer.concat([good.bytes, Uint8Array.of(0)]), [device], {
  error: 'TRAILING_DATA',
});
write(
  'trailing-copy-of-last-chunk',
  'the final chunk appended again',
  Buffer.concat([good.bytes, good.bytes.subarray(c4.offset)]),
  [device],
  { error: 'TRAILING_DATA' },
);

const fourKiB = encrypt(sodium.randomBytes(10_000), [device], 4096);
const [firstOfFour] = fourKiB.chunks as [Chunk];
write(
  'truncated-shorter-than-one-chunk',
  'a file of 4 KiB chunks cut to less than one chunk: the next message is longer than the whole file',
  fourKiB.bytes.slice(0, firstOfFour.offset + 100),
  [device],
  { error: 'TRUNCATED' },
);

const m512 = encodeMetadata(meta(512));
const a = sodium.randomBytes(256);
const b = sodium.randomBytes(256);
write(
  'no-final-chunk',
  'every chunk tagged MESSAGE: the stream claims to continue',
  handmade({
    metadataBytes: m512,
    chunks: [
      { data: a, final: false },
      { data: b, final: false },
    ],
  }),
  [device],
  { error: 'TRUNCATED' },
);
write(
  'two-final-chunks',
  'both chunks tagged FINAL',
  handmade({
    metadataBytes: m512,
    chunks: [
      { data: a, final: true },
      { data: b, final: true },
    ],
  }),
  [device],
  { error: 'UNEXPECTED_FINAL' },
);
write(
  'final-chunk-then-more',
  'a valid final chunk followed by another authentic chunk',
  handmade({
    metadataBytes: encodeMetadata(meta(256)),
    chunks: [
      { data: a, final: true },
      { data: b, final: true },
    ],
  }),
  [device],
  { error: 'TRAILING_DATA' },
);
write(
  'metadata-tagged-final',
  'the metadata message tagged FINAL',
  handmade({ metadataBytes: m512, metadataFinal: true, chunks: [] }),
  [device],
  { error: 'UNEXPECTED_FINAL' },
);
const badName = encodeMetadata(meta(1, 'x'));
badName.set(new TextEncoder().encode('/'), 23);
write(
  'metadata-name-with-slash',
  'authentic metadata whose name is a path',
  handmade({ metadataBytes: badName, chunks: [{ data: Uint8Array.of(7), final: true }] }),
  [device],
  { error: 'MALFORMED_METADATA' },
);

// Reserved header room (FORMAT.md §4.1).
const roomy = encrypt(plaintext, [device, toRecovery]);
write(
  'ok-padding-stanza',
  'a header with reserved room: a padding stanza (type 0) fills it to a multiple of 256 bytes',
  roomy.bytes,
  [device],
  { ok: true },
  plaintext,
  okMeta,
);
const nonZeroPadding: Stanza = { type: 0, keyId: new Uint8Array(8), body: sodium.randomBytes(300) };
write(
  'ok-padding-nonzero',
  'a padding stanza whose body is not zero: ignored (the MAC vouches for it)',
  handmade({
    metadataBytes: encodeMetadata(meta(3)),
    chunks: [{ data: Uint8Array.of(1, 2, 3), final: true }],
    extraStanzas: [nonZeroPadding],
  }),
  [device],
  { ok: true },
  Uint8Array.of(1, 2, 3),
  meta(3),
);

// Files shorter than the 13-byte prefix (FORMAT.md §3).
write('short-magic-prefix', 'the first 5 bytes of the magic, nothing more', MAGIC.slice(0, 5), [device], {
  error: 'TRUNCATED',
});
write(
  'short-not-magic',
  'a 3-byte file that is not the start of the magic',
  Uint8Array.of(0x61, 0x62, 0x63),
  [device],
  {
    error: 'BAD_MAGIC',
  },
);

// Metadata where §5.1 was silent.
function metadataWith(edit: (bytes: Uint8Array, data: DataView) => void): Uint8Array {
  const bytes = encodeMetadata(meta(1, 'x'));
  edit(bytes, new DataView(bytes.buffer));
  return handmade({ metadataBytes: bytes, chunks: [{ data: Uint8Array.of(7), final: true }] });
}
write(
  'metadata-mtime-nan',
  'authentic metadata whose mtime is NaN',
  metadataWith((_b, d) => {
    d.setFloat64(13, NaN, true);
  }),
  [device],
  { error: 'MALFORMED_METADATA' },
);
write(
  'metadata-mtime-infinite',
  'authentic metadata whose mtime is +Infinity',
  metadataWith((_b, d) => {
    d.setFloat64(13, Infinity, true);
  }),
  [device],
  { error: 'MALFORMED_METADATA' },
);
write(
  'metadata-mode-too-large',
  'authentic metadata whose mode has a bit above 0o7777',
  metadataWith((_b, d) => {
    d.setUint32(1, 0o10644, true);
  }),
  [device],
  { error: 'MALFORMED_METADATA' },
);
write(
  'metadata-padding-not-zero',
  'authentic metadata with a non-zero byte in its padding',
  metadataWith((b) => {
    b[1000] = 1;
  }),
  [device],
  { error: 'MALFORMED_METADATA' },
);

// Stream tags other than MESSAGE and FINAL (FORMAT.md §5.3): written with libsodium directly.
await libsodium.ready;
function tagged(tags: number[], chunk = 256): { bytes: Uint8Array; plaintext: Uint8Array } {
  const fileKey = sodium.randomBytes(KEY_BYTES);
  const { macKey, payloadKey } = deriveKeys(sodium, fileKey);
  const { state, header: streamHeader } =
    libsodium.crypto_secretstream_xchacha20poly1305_init_push(payloadKey);
  const header = serializeHeader(sodium, chunk, [wrapFileKey(sodium, fileKey, device)], streamHeader, macKey);
  const plain = sodium.randomBytes(chunk * tags.length);
  const push = (m: Uint8Array, tag: number) =>
    libsodium.crypto_secretstream_xchacha20poly1305_push(state, m, null, tag);
  const parts = [header, push(encodeMetadata(meta(plain.length)), 0)];
  tags.forEach((tag, i) => parts.push(push(plain.subarray(i * chunk, (i + 1) * chunk), tag)));
  return { bytes: new Uint8Array(Buffer.concat(parts)), plaintext: plain };
}
const PUSH = libsodium.crypto_secretstream_xchacha20poly1305_TAG_PUSH;
const REKEY = libsodium.crypto_secretstream_xchacha20poly1305_TAG_REKEY;
const FINAL = libsodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
const withPush = tagged([PUSH, FINAL]);
write(
  'ok-chunk-tagged-push',
  'a chunk before the last tagged PUSH: accepted as a message',
  withPush.bytes,
  [device],
  { ok: true },
  withPush.plaintext,
  meta(withPush.plaintext.length),
);
const withRekey = tagged([REKEY, 0, FINAL]);
write(
  'ok-chunk-tagged-rekey',
  'a chunk before the last tagged REKEY (the writer rekeyed): accepted',
  withRekey.bytes,
  [device],
  { ok: true },
  withRekey.plaintext,
  meta(withRekey.plaintext.length),
);
write('last-chunk-tagged-push', 'the last chunk tagged PUSH, not FINAL', tagged([0, PUSH]).bytes, [device], {
  error: 'TRUNCATED',
});

console.log(`vectors in ${dir}`);

// ---------------------------------------------------------------------------------------------------
// FORMAT.md §11 key formats: crypto/testdata/keys/<case>.json, one case per file, each built by hand from
// the spec text (not by the code under test), run by crypto/key-vectors.test.ts.
const keysDir = join(dir, 'keys');
mkdirSync(keysDir, { recursive: true });
const enc = new TextEncoder();
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const le32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

function writeKeyCase(
  name: string,
  format: string,
  description: string,
  input: object,
  expect: object,
): void {
  const path = join(keysDir, `${name}.json`);
  if (!force && existsSync(path)) return;
  writeFileSync(path, JSON.stringify({ format, description, input, expect }, null, 2) + '\n');
}

// §11.1 key file.
const KEY_MAGIC = Uint8Array.of(0x89, 0x43, 0x46, 0x4b, 0x0d, 0x0a, 0x1a, 0x0a);
const OPS = 1;
const MEM = 8192;
function keyFile(
  options: {
    passphrase?: string;
    adLength?: number;
    secretKey?: Uint8Array;
    ops?: number;
    mem?: number;
  } = {},
): Uint8Array {
  const ops = options.ops ?? OPS;
  const mem = options.mem ?? MEM;
  const salt = sodium.randomBytes(16);
  const nonce = sodium.randomBytes(24);
  const prefix = cat(KEY_MAGIC, Uint8Array.of(1), le32(ops), le32(mem), salt, org.publicKey); // 65 bytes
  const wrapKey = libsodium.crypto_pwhash(
    32,
    enc.encode(options.passphrase ?? 'correct horse battery staple'),
    salt,
    OPS,
    MEM,
    libsodium.crypto_pwhash_ALG_ARGON2ID13,
  );
  const ad = cat(prefix, nonce).subarray(0, options.adLength ?? 65);
  const sealed = libsodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    options.secretKey ?? org.secretKey,
    ad,
    null,
    nonce,
    wrapKey,
  );
  return cat(prefix, nonce, sealed);
}
const passphrase = 'correct horse battery staple';
const goodKeyFile = keyFile();
const keyOk = { publicKey: hex(org.publicKey), secretKey: hex(org.secretKey) };
const keyCase = (name: string, description: string, bytes: Uint8Array, expect: object, pass = passphrase) => {
  writeKeyCase(name, 'key-file', description, { fileHex: hex(bytes), passphrase: pass }, expect);
};
keyCase(
  'keyfile-ok',
  'a key file sealed with AD = bytes 0..64 (65 bytes, before the nonce)',
  goodKeyFile,
  keyOk,
);
keyCase('keyfile-wrong-passphrase', 'another passphrase', goodKeyFile, { error: 'BAD_PASSPHRASE' }, 'wrong');
keyCase('keyfile-pk-changed', 'a bit of the public key flipped: covered by the AD', flip(goodKeyFile, 40), {
  error: 'BAD_PASSPHRASE',
});
keyCase('keyfile-salt-changed', 'a bit of the salt flipped', flip(goodKeyFile, 20), {
  error: 'BAD_PASSPHRASE',
});
keyCase('keyfile-nonce-changed', 'a bit of the nonce flipped', flip(goodKeyFile, 70), {
  error: 'BAD_PASSPHRASE',
});
keyCase(
  'keyfile-ad-0-88',
  'sealed with AD = bytes 0..88 (nonce included), as the old text of §11.1 said: refused',
  keyFile({ adLength: 89 }),
  { error: 'BAD_PASSPHRASE' },
);
keyCase('keyfile-bad-magic', 'the magic of a .coffer file', flip(goodKeyFile, 3, 0x19), {
  error: 'BAD_KEY_FILE',
});
keyCase('keyfile-bad-version', 'version 2', flip(goodKeyFile, 8, 0x03), { error: 'BAD_KEY_FILE' });
keyCase(
  'keyfile-opslimit-zero',
  'opslimit 0',
  cat(goodKeyFile.subarray(0, 9), le32(0), goodKeyFile.subarray(13)),
  {
    error: 'BAD_KEY_FILE',
  },
);
keyCase(
  'keyfile-opslimit-17',
  'opslimit 17',
  cat(goodKeyFile.subarray(0, 9), le32(17), goodKeyFile.subarray(13)),
  {
    error: 'BAD_KEY_FILE',
  },
);
keyCase(
  'keyfile-memlimit-too-large',
  'memlimit 1 GiB + 1: refused before any memory is allocated',
  cat(goodKeyFile.subarray(0, 13), le32(2 ** 30 + 1), goodKeyFile.subarray(17)),
  { error: 'BAD_KEY_FILE' },
);
keyCase(
  'keyfile-memlimit-too-small',
  'memlimit 8191',
  cat(goodKeyFile.subarray(0, 13), le32(8191), goodKeyFile.subarray(17)),
  {
    error: 'BAD_KEY_FILE',
  },
);
keyCase('keyfile-short', '136 bytes', goodKeyFile.subarray(0, 136), { error: 'BAD_KEY_FILE' });
keyCase('keyfile-long', '138 bytes', cat(goodKeyFile, Uint8Array.of(0)), { error: 'BAD_KEY_FILE' });
keyCase('keyfile-empty', 'an empty file', new Uint8Array(), { error: 'BAD_KEY_FILE' });
keyCase(
  'keyfile-secret-not-of-public',
  'an authentic file whose secret key is not the one of its public key',
  keyFile({ secretKey: sodium.boxKeypair().secretKey }),
  { error: 'BAD_KEY_FILE' },
);

// §11.2 public key line.
const checksum = sodium
  .hash(32, cat(enc.encode('coffer v1 recovery public key checksum'), org.publicKey))
  .slice(0, 4);
const line = `coffer-recovery-1:${b64u(cat(org.publicKey, checksum))}`;
const pkCase = (name: string, description: string, text: string, expect: object) => {
  writeKeyCase(name, 'public-key', description, { text }, expect);
};
pkCase('pubkey-ok', 'a public key line', line, { publicKey: hex(org.publicKey) });
pkCase('pubkey-ok-whitespace', 'surrounding whitespace and a newline are ignored', `  ${line}\r\n`, {
  publicKey: hex(org.publicKey),
});
pkCase('pubkey-wrong-prefix', 'another prefix', line.replace('-1:', '-2:'), { error: 'BAD_PUBLIC_KEY' });
pkCase('pubkey-short', '47 characters after the prefix', line.slice(0, -1), { error: 'BAD_PUBLIC_KEY' });
pkCase('pubkey-long', '49 characters after the prefix', `${line}A`, { error: 'BAD_PUBLIC_KEY' });
pkCase(
  'pubkey-bad-checksum',
  'one character of the key changed',
  `coffer-recovery-1:${b64u(cat(flip(org.publicKey, 5), checksum))}`,
  { error: 'BAD_PUBLIC_KEY' },
);
pkCase('pubkey-not-base64url', "a '+' (standard base64) in the text", `${line.slice(0, -1)}+`, {
  error: 'BAD_PUBLIC_KEY',
});

// §11.3 recovery code.
function codeText(code: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++)
    groups.push(String(11 * ((code[2 * i] ?? 0) + 256 * (code[2 * i + 1] ?? 0))).padStart(6, '0'));
  return groups.join('-');
}
const codeBytes = sodium.randomBytes(16);
const codeKeyId = sodium.hash(32, enc.encode('coffer v1 recovery code id'), codeBytes).slice(0, 8);
const codeExpect = { code: hex(codeBytes), keyId: hex(codeKeyId), formatted: codeText(codeBytes) };
const codeCase = (name: string, description: string, text: string, expect: object) => {
  writeKeyCase(name, 'recovery-code', description, { text }, expect);
};
codeCase('code-ok', 'a code as it is shown', codeText(codeBytes), codeExpect);
codeCase(
  'code-ok-spaces',
  'spaces instead of dashes, and none',
  codeText(codeBytes).replace(/-/g, ' ').replace(' ', ''),
  codeExpect,
);
codeCase('code-all-zero', 'the all-zero code', codeText(new Uint8Array(16)), {
  code: hex(new Uint8Array(16)),
  keyId: hex(sodium.hash(32, enc.encode('coffer v1 recovery code id'), new Uint8Array(16)).slice(0, 8)),
  formatted: codeText(new Uint8Array(16)),
});
codeCase('code-47-digits', 'a digit missing', codeText(codeBytes).slice(0, -1), {
  error: 'BAD_RECOVERY_CODE',
  messageIncludes: '47',
});
const mistyped = codeText(codeBytes).split('-');
mistyped[2] = String((Number(mistyped[2]) + 1) % 1_000_000).padStart(6, '0');
codeCase('code-group-3-mistyped', 'group 3 is not a multiple of 11', mistyped.join('-'), {
  error: 'BAD_RECOVERY_CODE',
  messageIncludes: 'Group 3',
});
codeCase(
  'code-group-over-65535',
  'group 1 is 11 · 65 536: a multiple of 11 but too large',
  ['720896', ...codeText(codeBytes).split('-').slice(1)].join('-'),
  {
    error: 'BAD_RECOVERY_CODE',
    messageIncludes: 'Group 1',
  },
);
codeCase('code-letters', 'a letter in the code', `${codeText(codeBytes).slice(0, -1)}O`, {
  error: 'BAD_RECOVERY_CODE',
});

// §11.4 escrow record.
const escrowDeviceKey = sodium.randomBytes(32);
const deviceId = sodium.hash(32, enc.encode('coffer v1 device key id'), escrowDeviceKey).slice(0, 8);
const codeWrapKey = sodium.hash(32, enc.encode('coffer v1 recovery code wrap'), codeBytes);
const escrowNonce = sodium.randomBytes(24);
const wrappedD = sodium.aeadEncrypt(
  escrowDeviceKey,
  cat(enc.encode('coffer v1 escrow'), deviceId, codeKeyId),
  escrowNonce,
  codeWrapKey,
);
const dashed = (id: Uint8Array) => hex(id).match(/.{4}/g)?.join('-') ?? '';
const orgId = sodium.hash(32, cat(enc.encode('coffer v1 recovery key id'), org.publicKey)).slice(0, 8);
const record = {
  type: 'coffer-escrow',
  version: 1,
  deviceKeyId: dashed(deviceId),
  createdAt: '2026-01-31T12:00:00.000Z',
  code: { keyId: dashed(codeKeyId), nonce: b64u(escrowNonce), wrapped: b64u(wrappedD) },
  recovery: [{ keyId: dashed(orgId), sealed: b64u(sodium.boxSeal(escrowDeviceKey, org.publicKey)) }],
};
const recordText = JSON.stringify(record, null, 2);
const escrowOk = { deviceKey: hex(escrowDeviceKey) };
const withCode = (text: string, codeIn: string) => ({ record: text, code: codeIn });
const withOrg = (text: string, pair: { publicKey: Uint8Array; secretKey: Uint8Array }) => ({
  record: text,
  recoveryPublicKey: hex(pair.publicKey),
  recoverySecretKey: hex(pair.secretKey),
});
const escrowCase = (name: string, description: string, input: object, expect: object) => {
  writeKeyCase(name, 'escrow', description, input, expect);
};
escrowCase(
  'escrow-ok-code',
  'the record opens with the personal code',
  withCode(recordText, codeText(codeBytes)),
  escrowOk,
);
escrowCase(
  'escrow-ok-recovery-key',
  'the record opens with the org recovery key',
  withOrg(recordText, org),
  escrowOk,
);
escrowCase(
  'escrow-wrong-code',
  'another valid code',
  withCode(recordText, codeText(sodium.randomBytes(16))),
  {
    error: 'WRONG_RECOVERY_CODE',
  },
);
escrowCase(
  'escrow-wrapped-changed',
  'a bit of code.wrapped flipped',
  withCode(
    JSON.stringify({ ...record, code: { ...record.code, wrapped: b64u(flip(wrappedD, 3)) } }),
    codeText(codeBytes),
  ),
  { error: 'WRONG_RECOVERY_CODE' },
);
escrowCase(
  'escrow-device-id-changed-code',
  'deviceKeyId altered: it is in the AD, so the code does not open it',
  withCode(JSON.stringify({ ...record, deviceKeyId: dashed(flip(deviceId, 0)) }), codeText(codeBytes)),
  { error: 'WRONG_RECOVERY_CODE' },
);
escrowCase(
  'escrow-device-id-changed-recovery',
  'deviceKeyId altered: the sealed key opens but does not match the ID',
  withOrg(JSON.stringify({ ...record, deviceKeyId: dashed(flip(deviceId, 0)) }), org),
  { error: 'BAD_ESCROW' },
);
escrowCase(
  'escrow-other-recovery-key',
  'an org key the record is not sealed to',
  withOrg(recordText, sodium.boxKeypair()),
  {
    error: 'NO_MATCHING_KEY',
  },
);
escrowCase('escrow-not-json', 'not JSON', withCode('coffer-escrow v1', codeText(codeBytes)), {
  error: 'BAD_ESCROW',
});
escrowCase(
  'escrow-wrong-type',
  'another type',
  withCode(JSON.stringify({ ...record, type: 'coffer-escrow-2' }), codeText(codeBytes)),
  { error: 'BAD_ESCROW' },
);
escrowCase(
  'escrow-version-2',
  'version 2',
  withCode(JSON.stringify({ ...record, version: 2 }), codeText(codeBytes)),
  { error: 'BAD_ESCROW' },
);
console.log(`key vectors in ${keysDir}`);
