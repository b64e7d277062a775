/**
 * AuditService: the data audit (issue 11 item 1) for the CLI (`coffer audit scan`, `coffer audit find`), the app's Audit
 * screen and the breach report. A scan lists the roots (scanner-walk.ts), takes unchanged files from the
 * cache (cache.ts), reads the rest in the worker pool (pool.ts; protected files decrypted in memory only),
 * and reports counts per detector, never a matched value. `lastScan()` is the last complete scan of the
 * policy's roots, kept in app data for the Overview and the trend; the breach report does not read it (the
 * user can edit app data) but the scan's authenticated `data-audit` event (attested-scan.ts).
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import nodePath from 'node:path';
import type { Identity } from '../../../crypto/keys.js';
import type { BackendName } from '../../../crypto/sodium.js';
import { recordFailureEvents, type SecurityEvents } from '../audit-log/security-events.js';
import { realOrSelf, type GuardRails } from '../folders/guard-rails.js';
import { isWithin } from '../folders/registry.js';
import type { CustomerDataPattern } from '../policy/schema.js';
import { AuditCache, NO_FINDINGS } from './cache.js';
import { DEFAULT_LIMITS, extractKind } from './extract/index.js';
import { findFiles } from './find.js';
import { AuditPool } from './pool.js';
import type { WorkFile, WorkMode, WorkOutcome } from './scanner-messages.js';
import { ScanHistory } from './scanner-history.js';
import { currentScannerVersion, scannerVersion } from './scanner-version.js';
import { contentName, listFilesAsync, type ListedFile, type Listing } from './scanner-walk.js';
import type {
  AuditProgress,
  AuditRunOptions,
  FindReport,
  FindingCounts,
  ScanReport,
  ScanSummary,
  ScannedFile,
  SkippedFile,
} from './types.js';

/**
 * Bump when what a read finds for the same bytes changes in code outside scanner-version.ts's list (this
 * file, the walk); a change to the detectors, validators, extractors or the worker's reading changes the
 * fingerprint by itself (scanner-version.ts).
 */
const SCANNER_VERSION = 'scanner-1';

export const DEFAULT_RETENTION_DAYS = 365;
const DAY_MS = 24 * 60 * 60 * 1000;

/** What the audit reads from the policy (PolicyService gives it; absent keys take the defaults). */
export interface AuditPolicy {
  readonly auditRoots?: readonly string[];
  readonly customerDataPatterns?: readonly CustomerDataPattern[];
  readonly retentionDays?: number;
}

export interface AuditServiceDeps {
  readonly backend: BackendName;
  /** The app data folder: the cache and the last scans live in `<home>/data-audit/`. */
  readonly appHome: string;
  /** The user's home, for the default roots (Desktop, Documents, Downloads). */
  readonly homedir?: string;
  /** The policy in force now (read at each scan). */
  readonly policy: () => AuditPolicy;
  /** The protected folders (registry), scanned with the policy's roots and marked in reports. */
  readonly protectedFolders: () => readonly string[];
  /** This device's identities, asked for only when protected files are to be read. */
  readonly identities: () => Promise<Identity[]>;
  readonly guard: GuardRails;
  /** Records one `data-audit` event per scan, with counts only. */
  readonly events?: SecurityEvents;
  /**
   * The cache's MAC key (cache-key.ts AuditCacheKey.get: a copy, zeroed here after use). Without it the
   * cache is plain JSON anyone with app data can edit (tests, tools without a keychain); with it, and it
   * fails, nothing is taken from the cache (every file is read) and nothing is saved.
   */
  readonly cacheKey?: () => Promise<Uint8Array>;
  /** Workers (default: one per core). */
  readonly workers?: number;
  /** The files whose content versions the cache (default: scanner-version.ts's, beside this module). */
  readonly scannerSources?: readonly string[];
  readonly now?: () => number;
}

export function dataAuditDirIn(appHome: string): string {
  return nodePath.join(appHome, 'data-audit');
}

/** Desktop, Documents and Downloads of the user: where exports and attachments land. */
export function defaultAuditRoots(homedir: string): string[] {
  return ['Desktop', 'Documents', 'Downloads'].map((d) => nodePath.join(homedir, d));
}

