/**
 * A pool of worker_threads (one per core by default) that runs per-file operations in batches, with
 * progress and cancel. Small files travel many per message (a message per 30 KiB file would cost more than
 * encrypting it); large files go first and alone, so the pool ends evenly loaded.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { planBatches } from '../batches.js';
import { startWorker } from '../worker-start.js';
import { CofferError } from '../../../crypto/errors.js';
import type { Identity, Recipient } from '../../../crypto/keys.js';
import type { BackendName } from '../../../crypto/sodium.js';
import type { BatchFile, FromWorker, ToWorker, WorkerData } from './messages.js';
import type { FileOutcome, Op } from './types.js';

export interface PoolOptions {
  readonly backend: BackendName;
  /** Default: one per core. */
  readonly size?: number;
  /** A batch closes at this many files or bytes, whichever comes first. */
  readonly batchFiles?: number;
  readonly batchBytes?: number;
}

export interface PoolRun {
  readonly op: Op;
  readonly files: readonly BatchFile[];
  readonly recipients: readonly Recipient[];
  readonly identities: readonly Identity[];
  /** Bytes finished since the last call, with the file they belong to; and each file's outcome when done. */
  readonly onBytes?: (bytes: number, path: string) => void;
  readonly onOutcome?: (outcome: FileOutcome) => void;
  /** Aborting finishes or rolls back the files in flight; the rest come back as `cancelled`. */
  readonly signal?: AbortSignal;
  /** The protected folders every file must stay inside. */
  readonly roots?: readonly string[];
  /** Where the workers journal their temp files (`<app data>/temps`). */
  readonly tempJournalDir?: string;
}

/**
 * A run fed as it goes (folder runs: the walk hands over a chunk of files at a time, so no list of the
 * whole tree is ever held). `next` is asked for more whenever the queued batches run low; null ends it.
 * Outcomes go to `onOutcome` as batches end, and those the workers report at the run's end (plaintexts
 * written to during their grace period) to `onLate`; nothing is collected.
 */
export interface PoolStream extends Omit<PoolRun, 'files' | 'onOutcome'> {
  readonly next: () => readonly BatchFile[] | null | Promise<readonly BatchFile[] | null>;
  readonly onOutcome?: (outcome: FileOutcome) => void;
  readonly onLate?: (outcome: FileOutcome) => void;
}

/** See the constructor. */
const YOUNG_GENERATION_MB = 4;
/**
 * A worker's live heap is ~9 MiB whatever the run's size (heap snapshots at 20,000 files); without a cap
 * V8 let garbage pile up in the old generation (17+ MiB per worker at 100,000 files) before collecting
 * it. 32 MiB is over three times what a worker holds (a batch of paths, at most MAX_HELD held plaintexts'
 * stats; file data is in buffers outside this heap).
 */
const OLD_GENERATION_MB = 32;

interface Slot {
  readonly worker: Worker;
  inFlight: number;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly ready: Promise<void>;
  private runId = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private failure: Error | null = null;
  private readonly batchFiles: number;
  private readonly batchBytes: number;
  private readonly handlers = new Map<number, (message: FromWorker) => void>();
  private readonly ended = new Map<number, (outcomes: readonly FileOutcome[]) => void>();

