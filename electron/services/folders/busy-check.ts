/**
 * "Does another process hold these files open?" for the watcher, off its thread. On Linux the answer is a
 * walk of every process's /proc/<pid>/fd (safe-file/busy.ts), 60–150 ms on a loaded machine with many
 * processes: on the app's main thread that froze the window at each watcher batch. The walk, and the
 * lstat/realpath of each path it needs, run in a worker (busy-check-worker.ts) that keeps its probe, so a
 * scan is reused across batches for as long as the probe allows.
 */
import { lstatSync, realpathSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-start.js';
import type { OpenFileProbe } from '../safe-file.js';
import type { FromBusyWorker, ToBusyWorker } from './busy-check-worker.js';

export interface BusyCheck {
  /** The paths among `paths` another process has open now; an unreadable or vanished one counts as not. */
  heldElsewhere(paths: readonly string[]): Promise<Set<string>>;
  close(): Promise<void>;
}

/** Asks `probe` on the calling thread (a probe given by a caller, e.g. a test's, lives here). */
export function heldElsewhereNow(probe: OpenFileProbe, paths: readonly string[]): Set<string> {
  const queries: { path: string; dev: number; ino: number; real: string }[] = [];
  for (const path of paths) {
    try {
      const stats = lstatSync(path);
      queries.push({ path, dev: stats.dev, ino: stats.ino, real: realpathSync.native(path) });
    } catch {
      // gone: the sink finds nothing to do
    }
  }
  const held = probe.holders(queries);
  return new Set([...held.keys()].flatMap((i) => queries[i]?.path ?? []));
}

export class InThreadBusyCheck implements BusyCheck {
  constructor(private readonly probe: OpenFileProbe) {}

  heldElsewhere(paths: readonly string[]): Promise<Set<string>> {
    return Promise.resolve(heldElsewhereNow(this.probe, paths));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The platform's probe (safe-file/busy.ts defaultProbe) in a worker thread, started at the first question. */
export class WorkerBusyCheck implements BusyCheck {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (s: Set<string>) => void; reject: (e: Error) => void }
  >();

  heldElsewhere(paths: readonly string[]): Promise<Set<string>> {
    if (paths.length === 0) return Promise.resolve(new Set());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const worker = this.start();
      worker.ref();
      worker.postMessage({ type: 'held', id, paths: [...paths] } satisfies ToBusyWorker);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.fail(new Error('busy check closed'));
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(import.meta.url, 'busy-check-worker', {});
    worker.unref();
    worker.on('message', (message: FromBusyWorker) => {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (this.waiting.size === 0) worker.unref();
      if (message.type === 'held') waiter?.resolve(new Set(message.paths));
      else waiter?.reject(new Error(`busy check: ${message.message}`));
    });
    const lost = (error: Error): void => {
      if (this.worker === worker) this.worker = null;
      this.fail(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => {
      lost(new Error(`busy check worker exited (code ${code})`));
    });
    this.worker = worker;
    return worker;
  }

  private fail(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
