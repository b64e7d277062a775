/** What the Audit screen is shown: the last scan's summary and findings, and the trend of past scans. */
import type { AuditFileView, AuditSummaryView, AuditView } from '../../../shared/contract.js';
import type { ScanSummaryLike } from './scanner-types.js';
import type { LastScan } from './store.js';

const MAX_FILES = 1000;
const MAX_HISTORY = 60;

/** One scan's summary as the screen and the trend show it; `now` stands in for a finish time unreadable. */
export function summaryOf(s: ScanSummaryLike, now: () => number): AuditSummaryView {
  const at = Date.parse(s.finishedAt);
  return {
    at: Number.isFinite(at) ? at : now(),
    filesScanned: s.filesScanned,
    filesWithData: s.filesWithFindings,
    unprotectedWithData: s.unprotectedWithFindings,
    staleFiles: s.staleWithFindings,
    skipped: s.skipped.content + s.skipped.error,
    byDetector: { ...s.findings },
  };
}

export function viewOf(
  last: LastScan | null,
  scans: readonly ScanSummaryLike[],
  running: boolean,
  now: () => number,
): AuditView {
  const files = last?.files ?? [];
  const history = scans.map((s) => summaryOf(s, now)).slice(-MAX_HISTORY);
  return {
    // This app's last scan (a chosen folder's too); else the last policy scan, the CLI's included.
    last: last?.summary ?? history.at(-1) ?? null,
    files: files.slice(0, MAX_FILES).map((f): AuditFileView => ({
      path: f.path,
      folder: f.folder,
      protected: f.protected,
      findings: f.findings,
      modified: f.modified,
      stale: f.stale,
    })),
    filesNotListed: Math.max(0, files.length - MAX_FILES) + (last?.filesNotKept ?? 0),
    skipped: last?.skipped ?? [],
    history,
    retentionDays: last?.retentionDays ?? null,
    running,
    protecting: last?.pending.length ?? 0,
  };
}
