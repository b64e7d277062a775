/**
 * The data audit's worker_threads pool (one worker per core by default): files travel in batches (many
 * small files per message, large files alone and first, so the pool ends evenly loaded), two batches in
 * flight per worker, progress in bytes, and cancel through shared memory (a busy worker cannot read
 * messages). Runs are serialized. Workers start as the folders pool's do (worker-start.ts).
 */
import { availableParallelism } from 'node:os';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { CofferError } from '../../../crypto/errors.js';
import type { Identity } from '../../../crypto/keys.js';
import type { BackendName } from '../../../crypto/sodium.js';
import { planBatches } from '../batches.js';
import { startWorker } from '../worker-start.js';
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
  /** Default WORKER_LIMITS. */
  readonly resourceLimits?: ResourceLimits;
}

/**
 * A worker's garbage stays small: text pieces of 1 MiB become strings, and V8 lets a young generation grow
 * to tens of MiB per isolate before collecting it. A small one keeps the peak memory of the whole process
 * (main + workers) within the target (issue 11: 200 MB) at the cost of more, shorter collections.
 */
const WORKER_LIMITS: ResourceLimits = {
  maxYoungGenerationSizeMb: 8,
  // A reader that runs away (an extractor on a hostile file) dies alone instead of taking the process
  // down: its file is reported READER_FAILED and a new worker goes on (AuditPool.died).
  maxOldGenerationSizeMb: 256,
};

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
  /** Resolves once the worker has loaded; rejects if it never does. */
  readonly ready: Promise<void>;
  started: boolean;
  dead: boolean;
  /** Batches sent to it and not answered yet. */
  readonly inFlight: Set<number>;
}

interface ActiveRun {
  readonly runId: number;
  readonly request: AuditPoolRun;
  readonly cancel: SharedArrayBuffer;
  /** Batches not sent yet (a batch of a reader that died comes back here file by file). */
  readonly queue: WorkFile[][];
  readonly sent: Map<number, WorkFile[]>;
  readonly outcomes: WorkOutcome[];
  nextBatchId: number;
  pending: number;
  readonly done: () => void;
  readonly failed: (error: Error) => void;
}

/** Outcome of the file a reader died on (out of memory in an extractor, a crash): skipped, the scan goes on. */
function readerDied(file: WorkFile, reason: string): WorkOutcome {
  return {
    path: file.path,
    kind: 'error',
    code: 'READER_FAILED',
    reason: `reading it stopped the reader (${reason}); it was not scanned`,
  };
}

export class AuditPool {
  private readonly slots: Slot[] = [];
  private runId = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private failure: Error | null = null;
  private active: ActiveRun | null = null;
  private readonly ended = new Map<number, (slot: Slot) => void>();
  private readonly batchFiles: number;
  private readonly batchBytes: number;

