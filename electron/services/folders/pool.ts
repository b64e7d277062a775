/**
 * A pool of worker_threads (one per core by default) that runs per-file operations in batches, with
 * progress and cancel. Small files travel many per message (a message per 30 KiB file would cost more than
 * encrypting it); large files go first and alone, so the pool ends evenly loaded.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
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

interface Slot {
  readonly worker: Worker;
  inFlight: number;
}

/** Largest first, then batched so that each message carries enough work to be worth sending. */
export function planBatches(files: readonly BatchFile[], maxFiles: number, maxBytes: number): BatchFile[][] {
  const sorted = [...files].sort((a, b) => b.size - a.size);
  const batches: BatchFile[][] = [];
  let batch: BatchFile[] = [];
  let bytes = 0;
  for (const file of sorted) {
    if (batch.length > 0 && (batch.length >= maxFiles || bytes + file.size > maxBytes)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(file);
    bytes += file.size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
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
    this.batchFiles = options.batchFiles ?? 64;
    this.batchBytes = options.batchBytes ?? 4 * 1024 * 1024;
    const readies: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const worker = startWorker(import.meta.url, 'worker', {
        backend: options.backend,
      } satisfies WorkerData);
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
    const next = this.queue.then(() => this.runNow(request));
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

  private async runNow(request: PoolRun): Promise<FileOutcome[]> {
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
    const batches = planBatches(request.files, this.batchFiles, this.batchBytes);
    const outcomes: FileOutcome[] = [];
    let nextBatch = 0;
    let pending = batches.length;
    try {
      await new Promise<void>((resolve, reject) => {
        if (pending === 0) {
          resolve();
          return;
        }
        this.failHandlers.add(reject);
        const partial = new Map<string, number>();
        const dispatch = (slot: Slot): void => {
          // Two batches per worker: the next one is already queued when the current one ends.
          while (slot.inFlight < 2 && nextBatch < batches.length) {
            const batchId = runId * 1_000_000 + nextBatch;
            const files = batches[nextBatch++] ?? [];
            slot.inFlight++;
            this.handlers.set(batchId, (message) => {
              if (message.type === 'progress') {
                partial.set(message.path, (partial.get(message.path) ?? 0) + message.bytes);
                request.onBytes?.(message.bytes, message.path);
                return;
              }
              if (message.type !== 'batch-done') return;
              this.handlers.delete(batchId);
              slot.inFlight--;
              for (const outcome of message.outcomes) {
                const already = partial.get(outcome.path) ?? 0;
                partial.delete(outcome.path);
                if (outcome.kind === 'done' && outcome.bytes > already)
                  request.onBytes?.(outcome.bytes - already, outcome.path);
                outcomes.push(outcome);
                request.onOutcome?.(outcome);
              }
              if (--pending === 0) resolve();
              else dispatch(slot);
            });
            slot.worker.postMessage({
              type: 'batch',
              runId,
              batchId,
              op: request.op,
              files,
            } satisfies ToWorker);
          }
        };
        for (const slot of this.slots) dispatch(slot);
      });
    } catch (error) {
      // Still ends the run in the workers, which zero its keys.
      for (const slot of this.slots) slot.worker.postMessage({ type: 'run-end', runId } satisfies ToWorker);
      throw error;
    } finally {
      this.failHandlers.clear();
      request.signal?.removeEventListener('abort', onAbort);
    }
    outcomes.push(...(await this.endRun(runId)));
    return outcomes;
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
