/** The audit scanner as the app's data audit uses it (electron/services/audit/ is the real one). */

/** The part of the scanner's ScanReport (electron/services/audit/types.ts) the screen uses. */
export interface ScanReportLike {
  readonly files: readonly {
    readonly path: string;
    readonly protected: boolean;
    readonly findings: Readonly<Record<string, number>>;
    readonly modified: string;
    readonly stale: boolean;
    readonly size: number;
  }[];
  readonly skipped: readonly { readonly path: string; readonly kind: string; readonly reason: string }[];
  readonly summary: ScanSummaryLike;
}

/** The part of the scanner's ScanSummary the screen uses. */
export interface ScanSummaryLike {
  readonly finishedAt: string;
  readonly cancelled: boolean;
  readonly filesScanned: number;
  readonly filesWithFindings: number;
  readonly unprotectedWithFindings: number;
  readonly findings: Readonly<Record<string, number>>;
  readonly staleWithFindings: number;
  readonly retentionDays: number;
  readonly skipped: { readonly rule: number; readonly content: number; readonly error: number };
}

/** The scanner as the app uses it: AuditService (electron/services/audit/scanner.ts). */
export interface AuditScanner {
  /** The complete scans of the policy's roots (any process's, the CLI's too), oldest first: the trend. */
  scans(): readonly ScanSummaryLike[];
  /** The roots a scan without paths covers (the policy's and every protected folder): where a finding kept
   * in app data may be acted on after a restart. */
  policyRoots(): readonly string[];
  scan(
    paths: string[] | undefined,
    options: {
      onProgress?: (p: { filesDone: number; filesTotal: number; bytesDone: number }) => void;
      signal?: AbortSignal;
    },
  ): Promise<ScanReportLike>;
}