  constructor(options: PoolOptions) {
    const size = Math.max(1, options.size ?? availableParallelism());
    // Up to 256 small files per message: each batch costs a `sync -f` child and a syncfs (durable.ts), which
    // at 64 files of 512 B each was most of the time of 100,000 files (issue 10 scale target).
    // The byte cap, 16 MiB, lets 1–64 KiB files fill a batch too (at 4 MiB, 5,000 of them made ~40 batches,
    // each with its syncfs, which waits for every other program's writes on the file system; 256 files per
    // batch: ~20). Files are streamed, so it bounds no memory; it spreads the largest ones over the workers.
    this.batchFiles = options.batchFiles ?? 256;
    this.batchBytes = options.batchBytes ?? 16 * 1024 * 1024;
    const readies: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const worker = startWorker(
        import.meta.url,
        'worker',
        { backend: options.backend } satisfies WorkerData,
        // A worker's garbage is per file and short-lived: a small young generation is scavenged often and
        // cheaply. V8's default (up to 48 MiB per thread) grew each worker's heap to ~50 MiB on 20,000
        // small files, the most of the run's peak RSS (216 MiB; 167 MiB with 8 MiB; issue 10 scale target).
        // With the old generation capped too (4 + 32 MiB), `coffer protect` of 20,000 files of 512 B
        // peaked at 189 MiB instead of 219 (unprotect 164 instead of 205), same CPU time within noise.
        { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB, maxOldGenerationSizeMb: OLD_GENERATION_MB },
      );
      const slot: Slot = { worker, inFlight: 0 };
      this.slots.push(slot);
      readies.push(
        new Promise<void>((resolve, reject) => {
          worker.once('error', reject);
          worker.on('message', (message: FromWorker) => {
            if (message.type === 'ready') resolve();
            else if (message.type === 'error') reject(new Error(message.message));
          });
        }),
      );
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'progress' || message.type === 'batch-done')
          this.handlers.get(message.batchId)?.(message);
        else if (message.type === 'run-ended') this.ended.get(message.runId)?.(message.outcomes);
        else if (message.type === 'error') this.fail(new Error(`worker: ${message.message}`));
      });
      worker.on('error', (error) => {
        this.fail(error);
      });
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`a worker exited (code ${code})`));
      });
    }
    this.ready = Promise.all(readies).then(() => undefined);
    this.ready.catch(() => undefined); // surfaced by run()
  }

  get size(): number {
    return this.slots.length;
  }

  /** Runs one op over `files`. Runs are serialized: a second run starts when the first ends. */
  run(request: PoolRun): Promise<FileOutcome[]> {
    const outcomes: FileOutcome[] = [];
    let given = false;
    const { files, onOutcome, ...rest } = request;
    // Not this.stream: a subclass that settles streamed runs its own way (settling-pool.ts) settles a
    // run() through run().
    return this.enqueue({
      ...rest,
      next: () => {
        if (given) return null;
        given = true;
        return files;
      },
      onOutcome: (outcome) => {
        outcomes.push(outcome);
        onOutcome?.(outcome);
      },
      onLate: (outcome) => outcomes.push(outcome),
    }).then(() => outcomes);
  }

  /** Runs one op over the files `request.next` hands over, as it hands them over; serialized like run. */
  stream(request: PoolStream): Promise<void> {
    return this.enqueue(request);
  }

  private enqueue(request: PoolStream): Promise<void> {
    const next = this.queue.then(() => this.streamNow(request));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private failHandlers = new Set<(error: Error) => void>();

  private fail(error: Error): void {
    this.failure ??= error;
    for (const handler of this.failHandlers) handler(error);
  }

  private async streamNow(request: PoolStream): Promise<void> {
    await this.ready;
    if (this.closed)
      throw new CofferError('POOL_CLOSED', 'the worker pool was closed', 'Start the run again.');
    if (this.failure) throw this.failure;
    const runId = ++this.runId;
    const cancelBuffer = new SharedArrayBuffer(4);
    const cancel = new Int32Array(cancelBuffer);
    const onAbort = (): void => {
      Atomics.store(cancel, 0, 1);
    };
    if (request.signal?.aborted) onAbort();
    request.signal?.addEventListener('abort', onAbort);
    for (const slot of this.slots) {
      slot.worker.postMessage({
        type: 'run-start',
        runId,
        recipients: request.recipients,
        identities: request.identities,
        cancel: cancelBuffer,
        ...(request.roots ? { roots: request.roots } : {}),
        ...(request.tempJournalDir ? { tempJournalDir: request.tempJournalDir } : {}),
      } satisfies ToWorker);
    }
    // Batches planned from the chunks handed over so far and not sent yet (at most about two chunks). A
    // batch leaves it when sent: kept until the queue ran empty at the very moment of a send, which a
    // pull arriving first almost always prevented, every batch of the run stayed here (~120 bytes a
    // file: 86 MiB of the main heap at 600,000 files, issue 10 scale target).
    const batches: BatchFile[][] = [];
    let sent = 0;
    let inFlight = 0;
    let exhausted = false;
    let pulling = false;
    try {
      await new Promise<void>((resolveRun, rejectRun) => {
        // Once ended (done, or a worker failed), a chunk still arriving sends nothing more.
        let ended = false;
        const resolve = (): void => {
          ended = true;
          resolveRun();
        };
        const reject = (error: unknown): void => {
          ended = true;
          rejectRun(error instanceof Error ? error : new Error(String(error)));
        };
        this.failHandlers.add(reject);
        const partial = new Map<string, number>();
        const send = (slot: Slot, files: BatchFile[]): void => {
          const batchId = runId * 1_000_000 + (sent++ % 1_000_000);
          slot.inFlight++;
          inFlight++;
          this.handlers.set(batchId, (message) => {
            if (message.type === 'progress') {
              partial.set(message.path, (partial.get(message.path) ?? 0) + message.bytes);
              request.onBytes?.(message.bytes, message.path);
              return;
            }
            if (message.type !== 'batch-done') return;
            this.handlers.delete(batchId);
            slot.inFlight--;
            inFlight--;
            for (const outcome of message.outcomes) {
              const already = partial.get(outcome.path) ?? 0;
              partial.delete(outcome.path);
              if (outcome.kind === 'done' && outcome.bytes > already)
                request.onBytes?.(outcome.bytes - already, outcome.path);
              request.onOutcome?.(outcome);
            }
            pump();
          });
          slot.worker.postMessage({
            type: 'batch',
            runId,
            batchId,
            op: request.op,
            files,
          } satisfies ToWorker);
        };
        const pump = (): void => {
          if (ended) return;
          // Two batches per worker: the next one is already queued when the current one ends.
          for (const slot of this.slots)
            while (slot.inFlight < 2 && batches.length > 0) send(slot, batches.shift() ?? []);
          const queued = batches.length;
          if (!exhausted && !pulling && queued < this.slots.length * 2) {
            pulling = true;
            Promise.resolve()
              .then(() => request.next())
              .then((chunk) => {
                pulling = false;
                if (chunk === null) exhausted = true;
                else batches.push(...planBatches(chunk, this.batchFiles, this.batchBytes));
                pump();
              }, reject);
            return;
          }
          if (exhausted && !pulling && inFlight === 0 && batches.length === 0) resolve();
        };
        pump();
      });
    } catch (error) {
      // Still ends the run in the workers, which zero its keys.
      for (const slot of this.slots) slot.worker.postMessage({ type: 'run-end', runId } satisfies ToWorker);
      throw error;
    } finally {
      this.failHandlers.clear();
      request.signal?.removeEventListener('abort', onAbort);
    }
    for (const outcome of await this.endRun(runId)) request.onLate?.(outcome);
  }

  /** Ends the run in every worker; each answers once its removed plaintexts' grace periods are over. */
  private async endRun(runId: number): Promise<FileOutcome[]> {
    const late: FileOutcome[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        let waiting = this.slots.length;
        this.failHandlers.add(reject);
        this.ended.set(runId, (outcomes) => {
          late.push(...outcomes);
          if (--waiting === 0) resolve();
        });
        for (const slot of this.slots) slot.worker.postMessage({ type: 'run-end', runId } satisfies ToWorker);
        if (this.failure) reject(this.failure);
      });
    } finally {
      this.ended.delete(runId);
      this.failHandlers.clear();
    }
    return late;
  }
}
