/**
 * The vocabulary of folder runs: what happened to each file, and the report a run returns. Plain data, so
 * it crosses worker, IPC and CLI boundaries unchanged (no keys, no class instances).
 */
export type Op = 'protect' | 'unprotect';

/** What happened to one file in a run. */
export type FileOutcome =
  | { readonly path: string; readonly kind: 'done'; readonly bytes: number; readonly target: string }
  /** `x` and `x.coffer` were both present with the same content (an interrupted run): the extra copy was removed. */
  | { readonly path: string; readonly kind: 'leftover'; readonly removed: string }
  /** Nothing done, and nothing to do (already in the wanted state, or vanished before we got to it). */
  | { readonly path: string; readonly kind: 'skipped'; readonly code: string; readonly reason: string }
  /** Changed while read: left as it was, tried again later. */
  | { readonly path: string; readonly kind: 'changed' }
  | { readonly path: string; readonly kind: 'cancelled' }
  | {
      readonly path: string;
      readonly kind: 'failed';
      readonly code: string;
      readonly message: string;
      readonly hint: string;
    };

export interface FileIssue {
  readonly path: string;
  readonly code: string;
  readonly message: string;
  readonly hint: string;
}

export interface RunReport {
  readonly op: Op;
  readonly folder: string;
  /** Files that needed work at the start (plaintext for protect, `.coffer` for unprotect). */
  readonly filesTotal: number;
  readonly bytesTotal: number;
  readonly filesDone: number;
  readonly bytesDone: number;
  /** Already in the wanted state before the run. */
  readonly alreadyDone: number;
  /** Interrupted-run leftovers resolved to one copy (temp files removed, duplicate copies removed). */
  readonly leftoversResolved: number;
  /** Files that could not be processed, each with a stable code and what to do. */
  readonly failed: readonly FileIssue[];
  /** Not touched on purpose (symlinks, special files, names too long, conflicts, in use, still changing). */
  readonly skipped: readonly FileIssue[];
  /** Ignored as OS or editor litter. */
  readonly ignored: number;
  readonly cancelled: boolean;
  readonly durationMs: number;
}

/** A progress event of a running protect or unprotect. */
export interface RunProgress {
  readonly op: Op;
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** The file most recently started (for display only). */
  readonly current: string | null;
  /** Bytes per second since the run started. */
  readonly bytesPerSecond: number;
  /** Milliseconds left at the current throughput; null until there is enough to estimate. */
  readonly etaMs: number | null;
}
