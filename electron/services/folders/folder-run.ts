/**
 * One protect or unprotect run over a folder, streamed: the walk (walk.ts walkItems) is read a chunk at
 * a time and handed to the worker pool as the pool needs work, so a run holds a few chunks of paths and
 * the files that need a reason, never the tree (issue 10 scale target: bounded by the batch at 1,000,000
 * files). Files that changed while read are tried again after the stream, a few times. Safety lives
 * below: the workers' SafeFiles (dir-fd containment, busy check, journal) and the walk's guard rails.
 */
import type { Identity, Recipient } from '../../../crypto/keys.js';
import type { TempJournal } from '../safe-file.js';
import type { BatchFile } from './messages.js';
import type { WorkerPool } from './pool.js';
import { ProgressTracker } from './progress.js';
import { RunTally } from './run-tally.js';
import type { FileOutcome, Op, RunProgress, RunReport } from './types.js';
import type { WalkItem } from './walk.js';

export interface FolderRunDeps {
  readonly pool: () => WorkerPool;
  /** Asked only when there is work (a folder with nothing to do needs no key). */
  readonly loadKeys: () => Promise<{ recipients: Recipient[]; identities: Identity[] }>;
  readonly tempJournal: TempJournal;
  readonly tempJournalDir: string;
  readonly retries: number;
  readonly retryDelayMs: number;
  /** A chunk of the walk closes at this many files or bytes: what the run holds besides its problems. */
  readonly chunkFiles?: number;
  readonly chunkBytes?: number;
}

export interface FolderRunRequest {
  readonly op: Op;
  readonly path: string;
  readonly items: Iterator<WalkItem | undefined, void>;
  /** Only the pairs an interrupted run left (`x` beside `x.coffer`), as at start. */
  readonly leftoversOnly: boolean;
  readonly onProgress?: (progress: RunProgress) => void;
  readonly signal?: AbortSignal;
}

export interface FolderRunResult {
  readonly report: RunReport;
  /** Files a cancel left as they were (not reached ones are not counted: the walk stops too). */
  readonly cancelledFiles: number;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function runFolder(deps: FolderRunDeps, request: FolderRunRequest): Promise<FolderRunResult> {
  const { op, path, signal } = request;
  const started = performance.now();
  const tally = new RunTally();
  const tracker = new ProgressTracker(op, 0, 0, request.onProgress);
  const chunkFiles = deps.chunkFiles ?? 1024;
  const chunkBytes = deps.chunkBytes ?? 256 * 1024 * 1024;
  const temps: string[] = [];
  // The files handed to the pool and not answered yet (their sizes, for a retry): a few chunks at most.
  const inFlight = new Map<string, number>();
  let changed: BatchFile[] = [];

  const take = (file: BatchFile, chunk: BatchFile[]): void => {
    tally.filesTotal++;
    tally.bytesTotal += file.size;
    tracker.grow(1, file.size);
    inFlight.set(file.path, file.size);
    chunk.push(file);
  };
  let walked = false;
  /** The next chunk of work from the walk, counting everything else it meets; null when it is over. */
  const nextChunk = (): BatchFile[] | null => {
    if (walked || signal?.aborted) return null;
    const chunk: BatchFile[] = [];
    let bytes = 0;
    while (chunk.length < chunkFiles && bytes < chunkBytes) {
      const step = request.items.next();
      if (step.done) {
        walked = true;
        tracker.walked();
        break;
      }
      const item = step.value;
      if (!item) continue;
      switch (item.kind) {
        case 'plaintext':
        case 'protected':
          if ((item.kind === 'plaintext') === (op === 'protect')) {
            if (!request.leftoversOnly || item.paired) {
              take({ path: item.path, size: item.size }, chunk);
              bytes += item.size;
            }
          } else if (!item.paired) tally.alreadyDone++;
          break;
        case 'temp':
          temps.push(item.path);
          break;
        case 'skipped':
          tally.walkSkip(item.issue);
          break;
        case 'ignored':
          tally.ignored++;
          break;
      }
    }
    resolveTemps();
    return chunk.length > 0 || !walked ? chunk : null;
  };
  // Only temp files the journal proves Coffer made (by a run that is over) go; a user's file named like
  // one stays, reported (safe-file/temp-journal.ts). Decided as the walk finds them, chunk by chunk.
  const resolveTemps = (): void => {
    if (temps.length === 0) return;
    const resolved = deps.tempJournal.resolve(temps.splice(0));
    tally.leftovers += resolved.removed.length;
    for (const temp of resolved.kept)
      tally.walkSkip({
        path: temp,
        code: 'UNKNOWN_TEMP',
        message: `${temp}: named like a Coffer temporary file, but not one Coffer can prove it made; left alone`,
        hint: 'If it is yours, rename it; if a Coffer run was interrupted, the next start removes what it made.',
      });
  };
  const onOutcome = (o: FileOutcome): void => {
    inFlight.delete(o.path);
    if (o.kind === 'changed') {
      changed.push({ path: o.path, size: 0 });
      return;
    }
    if (o.kind !== 'cancelled') tracker.file(o.path);
    tally.outcome(o);
  };
  const onBytes = (bytes: number, file: string): void => {
    tracker.bytes(bytes, file);
  };

  const first = nextChunk();
  if (first !== null) {
    const { recipients, identities } = await deps.loadKeys();
    const pool = deps.pool();
    const common = {
      op,
      roots: [path],
      tempJournalDir: deps.tempJournalDir,
      recipients,
      identities,
      onBytes,
      ...(signal ? { signal } : {}),
    };
    let handed = false;
    // Sizes of changed files, remembered as they come back (inFlight forgets them at their outcome).
    const sizeOf = new Map<string, number>();
    await pool.stream({
      ...common,
      next: () => {
        if (!handed) {
          handed = true;
          return first;
        }
        return nextChunk();
      },
      onOutcome: (o) => {
        if (o.kind === 'changed') sizeOf.set(o.path, inFlight.get(o.path) ?? 0);
        onOutcome(o);
      },
      onLate: (o) => {
        tally.outcome(o);
      },
    });
    changed = changed.map((f) => ({ path: f.path, size: sizeOf.get(f.path) ?? 0 }));
    for (let attempt = 0; changed.length > 0 && !cancelledNow(); attempt++) {
      if (attempt >= deps.retries) break;
      await delay(deps.retryDelayMs);
      const again = changed;
      changed = [];
      const outcomes = await pool.run({ ...common, files: again, onOutcome });
      // run() also returns the late outcomes (conflict copies), which onOutcome did not see.
      const seen = new Set(again.map((f) => f.path));
      for (const o of outcomes) if (!seen.has(o.path)) tally.outcome(o);
      changed = changed.map((f) => ({ path: f.path, size: again.find((a) => a.path === f.path)?.size ?? 0 }));
    }
    for (const f of changed) tally.outcome({ path: f.path, kind: 'changed' });
  }
  function cancelledNow(): boolean {
    return tally.cancelledFiles > 0 || signal?.aborted === true;
  }
  tracker.walked();
  tracker.finish();
  const cancelled = cancelledNow();
  return { report: tally.report(op, path, cancelled, started), cancelledFiles: tally.cancelledFiles };
}
