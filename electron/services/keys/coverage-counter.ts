/**
 * "How many files here can IT not restore?" (RotationService.coverage's count) for the app, off its main
 * thread: the count opens every `.coffer` header, 4.2 s of frozen window per folder list at 20,000 files
 * when it ran there. A worker thread (coverage-worker.ts) counts and remembers each header's recovery key
 * IDs by file identity, so a reload with nothing changed opens no file. Questions asked again while one is
 * being answered share its answer.
 */
import { WorkerClient } from '../worker-client.js';
import type { FromCoverageWorker, ToCoverageWorker } from './coverage-worker.js';

type Counted = { notRecoverable: number; files: number; headersRead: number };

export class CoverageCounter {
  private readonly worker: WorkerClient<ToCoverageWorker, FromCoverageWorker, Counted>;
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
    this.worker = new WorkerClient<ToCoverageWorker, FromCoverageWorker, Counted>(
      {
        callerUrl: import.meta.url,
        entry: 'coverage-worker',
        client: 'coverage counter',
        workerName: 'coverage worker',
        answer: (message) =>
          message.type === 'counted' ? message : new Error(`coverage count: ${message.message}`),
      },
      options.warm ?? true,
    );
  }

  /** Files under `folder` that none of `recoveryKeyIds` opens (unreadable headers included). */
  notRecoverable(folder: string, recoveryKeyIds: readonly string[]): Promise<number> {
    const ids = [...recoveryKeyIds].sort();
    const key = JSON.stringify([folder, ids]);
    const already = this.inFlight.get(key);
    if (already) return already;
    const answer = this.worker
      .ask((id) => ({ type: 'count', id, folder, recoveryKeyIds: ids }))
      .then((counted) => {
        this.options.onCounted?.({ folder, files: counted.files, headersRead: counted.headersRead });
        return counted.notRecoverable;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, answer);
    return answer;
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
