/**
 * The app's data audit (issue 11 item 4) over the audit scanner (electron/services/audit/): runs one scan
 * at a time, keeps the last scan's findings and one small summary per scan (the trend) in app data, and
 * acts on a finding only when its path is one the last scan reported and the file is still the one it
 * read. The renderer never names an arbitrary file to delete: a path it sends that the last scan did not
 * list is refused here (NOT_IN_AUDIT), whatever the screen did.
 *
 * Nothing here holds a matched value: the scanner reports counts per detector only (types.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CofferError } from '../../../crypto/errors.js';
import type { AuditFileView, AuditProgress, AuditSummaryView, AuditView } from '../../shared/contract.js';
import type { AuditAction, AuditPort, FoldersPort } from '../ports.js';

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
  scan(
    paths: string[] | undefined,
    options: {
      onProgress?: (p: { filesDone: number; filesTotal: number; bytesDone: number }) => void;
      signal?: AbortSignal;
    },
  ): Promise<ScanReportLike>;
}

const MAX_FILES = 1000;
/** Kept beyond what is listed, so an action on any finding of the last scan is still checked. */
const MAX_KEPT = 20_000;
const MAX_SKIPPED = 200;
const MAX_HISTORY = 60;

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
const keptFile = z.object({
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
      files: z.array(keptFile),
      filesNotKept: z.number(),
      skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
      retentionDays: z.number().nullable(),
    })
    .nullable(),
});
type Stored = z.infer<typeof stored>;
type KeptFile = z.infer<typeof keptFile>;

const EMPTY: Stored = { version: 2, last: null };

export interface AuditAdapterDeps {
  scanner: AuditScanner;
  folders: Pick<FoldersPort, 'list' | 'add' | 'protect'>;
  /** The app-data file of the last findings and the per-scan summaries (0600). */
  file: string;
  onProgress?: (progress: AuditProgress) => void;
  now?: () => number;
}

function total(findings: Readonly<Record<string, number>>): number {
  return Object.values(findings).reduce((n, c) => n + c, 0);
}

