/**
 * The summaries of the last complete policy scans, in app data (`<home>/data-audit/scans.json`): the last
 * one for the Overview, the series for the Audit screen's trend. Not for the breach report: the user can edit
 * this file, so the report reads the authenticated audit trail instead (attested-scan.ts). Counts only, as the
 * summaries are. Written atomically; an unreadable file is a history that starts again.
 */
import { writeFileAtomic } from '../state/atomic-write.js';
import { withFileLockSync } from '../state/file-lock.js';
import { readOwnFile } from './safe-read.js';
import type { ScanSummary } from './types.js';

const HISTORY_FORMAT = 'coffer-audit-scans-1';
/** 100 summaries of a few KiB each. */
const MAX_HISTORY_BYTES = 16 * 1024 * 1024;

export class ScanHistory {
  /** Enough for a daily trend over three months. */
  static readonly MAX = 100;

  constructor(private readonly file: string) {}

  all(): ScanSummary[] {
    try {
      const text = readOwnFile(this.file, MAX_HISTORY_BYTES);
      if (text === null) return [];
      const doc = JSON.parse(text) as { format?: unknown; scans?: unknown };
      return doc.format === HISTORY_FORMAT && Array.isArray(doc.scans) ? (doc.scans as ScanSummary[]) : [];
    } catch {
      return [];
    }
  }

  last(): ScanSummary | undefined {
    return this.all().at(-1);
  }

  /** Under the file's lock: the CLI's scan and the app's may end together, and neither may be lost. */
  add(summary: ScanSummary): void {
    withFileLockSync(this.file, () => {
      const scans = [...this.all(), summary].slice(-ScanHistory.MAX);
      writeFileAtomic(this.file, JSON.stringify({ format: HISTORY_FORMAT, scans }));
    });
  }
}