function addCounts(into: Record<string, number>, more: FindingCounts): void {
  for (const [name, n] of Object.entries(more)) into[name] = (into[name] ?? 0) + n;
}

/** Counts as the audit trail holds them: `name=n` (attested-scan.ts parses them back). */
function countList(counts: FindingCounts): string[] {
  return Object.entries(counts).map(([name, n]) => `${name}=${n}`);
}

/**
 * A file read within its timestamps' grain of its last change may change again, same size, without its mtime
 * or ctime moving (git's "racily clean" files): FAT keeps 2 s, HFS+, ext3 and many shares 1 s. Its cache entry
 * would then give the old content's counts for good. Whole seconds on both stamps mark such a file system:
 * its file is cached only once both are RACY_MS older than the read began (scanner-review.test.ts).
 */
const RACY_MS = 2_000;

function cacheable(file: ListedFile, readFromMs: number): boolean {
  const coarse = file.mtimeMs % 1000 === 0 && file.ctimeMs % 1000 === 0;
  return !coarse || Math.max(file.mtimeMs, file.ctimeMs) < readFromMs - RACY_MS;
}

function total(counts: FindingCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Progress with a rate and an ETA over the bytes that need reading (cached files cost nothing). */
class ProgressMeter {
  private readonly started = performance.now();
  filesDone = 0;
  bytesDone = 0;
  private lastSent = 0;

  constructor(
    private readonly filesTotal: number,
    private readonly bytesTotal: number,
    private readonly onProgress: ((p: AuditProgress) => void) | undefined,
  ) {}

  tick(force = false): void {
    if (!this.onProgress) return;
    const now = performance.now();
    if (!force && now - this.lastSent < 100) return;
    this.lastSent = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? this.bytesDone / seconds : 0;
    const left = Math.max(0, this.bytesTotal - this.bytesDone);
    this.onProgress({
      phase: 'reading',
      filesTotal: this.filesTotal,
      filesDone: this.filesDone,
      bytesTotal: this.bytesTotal,
      bytesDone: this.bytesDone,
      bytesPerSecond: rate,
      etaMs: rate > 0 ? (left / rate) * 1000 : null,
    });
  }
}

interface ScanResult {
  readonly file: ListedFile;
  readonly findings: FindingCounts;
  readonly modifiedMs: number;
}

/**
 * Sorts the listed files, one by one as the walk finds them, into what the cache answers and what must be
 * read; keeps only the files to read and those with findings (issue 11: memory whatever the file count).
 */
class ScanPlanner {
  readonly results: ScanResult[] = [];
  readonly toRead: WorkFile[] = [];
  fromCache = 0;
  filesRead = 0;
  unsupported = 0;
  /** Content skips the cache answered (no text in the file). */
  readonly cachedSkips: SkippedFile[] = [];

  constructor(private readonly cache: AuditCache) {}

  add(file: ListedFile): void {
    const kind = extractKind(contentName(file.path));
    if (kind === undefined) {
      this.unsupported++;
      return;
    }
    const cached = this.cache.lookup(file);
    if (cached?.kind === 'scanned') {
      this.filesRead++;
      if (total(cached.findings) > 0)
        this.results.push({ file, findings: cached.findings, modifiedMs: cached.modifiedMs });
      this.fromCache++;
    } else if (cached?.kind === 'content') {
      this.cachedSkips.push({
        path: file.path,
        kind: 'content',
        code: cached.code,
        reason: cached.reason,
        protected: file.protected,
      });
      this.fromCache++;
    } else {
      this.toRead.push(file);
    }
  }
}

export class AuditService {
  private pool: AuditPool | null = null;
  private readonly history: ScanHistory;

  constructor(private readonly deps: AuditServiceDeps) {
    this.history = new ScanHistory(nodePath.join(dataAuditDirIn(deps.appHome), 'scans.json'));
  }

  /** The last complete scan of the policy's roots and protected folders, if any (any process made it). */
  lastScan(): ScanSummary | undefined {
    return this.history.last();
  }

  /** The complete policy scans kept (oldest first, at most ScanHistory.MAX), for a trend. */
  scans(): ScanSummary[] {
    return this.history.all();
  }

  /**
   * The policy's audit roots, or the defaults under the account's home folder: os.userInfo() (the user
   * database), not os.homedir(), which is $HOME, so that `HOME=/tmp/empty coffer audit scan` does not make a
   * clean-looking policy scan of empty folders. The breach report states a scan only if it covered these.
   */
  requiredRoots(): string[] {
    const roots =
      this.deps.policy().auditRoots ?? defaultAuditRoots(this.deps.homedir ?? os.userInfo().homedir);
    return [...new Set(roots.map((r) => nodePath.resolve(r)))];
  }

  /** The roots a scan without paths covers: requiredRoots() and every protected folder. */
  policyRoots(): string[] {
    return [
      ...new Set([...this.requiredRoots(), ...this.deps.protectedFolders().map((r) => nodePath.resolve(r))]),
    ];
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
  }

  /** Runs `mode` over `files` in the pool, with identities only when a protected file is among them. */
  async read(
    mode: WorkMode,
    files: readonly WorkFile[],
    options: {
      onBytes: (bytes: number) => void;
      onOutcome: (o: WorkOutcome, file: WorkFile) => void;
      signal?: AbortSignal;
    },
  ): Promise<void> {
    if (files.length === 0) return;
    let identities: Identity[] = [];
    let keyError: { code: string; reason: string } | null = null;
    if (files.some((f) => f.protected)) {
      try {
        identities = await this.deps.identities();
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        keyError = {
          code: typeof code === 'string' ? code : 'NO_DEVICE_KEY',
          reason: `could not be decrypted: ${error instanceof Error ? error.message : String(error)}`,
        };
      }
    }
    const readable = keyError ? files.filter((f) => !f.protected) : files;
    if (keyError)
      for (const f of files)
        if (f.protected) options.onOutcome({ path: f.path, kind: 'error', ...keyError }, f);
    this.pool ??= new AuditPool({
      backend: this.deps.backend,
      ...(this.deps.workers === undefined ? {} : { size: this.deps.workers }),
    });
    try {
      await this.pool.run({
        mode,
        files: readable,
        identities,
        onBytes: options.onBytes,
        onOutcome: options.onOutcome,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      // A pool that failed as a whole (a worker that cannot start) is not reused: the next scan starts afresh.
      const failed = this.pool;
      this.pool = null;
      await failed.close();
      throw error;
    } finally {
      // The workers zero their copies at run-end; these are the main thread's.
      for (const identity of identities)
        (identity.kind === 'device' ? identity.key : identity.secretKey).fill(0);
    }
  }

  /**
   * The one read-and-progress loop of scan and find: reads `toRead` in the pool with progress over all
   * `filesListed` files (the others count as done: cached or not read) and hands each outcome, with its
   * file, to `onOutcome`; a cancelled file is not handed over but makes the run `cancelled`.
   */
  async readListed(
    mode: WorkMode,
    filesListed: number,
    toRead: readonly WorkFile[],
    options: AuditRunOptions,
    onOutcome: (outcome: Exclude<WorkOutcome, { kind: 'cancelled' }>, file: WorkFile) => void,
  ): Promise<{ cancelled: boolean; bytesRead: number }> {
    const meter = new ProgressMeter(
      filesListed,
      toRead.reduce((sum, f) => sum + f.size, 0),
      options.onProgress,
    );
    meter.filesDone = filesListed - toRead.length;
    meter.tick(true);
    let cancelled = options.signal?.aborted ?? false;
    await this.read(mode, toRead, {
      onBytes: (bytes) => {
        meter.bytesDone += bytes;
        meter.tick();
      },
      onOutcome: (outcome, file) => {
        meter.filesDone++;
        meter.tick();
        if (outcome.kind === 'cancelled') {
          cancelled = true;
          return;
        }
        onOutcome(outcome, file);
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    meter.tick(true);
    return { cancelled: cancelled || (options.signal?.aborted ?? false), bytesRead: meter.bytesDone };
  }

  /** Lists the roots, reporting the listing phase. */
  async list(
    roots: readonly string[],
    options: AuditRunOptions,
    onFile?: (file: ListedFile) => void,
  ): Promise<Listing> {
    return listFilesAsync(
      {
        roots,
        protectedFolders: this.deps.protectedFolders().map((f) => nodePath.resolve(f)),
        guard: this.deps.guard,
      },
      options.signal,
      (filesSoFar) => {
        options.onProgress?.({
          phase: 'listing',
          filesTotal: filesSoFar,
          filesDone: 0,
          bytesTotal: 0,
          bytesDone: 0,
          bytesPerSecond: 0,
          etaMs: null,
        });
      },
      undefined,
      onFile,
    );
  }

  /**
   * Scans `paths` (files or folders), or when none are given the policy's roots and every protected folder.
   * Never throws for a file: each one it could not read is in `skipped` with its reason.
   */
  async scan(paths: readonly string[] | undefined, options: AuditRunOptions = {}): Promise<ScanReport> {
    const now = this.deps.now ?? Date.now;
    const startedMs = now();
    // The real clock, as the files' stamps are (deps.now may be a test's).
    const readFromMs = Date.now();
    const started = performance.now();
    const scope = paths === undefined || paths.length === 0 ? 'policy' : 'paths';
    const policy = this.deps.policy();
    const patterns = policy.customerDataPatterns ?? [];
    const retentionDays = policy.retentionDays ?? DEFAULT_RETENTION_DAYS;
    const roots = scope === 'policy' ? this.policyRoots() : (paths ?? []).map((p) => nodePath.resolve(p));
    const fingerprint = createHash('sha256')
      .update(
        JSON.stringify({
          SCANNER_VERSION,
          code: this.deps.scannerSources ? scannerVersion(this.deps.scannerSources) : currentScannerVersion(),
          patterns,
          limits: DEFAULT_LIMITS,
        }),
      )
      .digest('hex');
    const cacheFile = nodePath.join(dataAuditDirIn(this.deps.appHome), 'cache.json');
    let cacheKey: Uint8Array | null = null;
    let cacheUsable = true;
    if (this.deps.cacheKey) {
      try {
        cacheKey = await this.deps.cacheKey();
      } catch {
        cacheUsable = false; // no keychain: an unauthenticated cache is never trusted, so none is used
      }
    }
    const cache = cacheUsable
      ? AuditCache.load(cacheFile, fingerprint, cacheKey)
      : AuditCache.none(fingerprint);

    // The listing is not kept past planScan(): only the files to read and those with findings are (issue 11:
    // memory whatever the file count; the listing was ~270 bytes a file).
    const plan = new ScanPlanner(cache);
    let listing: Listing;
    try {
      listing = await this.list(roots, options, (file) => {
        plan.add(file);
      });
    } catch (error) {
      cacheKey?.fill(0);
      throw error;
    }
    const skipped: SkippedFile[] =
      scope === 'policy'
        ? // A default root that does not exist (no Downloads folder) is no failure of the scan.
          listing.skipped.map((s) =>
            s.code === 'NOT_FOUND' && roots.includes(s.path) ? { ...s, kind: 'rule' } : s,
          )
        : [...listing.skipped];
    skipped.push(...plan.cachedSkips);
    const { results, toRead, fromCache, unsupported } = plan;
    const listed = listing.listed;
    let filesRead = plan.filesRead;

    const reading = this.readListed({ op: 'scan', patterns }, listed, toRead, options, (outcome, file) => {
      switch (outcome.kind) {
        case 'scanned':
          filesRead++;
          if (total(outcome.findings) > 0)
            results.push({ file, findings: outcome.findings, modifiedMs: outcome.modifiedMs });
          if (cacheable(file, readFromMs))
            cache.store(file, {
              kind: 'scanned',
              // Most files hold nothing: one shared empty count for all of them in the cache.
              findings: total(outcome.findings) > 0 ? outcome.findings : NO_FINDINGS,
              modifiedMs: outcome.modifiedMs,
            });
          break;
        case 'content':
          skipped.push({
            path: file.path,
            kind: 'content',
            code: outcome.code,
            reason: outcome.reason,
            protected: file.protected,
          });
          if (cacheable(file, readFromMs))
            cache.store(file, { kind: 'content', code: outcome.code, reason: outcome.reason });
          break;
        case 'error':
          skipped.push({
            path: file.path,
            kind: 'error',
            code: outcome.code,
            reason: outcome.reason,
            protected: file.protected,
          });
          cache.forget(file.path);
          break;
        case 'found':
          break;
      }
    });
    let read: { cancelled: boolean; bytesRead: number };
    try {
      read = await reading;
    } catch (error) {
      cacheKey?.fill(0);
      throw error;
    }
    const cancelled = read.cancelled;
    // The walk lists files under the roots' real paths (scanner-walk.ts): so are the cache's entries.
    const realRoots = roots.map((r) => realOrSelf(r));
    if (!cancelled) cache.prune(realRoots, isWithin);
    try {
      if (cacheUsable) cache.save();
    } catch {
      // The cache only saves time: the next scan reads these files again.
    } finally {
      cacheKey?.fill(0);
    }

    const staleBefore = now() - retentionDays * DAY_MS;
    const files: ScannedFile[] = results
      .map((r) => ({
        path: r.file.path,
        protected: r.file.protected,
        findings: r.findings,
        modified: new Date(r.modifiedMs).toISOString(),
        stale: r.modifiedMs < staleBefore,
        size: r.file.size,
        inProtectedFolder: r.file.inProtectedFolder,
      }))
      .sort((a, b) => total(b.findings) - total(a.findings) || a.path.localeCompare(b.path));
    skipped.sort((a, b) => a.path.localeCompare(b.path));

    const findings: Record<string, number> = {};
    const findingsUnprotected: Record<string, number> = {};
    for (const f of files) {
      addCounts(findings, f.findings);
      if (!f.protected) addCounts(findingsUnprotected, f.findings);
    }
    const count = (kind: SkippedFile['kind']): number => skipped.filter((s) => s.kind === kind).length;
    const summary: ScanSummary = {
      scope,
      roots,
      startedAt: new Date(startedMs).toISOString(),
      finishedAt: new Date(now()).toISOString(),
      durationMs: Math.round(performance.now() - started),
      cancelled,
      filesScanned: filesRead + count('content'),
      fromCache,
      bytesRead: read.bytesRead,
      filesWithFindings: files.length,
      unprotectedWithFindings: files.filter((f) => !f.protected).length,
      protectedWithFindings: files.filter((f) => f.protected).length,
      findings,
      findingsUnprotected,
      staleWithFindings: files.filter((f) => f.stale).length,
      retentionDays,
      unsupported,
      skipped: { rule: count('rule'), content: count('content'), error: count('error') },
    };
    const report: ScanReport = {
      command: 'audit scan',
      ok: !cancelled && summary.skipped.error === 0,
      files,
      skipped,
      summary,
    };
    if (scope === 'policy' && !cancelled) {
      try {
        this.history.add(summary);
      } catch {
        // Reported by the caller through lastScan() being older; the scan itself stands.
      }
    }
    const events = this.deps.events;
    if (events) {
      // A protected file that failed authentication was altered: a security event of its own.
      await recordFailureEvents(
        events,
        'audit scan',
        skipped.filter((s) => s.kind === 'error').map((s) => ({ path: s.path, code: s.code })),
      );
    }
    await events?.record('data-audit', {
      scope,
      roots: [...roots],
      filesScanned: summary.filesScanned,
      filesWithFindings: summary.filesWithFindings,
      unprotectedWithFindings: summary.unprotectedWithFindings,
      protectedWithFindings: summary.protectedWithFindings,
      findings: countList(findings),
      // What the breach report states (attested-scan.ts reads it back from the authenticated trail).
      findingsUnprotected: countList(findingsUnprotected),
      finishedAt: summary.finishedAt,
      staleWithFindings: summary.staleWithFindings,
      skippedErrors: summary.skipped.error,
      cancelled,
    });
    return report;
  }

  /**
   * Files (protected or not) whose name or content holds any of `terms`, for access and erasure requests;
   * under `paths`, or the policy's roots and every protected folder. Terms are never stored nor logged.
   */
  find(
    terms: readonly string[],
    paths?: readonly string[],
    options: AuditRunOptions = {},
  ): Promise<FindReport> {
    const roots = paths && paths.length > 0 ? paths.map((p) => nodePath.resolve(p)) : this.policyRoots();
    return findFiles(this, terms, roots, options);
  }
}
