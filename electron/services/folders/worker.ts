/**
 * A pool worker: runs batches of per-file operations synchronously (the fast path of crypto/file.ts) so
 * the calling thread's event loop stays free. Started by pool.ts; talks only through messages.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Progress } from '../../../crypto/file.js';
import type { Identity, Recipient } from '../../../crypto/keys.js';
import { loadBackend, type SodiumBackend } from '../../../crypto/sodium.js';
import { SafeFiles, TempJournal, type Rescued } from '../safe-file.js';
import { protectFiles, unprotectFiles } from './file-ops.js';
import { PROGRESS_INTERVAL_MS, type FromWorker, type ToWorker, type WorkerData } from './messages.js';
import type { FileOutcome } from './types.js';

interface Run {
  readonly id: number;
  readonly recipients: readonly Recipient[];
  readonly identities: readonly Identity[];
  readonly cancel: Int32Array;
  readonly roots: readonly string[] | undefined;
  readonly safeFiles: SafeFiles;
  readonly journal: TempJournal | null;
}

function secretsOf(run: Run): Uint8Array[] {
  return [
    ...run.recipients.flatMap((r) => (r.kind === 'device' ? [r.key] : [])),
    ...run.identities.flatMap((i) => (i.kind === 'device' ? [i.key] : [i.secretKey])),
  ];
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('worker.ts must run as a worker thread');
  const post = (message: FromWorker): void => {
    port.postMessage(message);
  };
  const { backend } = workerData as WorkerData;
  const sodium: SodiumBackend = await loadBackend(backend);
  // One SafeFiles per temp journal (one per app data folder; in practice one), kept across runs.
  const safeFilesByJournal = new Map<string, { safeFiles: SafeFiles; journal: TempJournal | null }>();
  const safeFilesFor = (
    journalDir: string | undefined,
  ): { safeFiles: SafeFiles; journal: TempJournal | null } => {
    const key = journalDir ?? '';
    let found = safeFilesByJournal.get(key);
    if (!found) {
      const journal = journalDir ? new TempJournal(journalDir) : null;
      found = { safeFiles: new SafeFiles(sodium, journal ? { tempJournal: journal } : {}), journal };
      safeFilesByJournal.set(key, found);
    }
    return found;
  };
  let run: Run | null = null;

  const runBatch = (message: Extract<ToWorker, { type: 'batch' }>): void => {
    const current = run;
    if (!current || current.id !== message.runId) {
      const outcomes = message.files.map((f): FileOutcome => ({ path: f.path, kind: 'cancelled' }));
      post({ type: 'batch-done', batchId: message.batchId, outcomes });
      return;
    }
    const cancelled = (): boolean => Atomics.load(current.cancel, 0) !== 0;
    const progressFor = (path: string): Progress => {
      const controller = new AbortController();
      // A file not started when cancel arrives is not started at all.
      if (cancelled()) controller.abort();
      let lastSent = Date.now();
      let sent = 0;
      return {
        signal: controller.signal,
        onProgress: (bytes) => {
          // Checked per chunk: a cancel stops the file in flight, which SafeFiles rolls back.
          if (cancelled()) controller.abort();
          const now = Date.now();
          if (now - lastSent >= PROGRESS_INTERVAL_MS) {
            post({ type: 'progress', batchId: message.batchId, path, bytes: bytes - sent });
            sent = bytes;
            lastSent = now;
          }
        },
      };
    };
    const context = {
      sodium,
      safeFiles: current.safeFiles,
      ...(current.roots ? { roots: current.roots } : {}),
      recipients: current.recipients,
      identities: current.identities,
      progressFor,
    };
    const paths = message.files.map((f) => f.path);
    // Both batched: one durability barrier per step per message, not per file. A file not started when
    // cancel arrives is not started at all (progressFor aborts it before its first byte).
    const outcomes: FileOutcome[] =
      message.op === 'protect' ? protectFiles(paths, context) : unprotectFiles(paths, context);
    // Every temp of the batch has its name or is gone: its journal lines go (temp-journal.ts compact).
    compactQuietly(current.journal);
    post({ type: 'batch-done', batchId: message.batchId, outcomes });
  };

  port.on('message', (message: ToWorker) => {
    try {
      switch (message.type) {
        case 'run-start':
          run = {
            id: message.runId,
            recipients: message.recipients,
            identities: message.identities,
            cancel: new Int32Array(message.cancel),
            roots: message.roots,
            ...safeFilesFor(message.tempJournalDir),
          };
          break;
        case 'batch':
          runBatch(message);
          break;
        case 'run-end': {
          const ended = run && run.id === message.runId ? run : null;
          if (ended) {
            for (const secret of secretsOf(ended)) sodium.zero(secret);
            run = null;
          }
          // Waits out the grace periods of the plaintexts this worker removed (safe-file/held.ts).
          const late = ended ? ended.safeFiles.settle().map(rescuedOutcome) : [];
          if (ended) compactQuietly(ended.journal);
          post({ type: 'run-ended', runId: message.runId, outcomes: late });
          break;
        }
      }
    } catch (error) {
      post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  });
  post({ type: 'ready', backend });
}

/** A journal that cannot be compacted now keeps its lines: the next start checks them (slower, not unsafe). */
function compactQuietly(journal: TempJournal | null): void {
  try {
    journal?.compact();
  } catch {
    // see above
  }
}

/** A plaintext written to after its removal: its new content is a conflict copy, in the clear. */
function rescuedOutcome(rescued: Rescued): FileOutcome {
  return {
    path: rescued.copy ?? rescued.path,
    kind: 'skipped',
    code: 'CONFLICT_COPY',
    reason: rescued.message,
  };
}

main().catch((error: unknown) => {
  parentPort?.postMessage({
    type: 'error',
    message: error instanceof Error ? error.message : String(error),
  } satisfies FromWorker);
});
