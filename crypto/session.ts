/**
 * The payload state machines, independent of where bytes come from: the file-descriptor and Node-stream
 * drivers (file.ts, stream.ts) both run on these, so the rules of docs/FORMAT.md §5 live in one place.
 */
import { cryptoError } from './errors.js';
import {
  deriveKeys,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  parseHeader,
  roomyHeaderLength,
  serializeHeader,
  unwrapFileKey,
  wrapFileKey,
  type Header,
} from './header.js';
import { KEY_BYTES, type Identity, type Recipient } from './keys.js';
import { decodeMetadata, encodeMetadata, METADATA_BYTES, type FileMetadata } from './metadata.js';
import { STREAM_ABYTES, type SodiumBackend, type StreamPuller, type StreamPusher } from './sodium.js';

/** FORMAT.md §6: chosen by measurement (see the note there). */
export const DEFAULT_CHUNK_SIZE = 262_144;

/** §5.2: the plaintext length of each content chunk, given the size from the metadata. */
export function chunkCount(size: number, chunkSize: number): number {
  return Math.max(1, Math.ceil(size / chunkSize));
}

/** The exact length of a v1 file whose header is `headerLength` bytes (§5.2). */
export function encryptedLength(headerLength: number, size: number, chunkSize: number): number {
  return headerLength + METADATA_BYTES + STREAM_ABYTES + size + chunkCount(size, chunkSize) * STREAM_ABYTES;
}

export interface EncryptParams {
  readonly recipients: readonly Recipient[];
  readonly metadata: FileMetadata;
  readonly chunkSize?: number;
  /** §4.1: reserve header room (the default); false writes the exact header of the first v1 writers. */
  readonly reserveRoom?: boolean;
}

/**
 * Encrypts one file. Call `start()` once, then `push()` with every chunk in order: `chunkSize` bytes
 * each, the last one with the rest of `metadata.size`.
 */
export class EncryptSession {
  readonly chunkSize: number;
  readonly size: number;
  private readonly pusher: StreamPusher;
  private readonly prologue: Uint8Array;
  private pushed = 0;
  private chunksLeft: number;

  constructor(sodium: SodiumBackend, params: EncryptParams) {
    this.chunkSize = params.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (
      !Number.isInteger(this.chunkSize) ||
      this.chunkSize < MIN_CHUNK_SIZE ||
      this.chunkSize > MAX_CHUNK_SIZE
    ) {
      throw cryptoError('INVALID_ARGUMENT', `chunk size must be ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}`);
    }
    this.size = params.metadata.size;
    this.chunksLeft = chunkCount(this.size, this.chunkSize);
    const metadata = encodeMetadata(params.metadata);
    const fileKey = sodium.randomBytes(KEY_BYTES);
    const { macKey, payloadKey } = deriveKeys(sodium, fileKey);
    let header: Uint8Array;
    let stream: ReturnType<SodiumBackend['streamPush']>;
    try {
      const stanzas = params.recipients.map((r) => wrapFileKey(sodium, fileKey, r));
      stream = sodium.streamPush(payloadKey, Math.max(this.chunkSize, METADATA_BYTES));
      // §4.1: room for more stanzas, so that a later rewrap rewrites the header in place.
      const length = params.reserveRoom === false ? undefined : (roomyHeaderLength(stanzas) ?? undefined);
      header = serializeHeader(sodium, this.chunkSize, stanzas, stream.header, macKey, length);
    } finally {
      for (const secret of [fileKey, macKey, payloadKey]) sodium.zero(secret);
    }
    this.pusher = stream.pusher;
    const first = this.pusher.push(metadata, false);
    this.prologue = new Uint8Array(header.length + first.length);
    this.prologue.set(header);
    this.prologue.set(first, header.length);
  }

  /** The header and the metadata message: the first bytes of the file. */
  start(): Uint8Array {
    return this.prologue;
  }

  /** The ciphertext of the next chunk. The view is valid until the next call: write or copy it first. */
  push(chunk: Uint8Array): Uint8Array {
    if (this.done || chunk.length !== this.nextChunkLength()) {
      throw cryptoError('SOURCE_CHANGED', 'the input does not have the size it had when encryption started');
    }
    this.chunksLeft--;
    this.pushed += chunk.length;
    return this.pusher.push(chunk, this.chunksLeft === 0);
  }

