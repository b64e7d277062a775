/**
 * The app's folder status from a cache (issue 10 item 9): each protected folder is scanned once in full,
 * then kept current by watching its directories, and answered from memory. All of that lives in one
 * worker thread (status-cache-worker.ts, status-index.ts): the main thread only sends the folders' rules
 * and receives counts plus at most CLEAR_LIST_LIMIT files in the clear, so neither a scan of 100,000
 * files nor a burst of changes holds the window.
 *
 * The CLI has no watcher and keeps walking (FolderService.status); both classify files the same way
 * (status-dir.ts mirrors walk.ts, tested). Any doubt costs speed, never honesty: see status-index.ts.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-start.js';
import type { FolderStatus } from './folder-service.js';
import type { FolderEntry } from './registry.js';
import type { FromStatusWorker, StatusWorkerData, ToStatusWorker } from './status-cache-worker.js';
import type { CachedSummary, IndexedFolderConfig } from './status-index.js';

export interface StatusCacheDeps {
  /** The app's data folder (what the guard rails keep out of every folder). */
  readonly appHome: string;
  /** The environment the guard rails read (default: this process's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** IT's exclusions, read at each status (a policy change rescans). */
  readonly policyExclusions: () => readonly string[];
  /** Litter patterns, read at each status. */
  readonly ignorePatterns: () => readonly string[];
  /** A tree older than this is scanned again in full (default 10 minutes). */
  readonly maxAgeMs?: number;
  /** How long an answer may spend looking again at changed directories before it reports them CHECKING. */
  readonly budgetMs?: number;
  /** Told of every full scan and why (the app logs it; tests count them). */
  readonly onRescan?: (root: string, reason: string) => void;
}

export class StatusCache {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (s: CachedSummary[]) => void; reject: (e: Error) => void }
  >();
  private closed = false;

  constructor(private readonly deps: StatusCacheDeps) {}

  /**
   * The status of `entries` (the registered folders; with `all`, every one of them: the cache forgets
   * the others). Never touches the file system on this thread.
   */
  async status(entries: readonly FolderEntry[], all = true): Promise<FolderStatus[]> {
    const policy = [...this.deps.policyExclusions()];
    const ignore = [...this.deps.ignorePatterns()];
    const folders: IndexedFolderConfig[] = entries.map((e) => ({
      root: e.path,
      appHome: this.deps.appHome,
      policyExclusions: policy,
      folderExclusions: [...(e.exclude ?? [])],
      ignore,
    }));
    const id = this.nextId++;
    const summaries = await new Promise<CachedSummary[]>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.start().ref(); // an answer is awaited: keep the process up for it
      this.send({ type: 'status', id, folders, budgetMs: this.deps.budgetMs ?? 250, all });
    });
    return entries.map((entry, i) => {
      const s = summaries[i];
      if (s?.root !== entry.path) throw new Error(`status cache: no answer for ${entry.path}`);
      return {
        id: entry.id,
        path: entry.path,
        registered: true,
        state: entry.state,
        protectedFiles: s.protectedFiles,
        protectedBytes: s.protectedBytes,
        plaintextFiles: s.plaintextFiles,
        plaintextBytes: s.plaintextBytes,
        leftovers: s.leftovers,
        skipped: s.skipped,
        lastRun: entry.lastRun ?? null,
        // Runs are tracked by the app's RunTracker (the view's runningRunId), not by the cache.
        running: null,
        protection: s.protection,
      };
    });
  }

  /**
   * Starts the worker now (at the app's start, while nothing waits on it) rather than at the first status;
   * resolves once it answers.
   */
  async warm(): Promise<void> {
    await this.status([], false);
  }

  /** Files a run or the watcher's batches just changed: their directories are looked at before the next answer. */
  touched(paths: readonly string[]): void {
    if (paths.length > 0 && this.worker) this.send({ type: 'touch', paths });
  }

  /** Drops what is cached (of `root`, or of every folder): the next status waits for a full scan. */
  invalidate(reason: string, root?: string): void {
    if (this.worker) this.send({ type: 'invalidate', reason, ...(root !== undefined ? { root } : {}) });
  }

  /** @internal Tests: the watcher of `dir` in folder `root` reports an error, as a lost watch does. */
  failWatcher(root: string, dir: string, message: string): void {
    this.send({ type: 'fail-watcher', root, dir, message });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.rejectAll(new Error('status cache closed'));
    await worker?.terminate();
  }

  private send(message: ToStatusWorker): void {
    if (this.closed) throw new Error('status cache closed');
    this.start().postMessage(message);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const data: StatusWorkerData = {
      ...(this.deps.maxAgeMs !== undefined ? { maxAgeMs: this.deps.maxAgeMs } : {}),
      ...(this.deps.env ? { env: { ...this.deps.env } } : {}),
    };
    const worker = startWorker(import.meta.url, 'status-cache-worker', data);
    // A cache never keeps the app (or a test) alive on its own.
    worker.unref();
    worker.on('message', (message: FromStatusWorker) => {
      if (message.type === 'rescan') this.deps.onRescan?.(message.root, message.reason);
      else {
        const waiter = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (this.waiting.size === 0) worker.unref();
        if (message.type === 'answer') waiter?.resolve(message.summaries);
        else waiter?.reject(new Error(`status cache: ${message.message}`));
      }
    });
    const lost = (error: Error): void => {
      // Whatever it held is gone with it: the next status starts a new worker and scans again.
      if (this.worker === worker) this.worker = null;
      this.rejectAll(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => {
      lost(new Error(`status cache worker exited (code ${code})`));
    });
    this.worker = worker;
    return worker;
  }

  private rejectAll(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
