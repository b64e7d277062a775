/**
 * The data audit's worker_threads pool (one worker per core by default): files travel in batches (many
 * small files per message, large files alone and first, so the pool ends evenly loaded), two batches in
 * flight per worker, progress in bytes, and cancel through shared memory (a busy worker cannot read
 * messages). Runs are serialized. Workers start as the folders pool's do (worker-start.ts).
 */
import { availableParallelism } from 'node:os';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { CofferError } from '../../../crypto/errors.js';
import type { Identity } from '../../../crypto/keys.js';
import type { BackendName } from '../../../crypto/sodium.js';
import type {
  AuditWorkerData,
  FromAuditWorker,
  ToAuditWorker,
  WorkFile,
  WorkMode,
  WorkOutcome,
} from './scanner-messages.js';

export interface AuditPoolOptions {
  readonly backend: BackendName;
  /** Default: one per core. */
  readonly size?: number;
  /** A batch closes at this many files or bytes, whichever comes first. */
  readonly batchFiles?: number;
  readonly batchBytes?: number;
}

/**
 * A worker's garbage stays small: text pieces of 1 MiB become strings, and V8 lets a young generation grow
 * to tens of MiB per isolate before collecting it. A small one keeps the peak memory of the whole process
 * (main + workers) within the target (issue 11: 200 MB) at the cost of more, shorter collections.
 */
const WORKER_LIMITS: ResourceLimits = {
  maxYoungGenerationSizeMb: 8,
};

/**
 * Starts the worker whose entry sits next to this module, from sources (tsx registered in the worker first,
 * as worker-start.ts does) or compiled, with WORKER_LIMITS.
 */
function startAuditWorker(workerData: AuditWorkerData): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(`./scanner-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSources) return new Worker(entry, { workerData, resourceLimits: WORKER_LIMITS });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits: WORKER_LIMITS });
}

export interface AuditPoolRun {
  readonly mode: WorkMode;
  readonly files: readonly WorkFile[];
  /** Needed only when some files are protected; zeroed by the workers at the end of the run. */
  readonly identities: readonly Identity[];
  readonly onBytes?: (bytes: number) => void;
  readonly onOutcome?: (outcome: WorkOutcome) => void;
  /** Aborting stops the files in flight between pieces; the rest come back as `cancelled`. */
  readonly signal?: AbortSignal;
}

interface Slot {
  readonly worker: Worker;
  inFlight: number;
}

/** Largest first, then batched so that each message carries enough work to be worth sending. */
export function batchesOf<T extends { readonly size: number }>(
  files: readonly T[],
  maxFiles: number,
  maxBytes: number,
): T[][] {
  const sorted = [...files].sort((a, b) => b.size - a.size);
  const batches: T[][] = [];
  let batch: T[] = [];
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

export class AuditPool {
  private readonly slots: Slot[] = [];
  private readonly ready: Promise<void>;
  private runId = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private failure: Error | null = null;
  private readonly failHandlers = new Set<(error: Error) => void>();
  private readonly handlers = new Map<number, (message: FromAuditWorker) => void>();
  private readonly ended = new Map<number, () => void>();
  private readonly batchFiles: number;
  private readonly batchBytes: number;

  constructor(options: AuditPoolOptions) {
    const size = Math.max(1, options.size ?? availableParallelism());
    this.batchFiles = options.batchFiles ?? 64;
    this.batchBytes = options.batchBytes ?? 8 * 1024 * 1024;
    const readies: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const worker = startAuditWorker({ backend: options.backend });
      this.slots.push({ worker, inFlight: 0 });
      readies.push(
        new Promise<void>((resolve, reject) => {
          worker.once('error', reject);
          worker.on('message', (message: FromAuditWorker) => {
            if (message.type === 'ready') resolve();
            else if (message.type === 'error') reject(new Error(message.message));
          });
        }),
      );
      worker.on('message', (message: FromAuditWorker) => {
        if (message.type === 'progress' || message.type === 'batch-done')
          this.handlers.get(message.batchId)?.(message);
        else if (message.type === 'run-ended') this.ended.get(message.runId)?.();
        else if (message.type === 'error') this.fail(new Error(`audit worker: ${message.message}`));
      });
      worker.on('error', (error) => {
        this.fail(error);
      });
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`an audit worker exited (code ${code})`));
      });
    }
    this.ready = Promise.all(readies).then(() => undefined);
    this.ready.catch(() => undefined); // surfaced by run()
  }

  get size(): number {
    return this.slots.length;
  }

  run(request: AuditPoolRun): Promise<WorkOutcome[]> {
    const next = this.queue.then(() => this.runNow(request));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const handler of this.failHandlers) handler(error);
  }

  private async runNow(request: AuditPoolRun): Promise<WorkOutcome[]> {
    await this.ready;
    if (this.closed) throw new CofferError('POOL_CLOSED', 'the audit worker pool was closed', 'Scan again.');
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
        mode: request.mode,
        identities: request.identities,
        cancel: cancelBuffer,
      } satisfies ToAuditWorker);
    }
    const batches = batchesOf(request.files, this.batchFiles, this.batchBytes);
    const outcomes: WorkOutcome[] = [];
    let nextBatch = 0;
    let pending = batches.length;
    try {
      await new Promise<void>((resolve, reject) => {
        if (pending === 0) {
          resolve();
          return;
        }
        this.failHandlers.add(reject);
        const dispatch = (slot: Slot): void => {
          // Two batches per worker: the next one is already queued when the current one ends.
          while (slot.inFlight < 2 && nextBatch < batches.length) {
            const batchId = runId * 1_000_000 + nextBatch;
            const files = batches[nextBatch++] ?? [];
            slot.inFlight++;
            this.handlers.set(batchId, (message) => {
              if (message.type === 'progress') {
                request.onBytes?.(message.bytes);
                return;
              }
              if (message.type !== 'batch-done') return;
              this.handlers.delete(batchId);
              slot.inFlight--;
              for (const outcome of message.outcomes) {
                outcomes.push(outcome);
                request.onOutcome?.(outcome);
              }
              if (--pending === 0) resolve();
              else dispatch(slot);
            });
            slot.worker.postMessage({ type: 'batch', runId, batchId, files } satisfies ToAuditWorker);
          }
        };
        for (const slot of this.slots) dispatch(slot);
      });
    } finally {
      this.failHandlers.clear();
      request.signal?.removeEventListener('abort', onAbort);
      await this.endRun(runId);
    }
    return outcomes;
  }

  /** Ends the run in every worker, which zero its identities. */
  private async endRun(runId: number): Promise<void> {
    if (this.failure) {
      for (const slot of this.slots)
        slot.worker.postMessage({ type: 'run-end', runId } satisfies ToAuditWorker);
      return;
    }
    try {
      await new Promise<void>((resolve, reject) => {
        let waiting = this.slots.length;
        this.failHandlers.add(reject);
        this.ended.set(runId, () => {
          if (--waiting === 0) resolve();
        });
        for (const slot of this.slots)
          slot.worker.postMessage({ type: 'run-end', runId } satisfies ToAuditWorker);
      });
    } finally {
      this.ended.delete(runId);
      this.failHandlers.clear();
    }
  }
}
