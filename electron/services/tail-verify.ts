/**
 * Authenticates a ciphertext while it is being written, on a second thread. Reading back a large file
 * after writing it doubles the time it takes to protect it; tailing it as it grows overlaps the two, so
 * the check costs almost nothing extra on a multi-core machine. The check itself is the same: every byte
 * read back from the file and authenticated (crypto/file.ts decryptFrom).
 */
import { MessageChannel, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import { CofferError } from '../../crypto/errors.js';
import type { Identity } from '../../crypto/keys.js';
import type { FileMetadata } from '../../crypto/metadata.js';
import type { BackendName } from '../../crypto/sodium.js';
import { startWorker } from './worker-start.js';

/** Indexes into the shared Int32Array. */
export const GENERATION = 0; // bumped after every write
export const WRITER = 1; // 0 writing, 1 done, 2 aborted
export const VERIFIER = 2; // 0 working, 1 answered (a message waits on the port)
export const HEARTBEAT = 3; // bumped by the verifier as it reads, so a dead verifier is noticed
export const WRITER_DONE = 1;
export const WRITER_ABORTED = 2;

export type TailVerifyAnswer =
  { ok: true; metadata: FileMetadata } | { ok: false; code: string; message: string; hint: string };

/** Which file the writer wrote: the verifier refuses to vouch for any other found at its name. */
export interface WrittenFile {
  readonly dev: number;
  readonly ino: number;
}

export interface TailVerifyData {
  readonly backend: BackendName;
  readonly path: string;
  readonly written: WrittenFile;
  readonly identities: readonly Identity[];
  readonly state: ArrayBufferLike;
}

/** How long the writer waits for a verifier that shows no sign of life before it gives up. */
const STALL_MS = 30_000;

export class TailVerifier {
  private readonly state = new Int32Array(new SharedArrayBuffer(16));
  private readonly channel = new MessageChannel();
  private readonly worker: Worker;

  constructor(backend: BackendName, path: string, written: WrittenFile, identities: readonly Identity[]) {
    const data: TailVerifyData = { backend, path, written, identities, state: this.state.buffer };
    this.worker = startWorker(import.meta.url, 'tail-verify-worker', data);
    // The answer comes back on this port, read synchronously (the writer blocks in finish()).
    this.worker.postMessage({ port: this.channel.port2 }, [this.channel.port2]);
  }

  /** Call after every write to the file. */
  wrote(): void {
    Atomics.add(this.state, GENERATION, 1);
    Atomics.notify(this.state, GENERATION);
  }

  /** The file is complete: waits (blocking this thread) for the verdict; throws the verifier's error. */
  finish(): FileMetadata {
    this.signalWriter(WRITER_DONE);
    try {
      let heartbeat = Atomics.load(this.state, HEARTBEAT);
      while (Atomics.wait(this.state, VERIFIER, 0, STALL_MS) === 'timed-out') {
        const now = Atomics.load(this.state, HEARTBEAT);
        if (now === heartbeat) {
          throw new CofferError(
            'VERIFY_FAILED',
            'the read-back check stopped responding',
            'Try again; the original was kept.',
          );
        }
        heartbeat = now;
      }
      const answer = receiveMessageOnPort(this.channel.port1)?.message as TailVerifyAnswer | undefined;
      if (!answer)
        throw new CofferError(
          'VERIFY_FAILED',
          'the read-back check gave no answer',
          'Try again; the original was kept.',
        );
      if (!answer.ok) throw new CofferError(answer.code, answer.message, answer.hint);
      return answer.metadata;
    } finally {
      this.close();
    }
  }

  /** The write failed: stop the verifier. */
  abort(): void {
    this.signalWriter(WRITER_ABORTED);
    this.close();
  }

  private signalWriter(value: number): void {
    Atomics.store(this.state, WRITER, value);
    this.wrote(); // wakes a verifier waiting for more bytes
  }

  private close(): void {
    this.channel.port1.close();
    void this.worker.terminate();
  }
}
