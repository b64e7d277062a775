/**
 * The worker protocol: typed request/response unions (Signal Desktop's shape). Keys travel only in
 * `run-start`, inside one process (worker_threads), and are zeroed by the worker at `run-end`.
 */
import type { Identity, Recipient } from '../../../crypto/keys.js';
import type { BackendName } from '../../../crypto/sodium.js';
import type { FileOutcome, Op } from './types.js';

export interface BatchFile {
  readonly path: string;
  readonly size: number;
}

export type ToWorker =
  | {
      readonly type: 'run-start';
      readonly runId: number;
      readonly recipients: readonly Recipient[];
      readonly identities: readonly Identity[];
      /** Int32Array[0] != 0 means cancel: shared memory, because a busy worker cannot read messages. */
      readonly cancel: SharedArrayBuffer;
      /** The protected folders every file must stay inside (safe-file/dir.ts). */
      readonly roots?: readonly string[];
      /** Where temp files are journaled (safe-file/temp-journal.ts). */
      readonly tempJournalDir?: string;
    }
  | {
      readonly type: 'batch';
      readonly runId: number;
      readonly batchId: number;
      readonly op: Op;
      readonly files: readonly BatchFile[];
    }
  | { readonly type: 'run-end'; readonly runId: number };

export type FromWorker =
  | { readonly type: 'ready'; readonly backend: BackendName }
  /** Bytes done within a large file, sent at most every PROGRESS_INTERVAL_MS. */
  | { readonly type: 'progress'; readonly batchId: number; readonly path: string; readonly bytes: number }
  | { readonly type: 'batch-done'; readonly batchId: number; readonly outcomes: readonly FileOutcome[] }
  /** After `run-end`: plaintexts written to after their removal, brought back as conflict copies. */
  | { readonly type: 'run-ended'; readonly runId: number; readonly outcomes: readonly FileOutcome[] }
  | { readonly type: 'error'; readonly message: string };

export interface WorkerData {
  readonly backend: BackendName;
}

export const PROGRESS_INTERVAL_MS = 100;
