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
import {
  HEARTBEAT_BYTES,
  HEARTBEAT_COUNT,
  HEARTBEAT_FILE,
  type AuditWorkerData,
  type FromAuditWorker,
  type ToAuditWorker,
  type WorkFile,
  type WorkMode,
  type WorkOutcome,
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
  /**
   * A worker that shows no progress (no file begun, no piece read) for this long while it holds a batch is
   * stuck (an extractor in a loop, a read from a hung share that never returns): its file is skipped
   * (READ_STALLED) and a new worker goes on with the rest. Default STALL_MS.
   */
  readonly stallMs?: number;
  /** The worker's entry module (startWorker): default this folder's scanner-worker. Tests wrap it. */
  readonly worker?: { readonly callerUrl: string; readonly name: string };
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
  /**
   * Each outcome with the file it is about, as it comes. When given, run() keeps no outcome and resolves to
   * an empty list: a list of every outcome grew with the file count (issue 11: memory whatever the files).
   */
  readonly onOutcome?: (outcome: WorkOutcome, file: WorkFile) => void;
  /** Aborting stops the files in flight between pieces; the rest come back as `cancelled`. */
  readonly signal?: AbortSignal;
}

/**
 * Longest time a worker may hold a batch without progress before it counts as stuck: twice the extractors'
 * own time limit (DEFAULT_LIMITS.timeoutMs, 30 s), which ends a slow document with a better reason first.
 */
const STALL_MS = 60_000;
/**
 * Once the run is cancelled, a worker that shows no progress for this long is ended: a healthy one answers
 * a cancel between two pieces; one stuck in a read never does, and the cancel waited the whole stall limit.
 */
const CANCEL_GRACE_MS = 2_000;