  /** True once the final chunk is out. */
  get done(): boolean {
    return this.chunksLeft === 0;
  }

  /** The plaintext length the next `push` takes (0 for the one chunk of an empty file). */
  nextChunkLength(): number {
    return this.chunksLeft <= 1 ? this.size - this.pushed : this.chunkSize;
  }
}

/**
 * Decrypts one file whose header has been read. Feed it exactly `nextLength()` bytes at a time until that
 * is 0. Plaintext it returns is authentic chunk by chunk, but callers MUST treat the file as complete only
 * once `nextLength()` is 0 and `checkEnd` passed (FORMAT.md §5.3 rule 5).
 */
export class DecryptSession {
  readonly header: Header;
  private readonly puller: StreamPuller;
  private meta: FileMetadata | null = null;
  private chunksLeft = 0;
  private pulled = 0;

  constructor(sodium: SodiumBackend, headerBytes: Uint8Array, identities: readonly Identity[]) {
    this.header = parseHeader(headerBytes);
    const fileKey = unwrapFileKey(sodium, this.header, identities);
    const { macKey, payloadKey } = deriveKeys(sodium, fileKey);
    this.puller = sodium.streamPull(
      this.header.streamHeader,
      payloadKey,
      Math.max(this.header.chunkSize, METADATA_BYTES),
    );
    for (const secret of [fileKey, macKey, payloadKey]) sodium.zero(secret);
  }

  get metadata(): FileMetadata | null {
    return this.meta;
  }

  /** Ciphertext bytes the next message takes; 0 when the stream is complete. */
  nextLength(): number {
    if (!this.meta) return METADATA_BYTES + STREAM_ABYTES;
    if (this.chunksLeft === 0) return 0;
    const plain = this.chunksLeft === 1 ? this.meta.size - this.pulled : this.header.chunkSize;
    return plain + STREAM_ABYTES;
  }

  /**
   * Authenticates and decrypts the next message (exactly `nextLength()` bytes). Returns content bytes (a
   * view valid until the next call; empty for the metadata message).
   */
  pull(ciphertext: Uint8Array): Uint8Array {
    if (ciphertext.length !== this.nextLength() || this.nextLength() === 0) {
      throw cryptoError('INVALID_ARGUMENT', 'pull() takes exactly nextLength() bytes');
    }
    const result = this.puller.pull(ciphertext);
    if (!result)
      throw cryptoError('AUTH_FAILED', 'a part of the file failed authentication: it was damaged or altered');
    if (!this.meta) {
      if (result.final) throw cryptoError('UNEXPECTED_FINAL', 'the stream ends right after its metadata');
      this.meta = decodeMetadata(result.message);
      this.chunksLeft = chunkCount(this.meta.size, this.header.chunkSize);
      return result.message.subarray(0, 0);
    }
    this.counted(result.message.length, result.final);
    return result.message;
  }

  /**
   * pull() for a caller that does not want the plaintext (a check that the file decrypts): the same rules
   * and errors, every content chunk authenticated in full but not decrypted (StreamPuller.check). Returns
   * how many content bytes the message held (0 for the metadata message, which is always decrypted).
   */
  authenticate(ciphertext: Uint8Array): number {
    if (!this.meta) return this.pull(ciphertext).length;
    if (ciphertext.length !== this.nextLength() || this.nextLength() === 0) {
      throw cryptoError('INVALID_ARGUMENT', 'authenticate() takes exactly nextLength() bytes');
    }
    const result = this.puller.check(ciphertext);
    if (!result)
      throw cryptoError('AUTH_FAILED', 'a part of the file failed authentication: it was damaged or altered');
    const length = ciphertext.length - STREAM_ABYTES;
    this.counted(length, result.final);
    return length;
  }

  /** §5.3 rules 3 and 4 after a content chunk of `length` bytes authenticated. */
  private counted(length: number, final: boolean): void {
    this.chunksLeft--;
    this.pulled += length;
    if (this.chunksLeft > 0 && final) {
      throw cryptoError('UNEXPECTED_FINAL', 'the stream ends before the size its metadata declares');
    }
    if (this.chunksLeft === 0 && !final) {
      throw cryptoError('TRUNCATED', 'the final chunk is missing: the file was cut short');
    }
  }
}
