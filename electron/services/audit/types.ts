/**
 * The data audit's reports (issue 11 item 1), shared by the CLI (`coffer --json audit scan`, `coffer --json audit find`), the app's
 * Audit screen and the breach report. Minimal data: a report names files and counts per detector, never a
 * matched value; `find` never repeats its terms.
 */

/** Detector name → how many matches (only detectors with at least one). Built-in names and policy names. */
export type FindingCounts = Readonly<Record<string, number>>;

/** A file that holds customer data. */
export interface ScannedFile {
  readonly path: string;
  /** A Coffer file (decrypted in memory to be scanned); false for a file in the clear, wherever it is. */
  readonly protected: boolean;
  readonly findings: FindingCounts;
  /** Last modification (ISO 8601); for a protected file, the original file's (FORMAT.md §5.1 metadata). */
  readonly modified: string;
  /** Unmodified for longer than the retention period (policy `retentionDays`). */
  readonly stale: boolean;
  readonly size: number;
  /** Inside a protected folder (a file in the clear there is not protected: it was excluded or is new). */
  readonly inProtectedFolder: boolean;
}

/**
 * Why a file or folder was not scanned:
 * - `rule`: left out on purpose (symlink, hidden folder, keyring or app data, special file);
 * - `content`: read, but no text could be taken from it (binary, unsupported, too large, zip bomb, broken PDF);
 * - `error`: could not be read as it was (unreadable, changed during the scan, failed authentication).
 * Only `error` makes the scan incomplete (`ok: false`, exit 1).
 */
export type SkipKind = 'rule' | 'content' | 'error';

export interface SkippedFile {
  readonly path: string;
  readonly kind: SkipKind;
  readonly code: string;
  /** Plain language. */
  readonly reason: string;
  readonly protected: boolean;
}

export interface ScanSummary {
  /** `policy`: the policy's audit roots plus every protected folder; `paths`: the paths given. */
  readonly scope: 'policy' | 'paths';
  readonly roots: readonly string[];
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly cancelled: boolean;
  /** Files looked at (scanned now, or unchanged since the last scan and taken from the cache). */
  readonly filesScanned: number;
  readonly fromCache: number;
  readonly bytesRead: number;
  readonly filesWithFindings: number;
  /** Files with findings that are in the clear (the ones to act on), and those already protected. */
  readonly unprotectedWithFindings: number;
  readonly protectedWithFindings: number;
  /** Totals per detector, over every file and over the files in the clear. */
  readonly findings: FindingCounts;
  readonly findingsUnprotected: FindingCounts;
  /** Files with findings unmodified for longer than `retentionDays`. */
  readonly staleWithFindings: number;
  readonly retentionDays: number;
  /** Files of a type the audit does not read (images, archives, programs): not opened, not listed. */
  readonly unsupported: number;
  readonly skipped: { readonly rule: number; readonly content: number; readonly error: number };
}

export interface ScanReport {
  readonly command: 'audit scan';
  /** False when any file could not be read (`skipped` kind `error`) or the scan was cancelled. */
  readonly ok: boolean;
  /** Files with at least one finding, largest count first. */
  readonly files: readonly ScannedFile[];
  readonly skipped: readonly SkippedFile[];
  readonly summary: ScanSummary;
}

export interface FoundFile {
  readonly path: string;
  readonly protected: boolean;
  /** Which of the terms (by position in the request, from 0) the name or the content holds. */
  readonly inName: readonly number[];
  readonly inContent: readonly number[];
}

export interface FindReport {
  readonly command: 'audit find';
  readonly ok: boolean;
  readonly terms: number;
  readonly files: readonly FoundFile[];
  readonly skipped: readonly SkippedFile[];
  readonly summary: {
    readonly roots: readonly string[];
    readonly filesSearched: number;
    readonly bytesRead: number;
    readonly durationMs: number;
    readonly cancelled: boolean;
  };
}

/** What a scan or find reports as it goes (the CLI's files bar, the app's progress). */
export interface AuditProgress {
  readonly phase: 'listing' | 'reading';
  readonly filesTotal: number;
  readonly filesDone: number;
  readonly bytesTotal: number;
  readonly bytesDone: number;
  readonly bytesPerSecond: number;
  readonly etaMs: number | null;
}

export interface AuditRunOptions {
  readonly onProgress?: (progress: AuditProgress) => void;
  readonly signal?: AbortSignal;
}