interface Slot {
  readonly worker: Worker;
  /**
   * Shared with the worker (scanner-messages.ts HEARTBEAT_*): a counter it bumps at each file it begins and
   * each piece it reads, and the index in its batch of the file it is on. Shared memory, because a stuck
   * worker sends no message.
   */
  readonly heartbeat: Int32Array;
  /** The counter's value when last looked at, and when it last moved (or the slot got work). */
  lastBeat: number;
  lastMoved: number;
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

/** Outcome of the file a stuck reader was on: skipped, its worker replaced, the scan goes on. */
function readerStalled(file: WorkFile, stallMs: number): WorkOutcome {
  return {
    path: file.path,
    kind: 'error',
    code: 'READ_STALLED',
    reason: `reading it made no progress for ${Math.round(stallMs / 1000)} s (a disk or share that does not answer, or a file that keeps the reader busy); it was not scanned`,
  };
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
  private readonly stallMs: number;
  private watchdog: NodeJS.Timeout | undefined;
  /** How often the watchdog looks, and when it last did (watch()). */
  private readonly watchEvery: number;
  private lastWatch = 0;

  constructor(private readonly options: AuditPoolOptions) {
    this.stallMs = options.stallMs ?? STALL_MS;
    this.watchEvery = Math.max(50, Math.min(1_000, this.stallMs / 4));
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
    clearInterval(this.watchdog);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const heartbeat = new Int32Array(new SharedArrayBuffer(HEARTBEAT_BYTES));
    const worker = startWorker(
      this.options.worker?.callerUrl ?? import.meta.url,
      this.options.worker?.name ?? 'scanner-worker',
      { backend: this.options.backend, heartbeat: heartbeat.buffer } satisfies AuditWorkerData,
      this.options.resourceLimits ?? WORKER_LIMITS,
    );
    let markReady = (): void => undefined;
    let markFailed = (_error: Error): void => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    ready.catch(() => undefined); // surfaced by runNow
    const slot: Slot = {
      worker,
      heartbeat,
      lastBeat: 0,
      lastMoved: 0,
      ready,
      started: false,
      dead: false,
      inFlight: new Set(),
    };
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
  private died(slot: Slot, reason: string, stalled = false): void {
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
      if (reading && stalled) {
        // The worker said which file it was on: that one is skipped, the rest of its batch read again.
        const at = Atomics.load(slot.heartbeat, HEARTBEAT_FILE);
        const stuck = files[at];
        // After a cancel, the file a stuck reader held is cancelled like the others, not reported unread.
        const cancelled = Atomics.load(new Int32Array(run.cancel), 0) !== 0;
        if (stuck)
          this.deliver(
            run,
            cancelled ? { path: stuck.path, kind: 'cancelled' } : readerStalled(stuck, this.stallMs),
            stuck,
          );
        const rest = files.filter((_, i) => i !== at);
        if (rest.length > 0) {
          run.queue.unshift(rest);
          run.pending++;
        }
      } else if (!reading || files.length > 1) {
        const again = reading ? files.map((f) => [f]) : [files];
        run.queue.unshift(...again);
        run.pending += again.length;
      } else {
        for (const file of files) this.deliver(run, readerDied(file, reason), file);
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

  /**
   * The per-file watchdog: a worker that holds a batch and has not moved its heartbeat for stallMs is stuck.
   * It is terminated without waiting (a thread blocked in a read may never end) and replaced (died()).
   */
  private watch(): void {
    const now = performance.now();
    // Time the watchdog did not look is not held against a worker: the process was stopped (Ctrl-Z, a frozen
    // VM) or the main thread busy, and a worker computing when it stopped (an extractor between two signs of
    // progress) was reported stalled on resume, its file unread (pool-review.test.ts).
    const missed = Math.max(0, now - this.lastWatch - 2 * this.watchEvery);
    this.lastWatch = now;
    const run = this.active;
    const cancelled = run !== null && Atomics.load(new Int32Array(run.cancel), 0) !== 0;
    const limit = cancelled ? Math.min(this.stallMs, CANCEL_GRACE_MS) : this.stallMs;
    for (const slot of [...this.slots]) {
      slot.lastMoved += missed;
      if (slot.dead || slot.inFlight.size === 0) continue;
      const beat = Atomics.load(slot.heartbeat, HEARTBEAT_COUNT);
      if (beat !== slot.lastBeat) {
        slot.lastBeat = beat;
        slot.lastMoved = now;
      } else if (now - slot.lastMoved > limit) {
        this.died(slot, 'stalled', true);
        slot.worker.terminate().catch(() => undefined);
      }
    }
  }

  private deliver(run: ActiveRun, outcome: WorkOutcome, file: WorkFile): void {
    const onOutcome = run.request.onOutcome;
    if (onOutcome) onOutcome(outcome, file);
    else run.outcomes.push(outcome);
  }

  private batchDone(slot: Slot, batchId: number, outcomes: readonly WorkOutcome[]): void {
    slot.inFlight.delete(batchId);
    const run = this.active;
    const files = run?.sent.get(batchId);
    if (!run || !files) return;
    run.sent.delete(batchId);
    // One outcome per file of the batch, in the batch's order (scanner-worker.ts runBatch).
    if (outcomes.length !== files.length) {
      this.fail(new Error(`audit worker: ${outcomes.length} outcomes for a batch of ${files.length} files`));
      return;
    }
    outcomes.forEach((outcome, i) => {
      const file = files[i];
      if (file) this.deliver(run, outcome, file);
    });
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
      if (slot.inFlight.size === 0) {
        slot.lastBeat = Atomics.load(slot.heartbeat, HEARTBEAT_COUNT);
        slot.lastMoved = performance.now();
      }
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
        this.lastWatch = performance.now();
        this.watchdog = setInterval(() => {
          this.watch();
        }, this.watchEvery);
        this.watchdog.unref();
        for (const slot of this.slots) this.startRunIn(slot, run);
        if (run.pending === 0) resolve();
        for (const slot of this.slots) this.dispatch(slot, run);
      });
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      clearInterval(this.watchdog);
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
