/**
 * The data audit's state in app data (0600): the last scan's findings (kept beyond what the screen lists,
 * so an action on any of them is still checked) and what has happened to them since. The file is
 * unauthenticated (another process can write it): what is read from it is checked again before any action
 * (findings.ts), and a damaged or huge file only loses the list (the next scan rebuilds it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { AuditSummaryView } from '../../../shared/contract.js';
import { isFileAt } from './paths.js';
import type { ScanReportLike } from './scanner-types.js';

/** Kept beyond what is listed, so an action on any finding of the last scan is still checked. */
const MAX_KEPT = 20_000;
const MAX_SKIPPED = 200;
const MAX_STATE_BYTES = 32 * 1024 * 1024;

const counts = z.record(z.string().max(200), z.number().int().nonnegative());
const summarySchema = z.object({
  at: z.number(),
  filesScanned: z.number(),
  filesWithData: z.number(),
  unprotectedWithData: z.number(),
  staleFiles: z.number(),
  skipped: z.number(),
  byDetector: counts,
});
const keptFileSchema = z.object({
  path: z.string(),
  folder: z.string(),
  protected: z.boolean(),
  findings: counts,
  modified: z.number(),
  stale: z.boolean(),
  size: z.number(),
});
const stored = z.object({
  version: z.literal(2),
  last: z
    .object({
      summary: summarySchema,
      files: z.array(keptFileSchema),
      filesNotKept: z.number(),
      /** Findings in the clear whose folder's protect run was started: listed until they are gone. */
      pending: z.array(z.string()).default([]),
      skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
      retentionDays: z.number().nullable(),
    })
    .nullable(),
});
type Stored = z.infer<typeof stored>;
export type KeptFile = z.infer<typeof keptFileSchema>;
export type LastScan = NonNullable<Stored['last']>;

const EMPTY: Stored = { version: 2, last: null };

export function total(findings: Readonly<Record<string, number>>): number {
  return Object.values(findings).reduce((n, c) => n + c, 0);
}

/** A scanner's finding as kept: its folder is the one the file is in, its time in ms (0 when unreadable). */
export function keptFile(f: ScanReportLike['files'][number]): KeptFile {
  const modified = Date.parse(f.modified);
  return {
    path: f.path,
    folder: path.dirname(f.path),
    protected: f.protected,
    findings: { ...f.findings },
    modified: Number.isFinite(modified) ? modified : 0,
    stale: f.stale,
    size: f.size,
  };
}

/** What is kept of a scan: its findings, most found first, and its skipped files that are a problem. */
export function keptScan(report: ScanReportLike, summary: AuditSummaryView): LastScan {
  const files = [...report.files]
    .sort((a, b) => total(b.findings) - total(a.findings) || a.path.localeCompare(b.path))
    .slice(0, MAX_KEPT)
    .map(keptFile);
  return {
    summary,
    files,
    filesNotKept: Math.max(0, report.files.length - MAX_KEPT),
    pending: [],
    // Left out on purpose (`rule`: links, app data) is not a problem to show.
    skipped: report.skipped
      .filter((k) => k.kind !== 'rule')
      .slice(0, MAX_SKIPPED)
      .map((k) => ({ path: k.path, reason: k.reason })),
    retentionDays: report.summary.retentionDays,
  };
}

function load(file: string): Stored {
  try {
    // 20,000 kept findings are a few MB; anything far larger was not written by us, and reading a huge
    // file at start would stall or kill the app.
    if (fs.statSync(file).size > MAX_STATE_BYTES) return EMPTY;
    const parsed = stored.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    // A damaged file only loses the trend and the list (the next scan rebuilds it): never fatal.
    if (!parsed.success) return EMPTY;
    const last = parsed.data.last;
    // The folder shown in the confirmations is the one the file is in, not a stored (editable) copy.
    return last
      ? {
          ...parsed.data,
          last: { ...last, files: last.files.map((f) => ({ ...f, folder: path.dirname(f.path) })) },
        }
      : parsed.data;
  } catch {
    return EMPTY;
  }
}

/** The last scan's findings as they stand, read at start and written on each change. */
export class AuditState {
  private state: Stored;

  constructor(private readonly file: string) {
    this.state = load(file);
  }

  get last(): LastScan | null {
    return this.state.last;
  }

  /** A new scan replaces the last one. */
  record(last: LastScan): void {
    this.state = { version: 2, last };
    this.save();
  }

  /** A finding read again: what the scanner says now replaces the record (kept in memory only). */
  refresh(fresh: KeptFile): void {
    const last = this.state.last;
    if (!last) return;
    this.state = {
      ...this.state,
      last: { ...last, files: last.files.map((f) => (f.path === fresh.path ? fresh : f)) },
    };
  }

  /**
   * Pending findings (a protect run was started on their folder) that are no longer in the clear at their
   * path leave the list and the "not protected" count; those still there stay, so a file the run left in
   * the clear (busy, excluded, a hard link) is still counted (DESIGN.md: counts are honest).
   */
  settle(): void {
    const pending = this.state.last?.pending ?? [];
    if (pending.length === 0) return;
    const done = new Set(pending.filter((p) => !isFileAt(p)));
    if (done.size === 0) return;
    this.forget((f) => !done.has(f.path), false);
  }

  /**
   * Drops acted-on files from the list and from the last summary's counts, so the Overview stops asking
   * about them: deleted files leave the counts, protected or moved ones leave "not protected" only.
   */
  forget(keep: (f: KeptFile) => boolean, deleted: boolean): void {
    const last = this.state.last;
    if (!last) return;
    const gone = last.files.filter((f) => !keep(f));
    const s = last.summary;
    const summary: AuditSummaryView = {
      ...s,
      filesWithData: deleted ? Math.max(0, s.filesWithData - gone.length) : s.filesWithData,
      unprotectedWithData: Math.max(0, s.unprotectedWithData - gone.filter((f) => !f.protected).length),
      staleFiles: deleted ? Math.max(0, s.staleFiles - gone.filter((f) => f.stale).length) : s.staleFiles,
    };
    const files = last.files.filter(keep);
    const listed = new Set(files.map((f) => f.path));
    const pending = last.pending.filter((p) => listed.has(p));
    this.state = { ...this.state, last: { ...last, summary, files, pending } };
    this.save();
  }

  /**
   * A finding moved into a protected folder is still in the clear there until the folder's run protects
   * it: listed at its new place (and counted) until then, like a folder's findings after "Protect folder".
   */
  relocate(from: string, to: string): void {
    const last = this.state.last;
    if (!last) return;
    let modified: number | undefined;
    try {
      modified = fs.lstatSync(to).mtimeMs; // a copy across disks has a new time
    } catch {
      modified = undefined;
    }
    const files = last.files.map((f) =>
      f.path === from ? { ...f, path: to, folder: path.dirname(to), modified: modified ?? f.modified } : f,
    );
    this.state = { ...this.state, last: { ...last, files } };
    this.markPending([to]);
  }

  markPending(paths: readonly string[]): void {
    const last = this.state.last;
    if (!last || paths.length === 0) return;
    this.state = { ...this.state, last: { ...last, pending: [...new Set([...last.pending, ...paths])] } };
    this.save();
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const temp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(this.state), { mode: 0o600 });
    fs.renameSync(temp, this.file);
  }
}
