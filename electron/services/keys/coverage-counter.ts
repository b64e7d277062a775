/**
 * "How many files here can IT not restore?" (RotationService.coverage's count) for the app, off its main
 * thread: the count opens every `.coffer` header, 4.2 s of frozen window per folder list at 20,000 files
 * when it ran there. A worker thread (coverage-worker.ts) counts and remembers each header's recovery key
 * IDs by file identity, so a reload with nothing changed opens no file. Questions asked again while one is
 * being answered share its answer.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-start.js';
import type { FromCoverageWorker, ToCoverageWorker } from './coverage-worker.js';

export class CoverageCounter {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly waiting = new Map<
    number,
    {
      resolve: (c: { notRecoverable: number; files: number; headersRead: number }) => void;
      reject: (e: Error) => void;
    }
  >();
  private readonly inFlight = new Map<string, Promise<number>>();

  /**
   * `onCounted` hears how many files each answer looked at and how many headers it opened (tests, logs).
   * The worker starts now (unless `warm` is false), so that no folder list waits for it or pays its start.
   */
  constructor(
    private readonly options: {
      onCounted?: (c: { folder: string; files: number; headersRead: number }) => void;
      warm?: boolean;
    } = {},
  ) {
    if (options.warm ?? true) this.start();
  }

  /** Files under `folder` that none of `recoveryKeyIds` opens (unreadable headers included). */
  notRecoverable(folder: string, recoveryKeyIds: readonly string[]): Promise<number> {
    const ids = [...recoveryKeyIds].sort();
    const key = JSON.stringify([folder, ids]);
    const already = this.inFlight.get(key);
    if (already) return already;
    const id = this.nextId++;
    const answer = new Promise<{ notRecoverable: number; files: number; headersRead: number }>(
      (resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        const worker = this.start();
        worker.ref();
        worker.postMessage({ type: 'count', id, folder, recoveryKeyIds: ids } satisfies ToCoverageWorker);
      },
    )
      .then((counted) => {
        this.options.onCounted?.({ folder, files: counted.files, headersRead: counted.headersRead });
        return counted.notRecoverable;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, answer);
    return answer;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.fail(new Error('coverage counter closed'));
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(import.meta.url, 'coverage-worker', {});
    worker.unref();
    worker.on('message', (message: FromCoverageWorker) => {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (this.waiting.size === 0) worker.unref();
      if (message.type === 'counted') waiter?.resolve(message);
      else waiter?.reject(new Error(`coverage count: ${message.message}`));
    });
    const lost = (error: Error): void => {
      // A worker already replaced or closed has no question of the current one to fail.
      if (this.worker !== worker) return;
      this.worker = null;
      this.fail(error);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => {
      lost(new Error(`coverage worker exited (code ${code})`));
    });
    this.worker = worker;
    return worker;
  }

  private fail(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
