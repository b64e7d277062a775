/**
 * Synchronous, constant-memory encryption between file descriptors: the fast path. Synchronous I/O with
 * one reused buffer per direction is what reaches native libsodium speed (awaiting a FileHandle per chunk
 * halves it); callers keep their event loop free by running this in a worker thread.
 */
import { fstatSync, writeSync } from 'node:fs';
import { CofferError, cryptoError } from './errors.js';
import { formatKeyId, type Identity, type Recipient } from './keys.js';
import {
  deriveKeys,
  fitsHeaderLength,
  parseHeader,
  parsePrefix,
  PREFIX_BYTES,
  roomyHeaderLength,
  serializeHeader,
  stanzaKind,
  unwrapFileKey,
  wrapFileKey,
  type StanzaKind,
} from './header.js';
import { METADATA_BYTES, type FileMetadata } from './metadata.js';
import { readFully } from './read-fully.js';
import { DecryptSession, EncryptSession } from './session.js';
import { STREAM_ABYTES, type SodiumBackend } from './sodium.js';

export interface Progress {
  /** Called with the plaintext bytes processed so far. */
  readonly onProgress?: (bytesDone: number) => void;
  /** Checked between chunks; aborting throws CofferError('CANCELLED'). */
  readonly signal?: AbortSignal;
}

export interface EncryptFdOptions extends Progress {
  readonly recipients: readonly Recipient[];
  /** The original base name stored in the metadata (FORMAT.md §5.1). */
  readonly name: string;
  readonly chunkSize?: number;
}

/**
 * One read buffer per thread, grown to the largest need and reused: a fresh buffer per file leaves
 * garbage that inflates peak memory when thousands of small files go through. These functions are
 * synchronous, so a call never overlaps another on the same thread.
 */
let scratchBuffer = new Uint8Array(0);
function scratch(length: number): Uint8Array {
  if (scratchBuffer.length < length) scratchBuffer = new Uint8Array(length);
  return scratchBuffer.subarray(0, length);
}

function writeFully(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new CofferError('CANCELLED', 'the operation was cancelled', 'Nothing was changed.');
}

/**
 * Encrypts the regular file open at `inFd` (from its current position to its end) to `outFd`. The size,
 * mode and mtime recorded are the file's; if it changes while read, throws SOURCE_CHANGED.
 */
export function encryptFd(
  sodium: SodiumBackend,
  inFd: number,
  outFd: number,
  options: EncryptFdOptions,
): FileMetadata {
  const before = fstatSync(inFd);
  const metadata: FileMetadata = {
    name: options.name,
    size: before.size,
    mode: before.mode & 0o7777,
    mtimeMs: before.mtimeMs,
  };
  const session = new EncryptSession(sodium, {
    recipients: options.recipients,
    metadata,
    ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
  });
  writeFully(outFd, session.start());
  const buffer = scratch(Math.max(1, Math.min(session.chunkSize, metadata.size)));
  let done = 0;
  try {
    while (!session.done) {
      checkCancelled(options.signal);
      const length = session.nextChunkLength();
      if (readFully(inFd, buffer, length) !== length) {
        throw cryptoError('SOURCE_CHANGED', 'the file shrank while it was being encrypted');
      }
      writeFully(outFd, session.push(buffer.subarray(0, length)));
      done += length;
      options.onProgress?.(done);
    }
    const after = fstatSync(inFd);
    if (
      readFully(inFd, buffer, 1) !== 0 ||
      after.size !== before.size ||
      after.mtimeMs !== before.mtimeMs ||
      after.ctimeMs !== before.ctimeMs
    ) {
      throw cryptoError('SOURCE_CHANGED', 'the file changed while it was being encrypted');
    }
  } finally {
    sodium.zero(buffer);
  }
  return metadata;
}

/**
 * Fills `buffer` with up to `length` bytes and returns how many it read; fewer than `length` only at the
 * end of the input. The fd functions read a file; a caller may read something else (a file still being
 * written, say).
 */
export type ReadInto = (buffer: Uint8Array, length: number) => number;

const fdReader =
  (fd: number): ReadInto =>
  (buffer, length) =>
    readFully(fd, buffer, length);

/** Reads and parses a header, allocating only after the limits of §3 are checked. */
function readHeader(read: ReadInto): Uint8Array {
  const prefix = new Uint8Array(PREFIX_BYTES);
  const length = parsePrefix(prefix.subarray(0, read(prefix, PREFIX_BYTES)));
  const bytes = new Uint8Array(length);
  bytes.set(prefix);
  if (read(bytes.subarray(PREFIX_BYTES), length - PREFIX_BYTES) !== length - PREFIX_BYTES) {
    throw cryptoError('TRUNCATED', 'the file ends inside its header');
  }
  return bytes;
}

/** Reads and parses a header from the start of `fd`. */
export function readHeaderFd(fd: number): Uint8Array {
  return readHeader(fdReader(fd));
}

/**
 * Decrypts the file open at `inFd` into `outFd`, or only authenticates it when `outFd` is null. Returns
 * the metadata only once every rule of FORMAT.md §5.3 passed; on an error, whatever was written to `outFd`
 * must be discarded.
 */
export function decryptFd(
  sodium: SodiumBackend,
  inFd: number,
  outFd: number | null,
  identities: readonly Identity[],
  options: Progress = {},
): FileMetadata {
  const input = fstatSync(inFd);
  return decryptFrom(sodium, fdReader(inFd), outFd, identities, {
    ...options,
    ...(input.isFile() ? { sizeHint: input.size } : {}),
  });
}

