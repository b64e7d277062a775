/**
 * Long runs (protect, unprotect, restore, rekey) as seen by the UI: counts, bytes, ETA, per-file errors,
 * cancel. One tracker for every kind, so the renderer has one progress model. Progress events are
 * throttled (every 100 ms at most, plus every state change) so a run of many small files cannot flood IPC.
 */
import { randomUUID } from 'node:crypto';
import { isCofferError } from '../../crypto/errors.js';
import type { FileError, Progress } from '../shared/contract.js';

export interface RunHandle {
  readonly runId: string;
  readonly signal: AbortSignal;
  setTotals(files: number, bytes: number): void;
  /** Adds bytes processed within the current file. */
  addBytes(bytes: number): void;
  fileDone(): void;
  fileFailed(path: string, error: unknown): void;
  /** Absolute counts, for services that report snapshots (FolderService) rather than increments. */
  update(counts: { filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number }): void;
  /** A problem to show with the run that is not one more file done (e.g. a file skipped on purpose). */
  addError(error: FileError): void;
}

const THROTTLE_MS = 100;

export function fileErrorOf(path: string, error: unknown): FileError {
  if (isCofferError(error)) {
    return error.hint
      ? { path, code: error.code, message: error.message, hint: error.hint }
      : { path, code: error.code, message: error.message };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return {
    path,
    code: typeof code === 'string' ? code : 'INTERNAL',
    message: error instanceof Error ? error.message : String(error),
  };
}

export class RunTracker {
  private readonly runs = new Map<
    string,
    { progress: Progress; controller: AbortController; startedAt: number }
  >();
  private readonly listeners = new Set<(p: Progress) => void>();
  private readonly lastSent = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  onProgress(listener: (p: Progress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): Progress[] {
    return [...this.runs.values()].map((r) => ({ ...r.progress, errors: [...r.progress.errors] }));
  }

  running(folderId: string): string | null {
    for (const r of this.runs.values())
      if (r.progress.folderId === folderId && r.progress.state === 'running') return r.progress.runId;
    return null;
  }

  cancel(runId: string): boolean {
    const run = this.runs.get(runId);
    if (!run || run.progress.state !== 'running') return false;
    run.controller.abort();
    return true;
  }

  /** Starts `work` in the background and returns its run ID at once; the outcome arrives as progress. */
  start(kind: Progress['kind'], folderId: string | null, work: (run: RunHandle) => Promise<void>): string {
    const runId = randomUUID();
    const controller = new AbortController();
    const progress: Progress = {
      runId,
      kind,
      folderId,
      state: 'running',
      filesDone: 0,
      filesTotal: 0,
      bytesDone: 0,
      bytesTotal: 0,
      etaMs: null,
      errors: [],
    };
    const entry = { progress, controller, startedAt: this.now() };
    this.runs.set(runId, entry);
    const handle: RunHandle = {
      runId,
      signal: controller.signal,
      setTotals: (files, bytes) => {
        progress.filesTotal = files;
        progress.bytesTotal = bytes;
        this.publish(entry, true);
      },
      addBytes: (bytes) => {
        progress.bytesDone += bytes;
        this.publish(entry, false);
      },
      fileDone: () => {
        progress.filesDone += 1;
        this.publish(entry, false);
      },
      fileFailed: (path, error) => {
        progress.filesDone += 1;
        progress.errors.push(fileErrorOf(path, error));
        this.publish(entry, true);
      },
      update: (counts) => {
        const totalsChanged =
          counts.filesTotal !== progress.filesTotal || counts.bytesTotal !== progress.bytesTotal;
        Object.assign(progress, counts);
        this.publish(entry, totalsChanged);
      },
      addError: (error) => {
        progress.errors.push(error);
        this.publish(entry, true);
      },
    };
    this.publish(entry, true);
    void work(handle).then(
      () => {
        progress.state = controller.signal.aborted ? 'cancelled' : 'done';
        this.finish(entry);
      },
      (error: unknown) => {
        progress.state =
          controller.signal.aborted || isCofferError(error, 'CANCELLED') ? 'cancelled' : 'failed';
        if (progress.state === 'failed') progress.errors.push(fileErrorOf('(run)', error));
        this.finish(entry);
      },
    );
    return runId;
  }

  /** Resolves when the run ends (tests, and the lock on quit). */
  async settled(runId: string): Promise<Progress> {
    for (;;) {
      const run = this.runs.get(runId);
      if (!run) throw new Error(`no run ${runId}`);
      if (run.progress.state !== 'running') return { ...run.progress };
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private finish(entry: { progress: Progress }): void {
    entry.progress.etaMs = null;
    this.publish(entry as { progress: Progress; startedAt: number }, true);
    // Keep the last 50 finished runs for the UI; drop older ones.
    const finished = [...this.runs.values()].filter((r) => r.progress.state !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - 50)))
      this.runs.delete(old.progress.runId);
  }

  private publish(entry: { progress: Progress; startedAt: number }, force: boolean): void {
    const { progress } = entry;
    const now = this.now();
    const last = this.lastSent.get(progress.runId) ?? 0;
    if (!force && now - last < THROTTLE_MS) return;
    this.lastSent.set(progress.runId, now);
    if (progress.state === 'running') {
      const elapsed = now - entry.startedAt;
      // ETA from throughput so far; not before a second of work and 1% done, when it would be noise.
      const left = progress.bytesTotal - progress.bytesDone;
      progress.etaMs =
        elapsed > 1000 && progress.bytesDone > progress.bytesTotal / 100
          ? Math.round((elapsed / progress.bytesDone) * left)
          : null;
    }
    const copy = { ...progress, errors: [...progress.errors] };
    for (const listener of this.listeners) listener(copy);
  }
}
