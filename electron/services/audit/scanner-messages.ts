/**
 * The data-audit worker protocol (pool.ts ↔ scanner-worker.ts). Device identities travel only in
 * `run-start`, inside one process (worker_threads), and are zeroed by the worker at `run-end`. Outcomes
 * carry counts and term positions, never text.
 */
import type { Identity } from '../../../crypto/keys.js';
import type { BackendName } from '../../../crypto/sodium.js';
import type { CustomerDataPattern } from '../policy/schema.js';
import type { ListedFile } from './scanner-walk.js';
import type { FindingCounts } from './types.js';

/**
 * A listed file, as listed: the worker takes the extractor from its (inner) name itself (kindOf in
 * scanner-worker.ts). A copy of each file with its kind, made on the main thread for every file to read,
 * was 52 MB at 100,000 files (measured).
 */
export type WorkFile = ListedFile;

export type WorkMode =
  | { readonly op: 'scan'; readonly patterns: readonly CustomerDataPattern[] }
  | {
      readonly op: 'find';
      readonly terms: readonly string[];
    };

export type WorkOutcome =
  | {
      readonly path: string;
      readonly kind: 'scanned';
      readonly findings: FindingCounts;
      readonly modifiedMs: number;
    }
  | { readonly path: string; readonly kind: 'found'; readonly inName: number[]; readonly inContent: number[] }
  /** No text could be taken from it (depends on the content only: cached). */
  | { readonly path: string; readonly kind: 'content'; readonly code: string; readonly reason: string }
  /** Could not be read as listed (unreadable, changed, failed authentication): never cached. */
  | { readonly path: string; readonly kind: 'error'; readonly code: string; readonly reason: string }
  | { readonly path: string; readonly kind: 'cancelled' };

export type ToAuditWorker =
  | {
      readonly type: 'run-start';
      readonly runId: number;
      readonly mode: WorkMode;
      readonly identities: readonly Identity[];
      /** Int32Array[0] != 0 means cancel: shared memory, because a busy worker cannot read messages. */
      readonly cancel: SharedArrayBuffer;
    }
  | {
      readonly type: 'batch';
      readonly runId: number;
      readonly batchId: number;
      readonly files: readonly WorkFile[];
    }
  | { readonly type: 'run-end'; readonly runId: number };

export type FromAuditWorker =
  | { readonly type: 'ready' }
  /** Bytes read since the last progress message of this batch, at most every PROGRESS_INTERVAL_MS. */
  | { readonly type: 'progress'; readonly batchId: number; readonly bytes: number }
  | { readonly type: 'batch-done'; readonly batchId: number; readonly outcomes: readonly WorkOutcome[] }
  | { readonly type: 'run-ended'; readonly runId: number }
  | { readonly type: 'error'; readonly message: string };

export interface AuditWorkerData {
  readonly backend: BackendName;
  /** Int32Array of HEARTBEAT_BYTES: the pool's per-file watchdog reads it (pool.ts watch()). */
  readonly heartbeat: SharedArrayBuffer;
}

export const HEARTBEAT_BYTES = 8;
/** Bumped by the worker at each file it begins and each piece of a file it reads. */
export const HEARTBEAT_COUNT = 0;
/** Index, in the batch being read, of the file the worker is on. */
export const HEARTBEAT_FILE = 1;

export const PROGRESS_INTERVAL_MS = 100;