/** decryptFd over any reader. `sizeHint` (the input's length, when known) keeps buffers small for small files. */
export function decryptFrom(
  sodium: SodiumBackend,
  read: ReadInto,
  outFd: number | null,
  identities: readonly Identity[],
  options: Progress & { readonly sizeHint?: number } = {},
): FileMetadata {
  const session = new DecryptSession(sodium, readHeader(read), identities);
  const longest = Math.min(session.header.chunkSize, options.sizeHint ?? Infinity);
  const buffer = scratch(Math.max(longest, METADATA_BYTES) + STREAM_ABYTES);
  let done = 0;
  for (let length = session.nextLength(); length > 0; length = session.nextLength()) {
    checkCancelled(options.signal);
    // The buffer fits the whole input when its size is known: a longer message means it was cut short.
    if (length > buffer.length || read(buffer, length) !== length) {
      throw cryptoError('TRUNCATED', 'the file was cut short');
    }
    if (outFd === null) {
      // Only proving it decrypts: every byte authenticated, no plaintext made (StreamPuller.check).
      const content = session.authenticate(buffer.subarray(0, length));
      if (content > 0) {
        done += content;
        options.onProgress?.(done);
      }
      continue;
    }
    const plain = session.pull(buffer.subarray(0, length));
    if (plain.length > 0) {
      writeFully(outFd, plain);
      sodium.zero(plain); // the backend reuses this buffer; leave no plaintext in it
      done += plain.length;
      options.onProgress?.(done);
    }
  }
  if (read(buffer, 1) !== 0) throw cryptoError('TRAILING_DATA', 'there are bytes after the final chunk');
  const metadata = session.metadata;
  if (!metadata) throw cryptoError('TRUNCATED', 'the file was cut short');
  return metadata;
}

export type RecipientKind = Exclude<StanzaKind, 'padding'>;

export interface HeaderInfo {
  readonly version: 1;
  readonly chunkSize: number;
  readonly headerLength: number;
  /** Recipient and unknown stanzas; padding (§4.1) is not a recipient and is counted in reservedBytes. */
  readonly stanzas: readonly { readonly kind: RecipientKind; readonly keyId: string }[];
  /** §4.1: header bytes held by padding stanzas, free for more stanzas without moving the payload. */
  readonly reservedBytes: number;
}

/** What a header says, without any key: which keys (by kind and ID) open the file. */
export function inspectFd(fd: number): HeaderInfo {
  return inspectHeader(readHeaderFd(fd));
}

/** inspectFd over header bytes already read (a caller reading asynchronously, electron/main/open-file.ts). */
export function inspectHeader(bytes: Uint8Array): HeaderInfo {
  const header = parseHeader(bytes);
  return {
    version: 1,
    chunkSize: header.chunkSize,
    headerLength: header.bytes.length,
    stanzas: header.stanzas.flatMap((s) => {
      const kind = stanzaKind(s.type);
      return kind === 'padding' ? [] : [{ kind, keyId: formatKeyId(s.keyId) }];
    }),
    reservedBytes: header.stanzas
      .filter((s) => stanzaKind(s.type) === 'padding')
      .reduce((sum, s) => sum + 11 + s.body.length, 0),
  };
}

/**
 * How long a rewrapped header is (FORMAT.md §8): 'roomy' reserves room as a new file does (§4.1), a
 * number asks for exactly that length (a padding stanza fills the rest; INVALID_ARGUMENT when the
 * stanzas do not fit), 'same-or-roomy' keeps the old length when the stanzas fit it and reserves room
 * otherwise, and 'exact' writes no padding.
 */
export type HeaderLengthRule = 'roomy' | 'exact' | 'same-or-roomy' | number;

/**
 * FORMAT.md §8: a new header for the same payload, wrapping the file key for `recipients` instead. The
 * old header must authenticate under one of `identities`.
 */
export function rewrapHeader(
  sodium: SodiumBackend,
  headerBytes: Uint8Array,
  identities: readonly Identity[],
  recipients: readonly Recipient[],
  length: HeaderLengthRule = 'exact',
): Uint8Array {
  const header = parseHeader(headerBytes);
  const fileKey = unwrapFileKey(sodium, header, identities);
  const { macKey, payloadKey } = deriveKeys(sodium, fileKey);
  try {
    const stanzas = recipients.map((r) => wrapFileKey(sodium, fileKey, r));
    const old = header.bytes.length;
    const wanted =
      length === 'exact'
        ? undefined
        : length === 'roomy'
          ? roomyHeaderLength(stanzas)
          : length === 'same-or-roomy'
            ? fitsHeaderLength(stanzas, old)
              ? old
              : roomyHeaderLength(stanzas)
            : length;
    return serializeHeader(
      sodium,
      header.chunkSize,
      stanzas,
      header.streamHeader,
      macKey,
      wanted ?? undefined,
    );
  } finally {
    for (const secret of [fileKey, macKey, payloadKey]) sodium.zero(secret);
  }
}

/**
 * Writes `inFd`'s file to `outFd` with a rewrapped header and the payload bytes copied unchanged.
 * Returns the header bytes written. The copy is not authenticated here: callers verify the result.
 */
export function rewrapFd(
  sodium: SodiumBackend,
  inFd: number,
  outFd: number,
  identities: readonly Identity[],
  recipients: readonly Recipient[],
  options: Progress = {},
): number {
  const header = rewrapHeader(sodium, readHeaderFd(inFd), identities, recipients);
  writeFully(outFd, header);
  const buffer = new Uint8Array(1 << 20);
  let done = 0;
  for (let n = readFully(inFd, buffer, buffer.length); n > 0; n = readFully(inFd, buffer, buffer.length)) {
    checkCancelled(options.signal);
    writeFully(outFd, buffer.subarray(0, n));
    done += n;
    options.onProgress?.(done);
  }
  return header.length;
}

export { writeFully, readFully };
