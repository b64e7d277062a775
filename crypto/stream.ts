/**
 * Node stream drivers over the payload sessions: constant memory (one chunk buffered at a time) for
 * sources that are not files, such as pipes and sockets. The file-descriptor functions in file.ts are the
 * fast path for files.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { cryptoError } from './errors.js';
import { parsePrefix, PREFIX_BYTES } from './header.js';
import type { Identity } from './keys.js';
import type { FileMetadata } from './metadata.js';
import { DecryptSession, EncryptSession, type EncryptParams } from './session.js';
import type { SodiumBackend } from './sodium.js';

/** Collects incoming bytes until `want` of them are available, without holding more than one piece. */
class Accumulator {
  private buffer = new Uint8Array(0);
  private filled = 0;

  /** Copies from `input` at `offset` toward `want` bytes; returns how many bytes it took. */
  take(input: Uint8Array, offset: number, want: number): number {
    if (this.buffer.length !== want) this.resize(want);
    const n = Math.min(want - this.filled, input.length - offset);
    this.buffer.set(input.subarray(offset, offset + n), this.filled);
    this.filled += n;
    return n;
  }

  get complete(): boolean {
    return this.filled === this.buffer.length;
  }

  get length(): number {
    return this.filled;
  }

  /** The collected bytes; the accumulator starts over. */
  drain(): Uint8Array {
    const out = this.buffer.subarray(0, this.filled);
    this.filled = 0;
    return out;
  }

  private resize(want: number): void {
    const next = new Uint8Array(want);
    next.set(this.buffer.subarray(0, this.filled));
    this.buffer = next;
  }
}

/**
 * Encrypts a stream whose total size is known in advance (`params.metadata.size`); a source that delivers
 * more or fewer bytes fails with SOURCE_CHANGED.
 */
export function createEncryptStream(sodium: SodiumBackend, params: EncryptParams): Transform {
  const session = new EncryptSession(sodium, params);
  const pending = new Accumulator();
  let started = false;
  const begin = (stream: Transform) => {
    if (!started) stream.push(Buffer.from(session.start()));
    started = true;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        begin(this);
        let offset = 0;
        while (offset < chunk.length) {
          if (session.done) throw cryptoError('SOURCE_CHANGED', 'the input is longer than its declared size');
          offset += pending.take(chunk, offset, session.nextChunkLength());
          // The session's output view is reused on the next push: hand downstream a copy.
          if (pending.complete) this.push(Buffer.from(session.push(pending.drain())));
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      try {
        begin(this);
        if (!session.done && session.nextChunkLength() === pending.length) {
          this.push(Buffer.from(session.push(pending.drain())));
        }
        if (!session.done) throw cryptoError('SOURCE_CHANGED', 'the input is shorter than its declared size');
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

export interface DecryptStream extends Transform {
  /** The metadata, once the stream has ended successfully. */
  readonly metadata: FileMetadata | null;
}

/**
 * Decrypts a Coffer stream. Chunks are emitted as they authenticate; the stream errors (TRUNCATED,
 * TRAILING_DATA, AUTH_FAILED, …) if the whole does not, so consumers MUST wait for 'finish'/'end' without
 * an error before treating the output as complete (FORMAT.md §5.3 rule 5).
 */
export function createDecryptStream(sodium: SodiumBackend, identities: readonly Identity[]): DecryptStream {
  const pending = new Accumulator();
  let headerLength = 0;
  let session: DecryptSession | null = null;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        let offset = 0;
        while (offset < chunk.length) {
          if (!session) {
            if (headerLength === 0) {
              // §3: the prefix first, so that no more than the checked header length is ever buffered.
              offset += pending.take(chunk, offset, PREFIX_BYTES);
              if (!pending.complete) break;
              const prefix = pending.drain().slice();
              headerLength = parsePrefix(prefix);
              pending.take(prefix, 0, headerLength);
              continue;
            }
            offset += pending.take(chunk, offset, headerLength);
            if (!pending.complete) break;
            session = new DecryptSession(sodium, pending.drain().slice(), identities);
            continue;
          }
          const want = session.nextLength();
          if (want === 0) throw cryptoError('TRAILING_DATA', 'there are bytes after the final chunk');
          offset += pending.take(chunk, offset, want);
          if (pending.complete) {
            const plain = session.pull(pending.drain());
            if (plain.length > 0) this.push(Buffer.from(plain));
          }
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback: TransformCallback) {
      if (!session) {
        callback(
          headerLength === 0
            ? prefixError(pending.drain())
            : cryptoError('TRUNCATED', 'the stream ends inside its header'),
        );
        return;
      }
      callback(session.nextLength() === 0 ? null : cryptoError('TRUNCATED', 'the stream was cut short'));
    },
  });
  return Object.defineProperty(stream, 'metadata', {
    get: () => (session && session.nextLength() === 0 ? session.metadata : null),
  }) as DecryptStream;
}

/** A stream that ends within its prefix: BAD_MAGIC if what is there does not match, else TRUNCATED. */
function prefixError(prefix: Uint8Array): Error {
  try {
    parsePrefix(prefix);
  } catch (error) {
    return error as Error;
  }
  return cryptoError('TRUNCATED', 'the stream ends inside its header');
}