  constructor(private readonly options: AuditPoolOptions) {
    const size = Math.max(1, options.size ?? availableParallelism());
    this.batchFiles = options.batchFiles ?? 64;
    this.batchBytes = options.batchBytes ?? 8 * 1024 * 1024;
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
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

  private spawn(): Slot {
    const worker = startWorker(
      import.meta.url,
      'scanner-worker',
      { backend: this.options.backend } satisfies AuditWorkerData,
      this.options.resourceLimits ?? WORKER_LIMITS,
    );
    let markReady = (): void => undefined;
    let markFailed = (_error: Error): void => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    ready.catch(() => undefined); // surfaced by runNow
    const slot: Slot = { worker, ready, started: false, dead: false, inFlight: new Set() };
    worker.on('message', (message: FromAuditWorker) => {
      switch (message.type) {
        case 'ready':
          slot.started = true;
          markReady();
          break;
        case 'progress':
          this.active?.request.onBytes?.(message.bytes);
          break;
        case 'batch-done':
          this.batchDone(slot, message.batchId, message.outcomes);
          break;
        case 'run-ended':
          this.ended.get(message.runId)?.(slot);
          break;
        case 'error':
          // A worker that cannot start, or a run it cannot begin: the run fails as a whole.
          markFailed(new Error(message.message));
          this.fail(new Error(`audit worker: ${message.message}`));
          break;
      }
    });
    worker.on('error', (error) => {
      markFailed(error);
      this.died(slot, error.message);
    });
    worker.on('exit', (code) => {
      markFailed(new Error(`exited with code ${code}`));
      this.died(slot, `it exited with code ${code}`);
    });
    return slot;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.active?.failed(error);
  }

  /**
   * A worker that died while reading (an extractor out of memory, a native crash) takes only its files
   * down: a new worker takes its place, and the files of its batches are tried again one by one, so that
   * only the file it dies on is reported (READER_FAILED). One that never started fails the run.
   */
  private died(slot: Slot, reason: string): void {
    if (slot.dead || this.closed) return;
    slot.dead = true;
    if (!slot.started) {
      this.fail(new Error(`an audit worker did not start: ${reason}`));
      return;
    }
    const index = this.slots.indexOf(slot);
    const replacement = this.spawn();
    if (index >= 0) this.slots[index] = replacement;
    for (const ended of this.ended.values()) ended(slot);
    const run = this.active;
    if (!run) return;
    // A worker reads its batches in the order sent: the oldest one was being read, the others not begun.
    let reading = true;
    for (const batchId of slot.inFlight) {
      const files = run.sent.get(batchId) ?? [];
      run.sent.delete(batchId);
      run.pending--;
      if (!reading || files.length > 1) {
        const again = reading ? files.map((f) => [f]) : [files];
        run.queue.unshift(...again);
        run.pending += again.length;
      } else {
        for (const file of files) this.deliver(run, readerDied(file, reason));
      }
      reading = false;
    }
    slot.inFlight.clear();
    if (run.pending === 0) run.done();
    void replacement.ready.then(
      () => {
        if (this.active !== run) return;
        this.startRunIn(replacement, run);
        this.dispatch(replacement, run);
      },
      (error: unknown) => {
        this.fail(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  private deliver(run: ActiveRun, outcome: WorkOutcome): void {
    run.outcomes.push(outcome);
    run.request.onOutcome?.(outcome);
  }

  private batchDone(slot: Slot, batchId: number, outcomes: readonly WorkOutcome[]): void {
    slot.inFlight.delete(batchId);
    const run = this.active;
    if (!run?.sent.delete(batchId)) return;
    for (const outcome of outcomes) this.deliver(run, outcome);
    if (--run.pending === 0) run.done();
    else this.dispatch(slot, run);
  }

  private startRunIn(slot: Slot, run: ActiveRun): void {
    slot.worker.postMessage({
      type: 'run-start',
      runId: run.runId,
      mode: run.request.mode,
      identities: run.request.identities,
      cancel: run.cancel,
    } satisfies ToAuditWorker);
  }

  /** Two batches per worker: the next one is already queued when the current one ends. */
  private dispatch(slot: Slot, run: ActiveRun): void {
    while (!slot.dead && slot.inFlight.size < 2 && run.queue.length > 0) {
      const files = run.queue.shift() ?? [];
      const batchId = run.runId * 1_000_000 + run.nextBatchId++;
      slot.inFlight.add(batchId);
      run.sent.set(batchId, files);
      slot.worker.postMessage({ type: 'batch', runId: run.runId, batchId, files } satisfies ToAuditWorker);
    }
  }

  private async runNow(request: AuditPoolRun): Promise<WorkOutcome[]> {
    await Promise.all(this.slots.map((s) => s.ready));
    if (this.closed) throw new CofferError('POOL_CLOSED', 'the audit worker pool was closed', 'Scan again.');
    if (this.failure) throw this.failure;
    const runId = ++this.runId;
    const cancel = new SharedArrayBuffer(4);
    const onAbort = (): void => {
      Atomics.store(new Int32Array(cancel), 0, 1);
    };
    if (request.signal?.aborted) onAbort();
    request.signal?.addEventListener('abort', onAbort);
    const queue = planBatches(request.files, this.batchFiles, this.batchBytes);
    let run: ActiveRun | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        run = {
          runId,
          request,
          cancel,
          queue,
          sent: new Map(),
          outcomes: [],
          nextBatchId: 0,
          pending: queue.length,
          done: resolve,
          failed: reject,
        };
        this.active = run;
        for (const slot of this.slots) this.startRunIn(slot, run);
        if (run.pending === 0) resolve();
        for (const slot of this.slots) this.dispatch(slot, run);
      });
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      this.active = null;
      await this.endRun(runId);
    }
    return run?.outcomes ?? [];
  }

  /** Ends the run in every worker, which zero its identities; a worker that dies meanwhile counts as done. */
  private async endRun(runId: number): Promise<void> {
    const waiting = new Set(this.slots.filter((s) => !s.dead));
    if (this.failure || waiting.size === 0) {
      for (const slot of waiting) slot.worker.postMessage({ type: 'run-end', runId } satisfies ToAuditWorker);
      return;
    }
    try {
      await new Promise<void>((resolve) => {
        this.ended.set(runId, (slot) => {
          waiting.delete(slot);
          if (waiting.size === 0) resolve();
        });
        for (const slot of waiting)
          slot.worker.postMessage({ type: 'run-end', runId } satisfies ToAuditWorker);
      });
    } finally {
      this.ended.delete(runId);
    }
  }
}