/** `a` is `b` or inside it (both absolute). */
function within(a: string, b: string): boolean {
  const rel = path.relative(b, a);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function realOrSame(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

export class AuditAdapter implements AuditPort {
  private state: Stored;
  private running: AbortController | null = null;
  private readonly now: () => number;

  constructor(private readonly deps: AuditAdapterDeps) {
    this.now = deps.now ?? Date.now;
    this.state = this.load();
  }

  private load(): Stored {
    try {
      const parsed = stored.safeParse(JSON.parse(fs.readFileSync(this.deps.file, 'utf8')));
      // A damaged file only loses the trend and the list (the next scan rebuilds it): never fatal.
      return parsed.success ? parsed.data : EMPTY;
    } catch {
      return EMPTY;
    }
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.deps.file), { recursive: true, mode: 0o700 });
    const temp = `${this.deps.file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(this.state), { mode: 0o600 });
    fs.renameSync(temp, this.deps.file);
  }

  view(): AuditView {
    const last = this.state.last;
    const files = last?.files ?? [];
    const history = this.deps.scanner
      .scans()
      .map((s) => this.summaryOf(s))
      .slice(-MAX_HISTORY);
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
      running: this.running !== null,
    };
  }

  async scan(paths: string[] | undefined): Promise<AuditView> {
    if (this.running) {
      throw new CofferError(
        'AUDIT_RUNNING',
        'A data audit is already running.',
        'Wait for it to finish, or cancel it.',
      );
    }
    const controller = new AbortController();
    this.running = controller;
    try {
      const report = await this.deps.scanner.scan(paths, {
        signal: controller.signal,
        onProgress: (p) => {
          this.deps.onProgress?.({
            filesDone: p.filesDone,
            filesTotal: p.filesTotal > 0 ? p.filesTotal : null,
            bytesDone: p.bytesDone,
          });
        },
      });
      if (report.summary.cancelled || controller.signal.aborted) {
        throw new CofferError(
          'CANCELLED',
          'The data audit was cancelled.',
          'The last complete audit is still shown.',
        );
      }
      this.remember(report);
      return this.view();
    } finally {
      this.running = null;
    }
  }

  cancel(): boolean {
    if (!this.running) return false;
    this.running.abort();
    return true;
  }

  private summaryOf(s: ScanSummaryLike): AuditSummaryView {
    const at = Date.parse(s.finishedAt);
    return {
      at: Number.isFinite(at) ? at : this.now(),
      filesScanned: s.filesScanned,
      filesWithData: s.filesWithFindings,
      unprotectedWithData: s.unprotectedWithFindings,
      staleFiles: s.staleWithFindings,
      skipped: s.skipped.content + s.skipped.error,
      byDetector: { ...s.findings },
    };
  }

  private remember(report: ScanReportLike): void {
    const s = report.summary;
    const summary = this.summaryOf(s);
    const files: KeptFile[] = [...report.files]
      .sort((a, b) => total(b.findings) - total(a.findings) || a.path.localeCompare(b.path))
      .slice(0, MAX_KEPT)
      .map((f) => {
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
      });
    this.state = {
      version: 2,
      last: {
        summary,
        files,
        filesNotKept: Math.max(0, report.files.length - MAX_KEPT),
        // Left out on purpose (`rule`: links, app data) is not a problem to show.
        skipped: report.skipped
          .filter((k) => k.kind !== 'rule')
          .slice(0, MAX_SKIPPED)
          .map((k) => ({ path: k.path, reason: k.reason })),
        retentionDays: s.retentionDays,
      },
    };
    this.save();
  }

  /** The last scan's record of `file`, if it is still the file the scan read; throws otherwise. */
  private finding(file: string): KeptFile {
    const kept = this.state.last?.files.find((f) => f.path === file);
    if (!kept) {
      throw new CofferError(
        'NOT_IN_AUDIT',
        'That file is not among the last data audit’s findings.',
        'Run the audit again, then act on what it lists.',
      );
    }
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(file);
    } catch {
      throw new CofferError(
        'NOT_FOUND',
        'That file is no longer there.',
        'It was moved or deleted since the audit; run the audit again.',
      );
    }
    // A link or folder put in its place, or a file written since: not what the user saw in the findings.
    const changed =
      !stat.isFile() ||
      (!kept.protected && (stat.size !== kept.size || Math.abs(stat.mtimeMs - kept.modified) >= 1000));
    if (changed) {
      throw new CofferError(
        'CHANGED_SINCE_AUDIT',
        'That file changed since the data audit.',
        'Run the audit again, then decide.',
      );
    }
    return kept;
  }

  /**
   * Drops acted-on files from the list and from the last summary's counts, so the Overview stops asking
   * about them: deleted files leave the counts, protected or moved ones leave "not protected" only.
   */
  private forget(keep: (f: KeptFile) => boolean, deleted: boolean): void {
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
    this.state = { ...this.state, last: { ...last, summary, files: last.files.filter(keep) } };
    this.save();
  }

  async act(request: AuditAction): Promise<{ done: string; runId?: string }> {
    if (this.running) {
      throw new CofferError(
        'AUDIT_RUNNING',
        'A data audit is running.',
        'Act on the findings when it has finished.',
      );
    }
    const kept = this.finding(request.path);
    if (request.action === 'delete') {
      fs.unlinkSync(kept.path);
      this.forget((f) => f.path !== kept.path, true);
      return { done: `Deleted ${path.basename(kept.path)}.` };
    }
    if (kept.protected) {
      throw new CofferError(
        'ALREADY_PROTECTED',
        'That file is protected already.',
        'Delete it if it is no longer needed.',
      );
    }
    if (request.action === 'protect-folder') {
      const dir = realOrSame(kept.folder);
      const covering = (await this.deps.folders.list()).find((f) => within(dir, realOrSame(f.path)));
      // The real protect path: add the folder to Coffer (guard rails and policy apply) and run protect.
      const folder = covering ?? (await this.deps.folders.add(dir));
      const { runId } = await this.deps.folders.protect(folder.id);
      this.forget((f) => f.protected || !within(realOrSame(f.folder), realOrSame(folder.path)), false);
      return { done: `Protecting ${folder.path}.`, runId };
    }
    const target = (await this.deps.folders.list()).find((f) => f.id === request.folderId);
    if (!target) {
      throw new CofferError('NOT_FOUND', 'That folder is not in Coffer.', 'Refresh the folder list.');
    }
    const destination = freeName(target.path, path.basename(kept.path));
    moveNoClobber(kept.path, destination);
    this.forget((f) => f.path !== kept.path, false);
    // Then the folder's protect run, the same one the Folders screen starts (the watcher may be first).
    const { runId } = await this.deps.folders.protect(target.id);
    return { done: `Moved ${path.basename(kept.path)} into ${target.path}; protecting it.`, runId };
  }
}

/** `name`, or `name (2)`… when it or its `.coffer` is taken in `dir`. */
export function freeName(dir: string, name: string): string {
  const ext = path.extname(name);
  const stem = ext ? name.slice(0, -ext.length) : name;
  for (let n = 1; n < 1000; n += 1) {
    const candidate = path.join(dir, n === 1 ? name : `${stem} (${n})${ext}`);
    if (!fs.existsSync(candidate) && !fs.existsSync(`${candidate}.coffer`)) return candidate;
  }
  throw new CofferError('ALREADY_EXISTS', 'Too many files of that name in the folder.', 'Rename the file.');
}

/**
 * Moves a file without ever replacing one: a hard link then unlink on the same disk (link fails if the
 * name is taken), an exclusive copy, fsync and unlink across disks. The original stays until the copy is
 * whole.
 */
export function moveNoClobber(source: string, destination: string): void {
  try {
    fs.linkSync(source, destination);
    fs.unlinkSync(source);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error;
  }
  fs.copyFileSync(source, destination, fs.constants.COPYFILE_EXCL);
  const fd = fs.openSync(destination, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.unlinkSync(source);
}
