/**
 * The app's data audit (issue 11 item 4) over the audit scanner (electron/services/audit/): runs one scan
 * at a time, keeps the last scan's findings and one small summary per scan (the trend) in app data, and
 * acts on a finding only when its path is one the last scan reported and the file is still the one it
 * read. The renderer never names an arbitrary file to delete: a path it sends that the last scan did not
 * list is refused here (NOT_IN_AUDIT), whatever the screen did.
 *
 * Nothing here holds a matched value: the scanner reports counts per detector only (types.ts).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CofferError } from '../../../crypto/errors.js';
import { toCofferError } from '../../services/fs-errors.js';
import { defaultProbe, type OpenFileProbe } from '../../services/safe-file/busy.js';
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

const MAX_FILES = 1000;
/** Kept beyond what is listed, so an action on any finding of the last scan is still checked. */
const MAX_KEPT = 20_000;
const MAX_SKIPPED = 200;
const MAX_HISTORY = 60;
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
      /** Findings in the clear whose folder's protect run was started: listed until they are gone. */
      pending: z.array(z.string()).default([]),
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
  /** Who holds a file open (safe-file/busy.ts); the platform's by default. */
  probe?: OpenFileProbe;
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

/** A regular file (or a link) is still at `p`: a finding in the clear not yet protected. */
function isFileAt(p: string): boolean {
  try {
    return !fs.lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

function realOrSame(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** A finding checked for an action: the record, and the file's real path and identity now. */
interface Checked {
  readonly kept: KeptFile;
  /** The real folder it is in (no link on the way), as it was when the scan listed the file. */
  readonly realDir: string;
  readonly real: string;
  readonly stat: fs.Stats;
}

function changedSinceAudit(): CofferError {
  return new CofferError(
    'CHANGED_SINCE_AUDIT',
    'That file changed since the data audit.',
    'Run the audit again, then decide.',
  );
}

export class AuditAdapter implements AuditPort {
  private state: Stored;
  private running: AbortController | null = null;
  private readonly now: () => number;
  /**
   * The findings this process's own scans listed, each with the real path of its folder then. Only these
   * are acted on as they are: the state file in app data is unauthenticated (another process can write
   * it), so a finding read from it is checked again first (inside the audit roots, read again by the
   * scanner: `reverify`), as DESIGN.md "Guarantees under a hostile, busy machine" asks.
   */
  private trusted = new Map<string, string>();
  private probe: OpenFileProbe | undefined;
  /** One action at a time: a double click must not race a move against itself. */
  private acting: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: AuditAdapterDeps) {
    this.now = deps.now ?? Date.now;
    this.state = this.load();
  }

  private load(): Stored {
    try {
      // 20,000 kept findings are a few MB; anything far larger was not written by us, and reading a huge
      // file at start would stall or kill the app.
      if (fs.statSync(this.deps.file).size > MAX_STATE_BYTES) return EMPTY;
      const parsed = stored.safeParse(JSON.parse(fs.readFileSync(this.deps.file, 'utf8')));
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

  private save(): void {
    fs.mkdirSync(path.dirname(this.deps.file), { recursive: true, mode: 0o700 });
    const temp = `${this.deps.file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(this.state), { mode: 0o600 });
    fs.renameSync(temp, this.deps.file);
  }

  /**
   * Pending findings (a protect run was started on their folder) that are no longer in the clear at their
   * path leave the list and the "not protected" count; those still there stay, so a file the run left in
   * the clear (busy, excluded, a hard link) is still counted (DESIGN.md: counts are honest).
   */
  private settle(): void {
    const pending = this.state.last?.pending ?? [];
    if (pending.length === 0) return;
    const done = new Set(pending.filter((p) => !isFileAt(p)));
    if (done.size === 0) return;
    this.forget((f) => !done.has(f.path), false);
  }

  view(): AuditView {
    this.settle();
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
      protecting: last?.pending.length ?? 0,
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
    const realDirs = new Map<string, string>();
    this.trusted = new Map();
    for (const f of files) {
      let real = realDirs.get(f.folder);
      if (real === undefined) {
        real = realOrSame(f.folder);
        realDirs.set(f.folder, real);
      }
      this.trusted.set(f.path, real);
    }
    this.state = {
      version: 2,
      last: {
        summary,
        files,
        filesNotKept: Math.max(0, report.files.length - MAX_KEPT),
        pending: [],
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

  /**
   * The last scan's record of `file` if it is still the file the scan read, reached by the same real
   * folder; throws otherwise. Returns the real path to act on, so a folder on the way swapped for a link
   * after this check is not followed (the path string is not resolved a second time).
   */
  private async finding(file: string): Promise<Checked> {
    let kept = this.state.last?.files.find((f) => f.path === file);
    if (!kept) {
      throw new CofferError(
        'NOT_IN_AUDIT',
        'That file is not among the last data audit’s findings.',
        'Run the audit again, then act on what it lists.',
      );
    }
    let realDir: string;
    try {
      realDir = fs.realpathSync(path.dirname(file));
    } catch {
      throw new CofferError(
        'NOT_FOUND',
        'That file is no longer there.',
        'It was moved or deleted since the audit; run the audit again.',
      );
    }
    let scannedIn = this.trusted.get(file);
    if (scannedIn === undefined) {
      kept = await this.reverify(kept, realDir);
      scannedIn = realDir;
    }
    // A folder on the way swapped for a link since the scan: the name now leads to another file.
    if (realDir !== scannedIn) throw changedSinceAudit();
    const real = path.join(realDir, path.basename(file));
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(real);
    } catch {
      throw new CofferError(
        'NOT_FOUND',
        'That file is no longer there.',
        'It was moved or deleted since the audit; run the audit again.',
      );
    }
    // A link or folder put in its place, or a file written since: not what the user saw in the findings.
    // The size is the file's on disk for both; a protected file's `modified` is its original's (FORMAT.md
    // §5.1 metadata), so only a file in the clear is compared by time too.
    const changed =
      !stat.isFile() ||
      stat.size !== kept.size ||
      (!kept.protected && Math.abs(stat.mtimeMs - kept.modified) >= 1000);
    if (changed) throw changedSinceAudit();
    // Another name for the same data: deleting or moving this name would leave it in the clear there.
    if (stat.nlink > 1) {
      throw new CofferError(
        'HARD_LINK',
        'That file has another name on this disk (a hard link), so its data would stay there.',
        'Find its other name and delete both, or protect them where they are.',
      );
    }
    return { kept, realDir, real, stat };
  }

  /**
   * A finding read from app data (not from this process's scan): acted on only if it is inside the audit
   * roots and the scanner, reading it again now, still finds customer data in it. What the scanner says
   * now replaces what the file in app data said.
   */
  private async reverify(kept: KeptFile, realDir: string): Promise<KeptFile> {
    const roots = this.deps.scanner.policyRoots().map(realOrSame);
    if (!roots.some((root) => within(realDir, root))) {
      throw new CofferError(
        'NOT_IN_AUDIT',
        'That file is not among the last data audit’s findings.',
        'Run the audit again, then act on what it lists.',
      );
    }
    // Read as a scan of its own (one at a time with the user's: the scanner's cache and pool are shared).
    if (this.running) {
      throw new CofferError(
        'AUDIT_RUNNING',
        'A data audit is running.',
        'Act on the findings when it has finished.',
      );
    }
    const controller = new AbortController();
    this.running = controller;
    let report: ScanReportLike;
    try {
      report = await this.deps.scanner.scan([kept.path], { signal: controller.signal });
    } finally {
      this.running = null;
    }
    if (report.summary.cancelled || controller.signal.aborted) {
      throw new CofferError('CANCELLED', 'Cancelled.', 'Run the audit again, then act on what it lists.');
    }
    const now = report.files.find((f) => f.path === kept.path);
    if (!now || total(now.findings) === 0) throw changedSinceAudit();
    const modified = Date.parse(now.modified);
    const fresh: KeptFile = {
      ...kept,
      folder: path.dirname(kept.path),
      protected: now.protected,
      findings: { ...now.findings },
      modified: Number.isFinite(modified) ? modified : 0,
      stale: now.stale,
      size: now.size,
    };
    const last = this.state.last;
    if (last) {
      this.state = {
        ...this.state,
        last: { ...last, files: last.files.map((f) => (f.path === kept.path ? fresh : f)) },
      };
    }
    this.trusted.set(kept.path, realDir);
    return fresh;
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
  private relocate(from: string, to: string, realDir: string): void {
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
    this.trusted.delete(from);
    this.trusted.set(to, realDir);
    this.markPending([to]);
  }

  private markPending(paths: readonly string[]): void {
    const last = this.state.last;
    if (!last || paths.length === 0) return;
    this.state = { ...this.state, last: { ...last, pending: [...new Set([...last.pending, ...paths])] } };
    this.save();
  }

  /**
   * DESIGN.md: never remove a plaintext another process holds open. A program writing it later would
   * write into a deleted file (or, after a move across disks, into the old copy): its edits lost. Not
   * asked for "Protect folder": its run checks each file itself.
   */
  private assertNotHeld(file: string, real: string, stat: fs.Stats): void {
    const probe = this.deps.probe ?? (this.probe ??= defaultProbe());
    const holder = probe.holders([{ dev: stat.dev, ino: stat.ino, real }]).get(0);
    if (holder) {
      throw new CofferError(
        'IN_USE',
        `${path.basename(file)} is open in ${holder.name} (process ${holder.pid}).`,
        'Close it there, then try again.',
      );
    }
  }

  act(request: AuditAction): Promise<{ done: string; runId?: string }> {
    const run = this.acting.then(
      () => this.actNow(request),
      () => this.actNow(request),
    );
    this.acting = run.catch(() => undefined);
    return run;
  }

  private async actNow(request: AuditAction): Promise<{ done: string; runId?: string }> {
    if (this.running) {
      throw new CofferError(
        'AUDIT_RUNNING',
        'A data audit is running.',
        'Act on the findings when it has finished.',
      );
    }
    const { kept, realDir, real, stat } = await this.finding(request.path);
    if (request.action !== 'protect-folder') this.assertNotHeld(kept.path, real, stat);
    if (request.action === 'delete') {
      try {
        fs.unlinkSync(real);
      } catch (error) {
        throw toCofferError(error, kept.path);
      }
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
      // The folder the file was found in, by its real path now (checked above), never the stored one.
      const covering = (await this.deps.folders.list()).find((f) => within(realDir, realOrSame(f.path)));
      // The real protect path: add the folder to Coffer (guard rails and policy apply) and run protect.
      const folder = covering ?? (await this.deps.folders.add(realDir));
      const { runId } = await this.deps.folders.protect(folder.id);
      // Its findings in the clear leave the list as the run protects them (settle), not now.
      const root = realOrSame(folder.path);
      const started = this.state.last?.files
        .filter((f) => !f.protected && within(realOrSame(f.folder), root))
        .map((f) => f.path);
      this.markPending(started ?? []);
      return { done: `Protecting ${folder.path}.`, runId };
    }
    const target = (await this.deps.folders.list()).find((f) => f.id === request.folderId);
    if (!target) {
      throw new CofferError('NOT_FOUND', 'That folder is not in Coffer.', 'Refresh the folder list.');
    }
    // The registry holds real paths: one that resolves elsewhere now (the folder or a parent swapped for
    // a link) would take the file out of the protected tree.
    let targetDir: string;
    try {
      targetDir = fs.realpathSync(target.path);
    } catch (error) {
      throw toCofferError(error, target.path);
    }
    if (targetDir !== path.resolve(target.path) || !fs.lstatSync(targetDir).isDirectory()) {
      throw new CofferError(
        'NOT_A_FOLDER',
        `${target.path} is no longer the protected folder (it leads somewhere else).`,
        'Check the folder on the Folders screen.',
      );
    }
    const destination = moveInto(real, targetDir, path.basename(kept.path), stat);
    this.relocate(kept.path, destination, targetDir);
    // Then the folder's protect run, the same one the Folders screen starts (the watcher may be first).
    const { runId } = await this.deps.folders.protect(target.id);
    return {
      done: `Moved ${path.basename(kept.path)} into ${target.path} as ${path.basename(destination)}; protecting it.`,
      runId,
    };
  }
}

/** Moves `source` into `dir` under `name` or a free variant of it (a name taken meanwhile: the next). */
function moveInto(source: string, dir: string, name: string, expected: fs.Stats): string {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const destination = freeName(dir, name);
    try {
      moveNoClobber(source, destination, expected);
      return destination;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw toCofferError(error, source);
    }
  }
  throw new CofferError('ALREADY_EXISTS', 'Too many files of that name in the folder.', 'Rename the file.');
}

function taken(p: string): boolean {
  try {
    fs.lstatSync(p); // a dangling link takes the name too: never write through it
    return true;
  } catch {
    return false;
  }
}

/** `name`, or `name (2)`… when it or its `.coffer` is taken in `dir` (by anything, a link included). */
export function freeName(dir: string, name: string): string {
  const ext = path.extname(name);
  const stem = ext ? name.slice(0, -ext.length) : name;
  for (let n = 1; n < 1000; n += 1) {
    const candidate = path.join(dir, n === 1 ? name : `${stem} (${n})${ext}`);
    if (!taken(candidate) && !taken(`${candidate}.coffer`)) return candidate;
  }
  throw new CofferError('ALREADY_EXISTS', 'Too many files of that name in the folder.', 'Rename the file.');
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Not every platform opens a folder (Windows): the file itself was synced.
  }
}

const same = (a: fs.Stats, b: fs.Stats): boolean =>
  a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

function sourceChanged(source: string): CofferError {
  return new CofferError(
    'SOURCE_CHANGED',
    `${source} changed while Coffer moved it; it was left where it was.`,
    'Close the app that writes it, run the audit again, then move it.',
  );
}

/**
 * Moves a file without ever replacing one: a hard link then unlink on the same disk (link fails if the
 * name is taken); across disks, an exclusive copy that is fsynced, read back and compared with the source,
 * which must not have changed meanwhile, before the source is unlinked. The original stays until the copy
 * is whole; a failed copy is removed (it is ours: created exclusively, same inode). `expected`: the
 * source as it was checked, so a file swapped in meanwhile is not moved.
 */
export function moveNoClobber(source: string, destination: string, expected?: fs.Stats): void {
  const before = fs.lstatSync(source);
  if (!before.isFile() || (expected && !same(before, expected))) throw sourceChanged(source);
  try {
    fs.linkSync(source, destination);
    // link() names whatever is at `source` now: it must still be the file that was checked.
    if (!same(fs.lstatSync(destination), before)) {
      fs.unlinkSync(destination);
      throw sourceChanged(source);
    }
    fs.unlinkSync(source);
    fsyncDir(path.dirname(destination));
    fsyncDir(path.dirname(source));
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error;
  }
  copyVerified(source, destination, before);
  fs.unlinkSync(source);
  fsyncDir(path.dirname(source));
}

function copyVerified(source: string, destination: string, before: fs.Stats): void {
  // O_NOFOLLOW: a link swapped in for the source is refused, not followed (0 where the platform lacks it).
  const input = fs.openSync(
    source,
    fs.constants.O_RDONLY | (process.platform === 'win32' ? 0 : fs.constants.O_NOFOLLOW),
  );
  let output: number | null = null;
  let ours: fs.Stats | null = null;
  try {
    if (!same(fs.fstatSync(input), before)) throw sourceChanged(source);
    output = fs.openSync(destination, 'wx+', 0o600);
    ours = fs.fstatSync(output);
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    const written = createHash('sha256');
    for (let at = 0; ;) {
      const n = fs.readSync(input, buffer, 0, buffer.length, at);
      if (n === 0) break;
      written.update(buffer.subarray(0, n));
      for (let off = 0; off < n;) off += fs.writeSync(output, buffer, off, n - off, at + off);
      at += n;
    }
    fs.fsyncSync(output);
    // Read the copy back (what the destination file system holds), and check the source did not change.
    const readBack = createHash('sha256');
    for (let at = 0; ;) {
      const n = fs.readSync(output, buffer, 0, buffer.length, at);
      if (n === 0) break;
      readBack.update(buffer.subarray(0, n));
      at += n;
    }
    if (!same(fs.fstatSync(input), before) || !same(fs.lstatSync(source), before))
      throw sourceChanged(source);
    if (!readBack.digest().equals(written.digest()) || fs.fstatSync(output).size !== before.size) {
      throw new CofferError(
        'IO_ERROR',
        `The copy of ${source} on the other disk does not read back the same; the file was left where it was.`,
        'Check the disk, then try again.',
      );
    }
    fs.closeSync(output);
    output = null;
    fsyncDir(path.dirname(destination));
  } catch (error) {
    if (output !== null) fs.closeSync(output);
    // Remove our partial copy only: the name is ours if it is still the inode we created.
    if (ours !== null) {
      try {
        const now = fs.lstatSync(destination);
        if (now.dev === ours.dev && now.ino === ours.ino) fs.unlinkSync(destination);
      } catch {
        // gone already
      }
    }
    throw error;
  } finally {
    fs.closeSync(input);
  }
}
