/**
 * Protected folders: protect and unprotect runs over a worker pool, status, and recovery of interrupted
 * runs. Every file write goes through SafeFiles (crash safe); this class decides what to run, in what
 * order, and reports it. No Electron: the app and the CLI both compose it.
 */
import { lstatSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import type { Identity, Recipient } from '../../../crypto/keys.js';
import { toCofferError } from '../fs-errors.js';
import { TempJournal, tempJournalDirIn } from '../safe-file.js';
import { guardRailsFor, type GuardRails, type TreeGuard } from './guard-rails.js';
import { LitterFilter } from './litter.js';
import { FolderLock } from './lock.js';
import type { BatchFile } from './messages.js';
import type { WorkerPool } from './pool.js';
import { runFolder } from './folder-run.js';
import {
  canonicalFolder,
  isWithin,
  type AddResult,
  type FolderEntry,
  type FolderRegistry,
  type LastRun,
} from './registry.js';
import { folderState, runVerdict, type ProtectionState } from './clear-state.js';
import type { FileIssue, FileOutcome, Op, RunProgress, RunReport } from './types.js';
import { walkFolder, walkFolderAsync, walkItems, type FolderListing } from './walk.js';

/** What the device key service offers (DeviceKeyService satisfies it). */
export interface KeyProvider {
  recipients(): Promise<Recipient[]>;
  identities(): Promise<Identity[]>;
}

/** The policy checks that apply to folders (PolicyService satisfies it). */
export interface FolderPolicy {
  requireRecipients(recipients: readonly Recipient[]): void;
  assertCanUnprotect(): void;
  assertCanRemoveFolder(folder: string): void;
  /** IT's exclusion globs (policy `exclude`), kept in the clear in every folder. */
  exclusions?(): readonly string[];
}

export interface FolderServiceDeps {
  readonly registry: FolderRegistry;
  readonly keys: KeyProvider;
  /** Created on first use, so status never starts workers. */
  readonly pool: () => WorkerPool;
  readonly lockDir: string;
  readonly policy?: FolderPolicy;
  /** A file that changes while read is tried again after this long, up to `retries` times. */
  readonly retryDelayMs?: number;
  readonly retries?: number;
  /** Writes the key escrow record beside a folder's data once it is protected (so backups carry it). */
  readonly escrow?: FolderEscrow;
  /** What must never be protected (guard-rails.ts); default: this process's, with app data beside lockDir. */
  readonly guard?: GuardRails;
  /** Files a run takes from its walk at a time (folder-run.ts; default 1024). */
  readonly chunkFiles?: number;
}

export interface FolderEscrow {
  writeBeside(folder: string): Promise<void>;
}

export interface RunOptions {
  readonly onProgress?: (progress: RunProgress) => void;
  readonly signal?: AbortSignal;
}

export interface FolderStatus {
  readonly id: string | null;
  readonly path: string;
  readonly registered: boolean;
  readonly state: FolderEntry['state'] | 'not-protected';
  readonly protectedFiles: number;
  readonly protectedBytes: number;
  /** Plaintext files waiting to be protected. */
  readonly plaintextFiles: number;
  readonly plaintextBytes: number;
  /** Leftovers of an interrupted run (temp files). */
  readonly leftovers: number;
  readonly skipped: readonly FileIssue[];
  readonly lastRun: LastRun | null;
  /** The run under way in this process on this folder, if any (protect, unprotect, or watcher batches). */
  readonly running: Op | null;
  /** What is in the clear and why (clear-state.ts: the one definition the CLI and the app share). */
  readonly protection: ProtectionState;
}

export class FolderService {
  private running: Promise<unknown> = Promise.resolve();
  /** What runs now (runs are serialized, so at most one), for status. */
  private active: { path: string; op: Op } | null = null;

  private readonly guard: GuardRails;

  /** `<app data>/temps`: the journal of temp files the workers make (safe-file/temp-journal.ts). */
  private readonly tempJournalDir: string;
  private readonly tempJournal: TempJournal;

  constructor(private readonly deps: FolderServiceDeps) {
    this.tempJournalDir = tempJournalDirIn(dirname(deps.lockDir));
    this.tempJournal = new TempJournal(this.tempJournalDir);
    // lockDirIn(home) is `<app data>/locks`.
    this.guard = deps.guard ?? guardRailsFor(dirname(deps.lockDir));
  }

  /** Throws FOLDER_FORBIDDEN when `dir` must never be protected (before anything is touched). */
  assertCanProtect(dir: string): void {
    this.guard.assertCanProtect(canonicalFolder(dir));
  }

  /**
   * For the watcher: true for the paths the guard rails leave alone in the folders registered now
   * (protectFiles checks again at each batch, with the policy of that moment).
   */
  watchFilter(): (path: string) => boolean {
    const guards = this.list().map((e) => ({ root: e.path, guard: this.treeGuard(e, e.path) }));
    return (path) => guards.find((g) => isWithin(path, g.root))?.guard.path(path) != null;
  }

  /** Sets the user's exclusions of a registered folder (globs, guard-rails.ts); the walk skips them. */
  setExclusions(id: string, patterns: readonly string[]): Promise<FolderEntry> {
    return this.serialize(() =>
      Promise.resolve(this.deps.registry.update(id, (e) => ({ ...e, exclude: [...new Set(patterns)] }))),
    );
  }

  list(): FolderEntry[] {
    return this.deps.registry.list();
  }

  /** Adds `dir` to the registry (unless a protected folder covers it) and protects every file in it. */
  protect(dir: string, options: RunOptions = {}): Promise<RunReport> {
    return this.serialize(async () => {
      const path = canonicalFolder(dir);
      this.assertFolder(path);
      this.guard.assertCanProtect(path);
      const covered = this.deps.registry.add(path).entry;
      // A subfolder unprotected earlier (an exclusion of exactly it, see unprotect) is protected again.
      const added = covered.exclude?.includes(path)
        ? this.deps.registry.update(covered.id, (e) => ({
            ...e,
            exclude: (e.exclude ?? []).filter((x) => x !== path),
          }))
        : covered;
      // Protecting again after a cancelled or failed unprotect: the folder is protected again, not half-way out.
      const entry =
        added.state === 'unprotecting'
          ? this.deps.registry.update(added.id, (e) => ({ ...e, state: 'protected' }))
          : added;
      const report = await this.runLocked(entry, path, 'protect', options);
      return report.cancelled ? report : this.writeEscrow(entry.path, report);
    });
  }

  /**
   * Adds `dir` to the registry without protecting it yet (the app adds a folder, shows what waits, and
   * protects on request). A folder inside a protected one is already covered: its entry comes back.
   */
  register(dir: string): Promise<AddResult> {
    return this.serialize(() => {
      const path = canonicalFolder(dir);
      this.assertFolder(path);
      this.guard.assertCanProtect(path);
      return Promise.resolve(this.deps.registry.add(path));
    });
  }

  /** Stops protecting a registered folder without touching its files (they stay encrypted). */
  unregister(id: string): Promise<void> {
    return this.serialize(() => {
      const entry = this.list().find((e) => e.id === id);
      if (!entry) {
        throw new CofferError(
          'FOLDER_NOT_FOUND',
          `no protected folder with id ${id}`,
          'Refresh the list of folders.',
        );
      }
      this.deps.policy?.assertCanRemoveFolder(entry.path);
      this.deps.registry.remove(id);
      return Promise.resolve();
    });
  }

  /** Decrypts every file in `dir` in place; when `dir` is a registered folder and all went well, removes it. */
  unprotect(dir: string, options: RunOptions = {}): Promise<RunReport> {
    return this.serialize(async () => {
      const path = canonicalFolder(dir);
      this.assertFolder(path);
      this.deps.policy?.assertCanUnprotect();
      const covering = this.deps.registry.covering(path);
      if (covering && covering.path !== path) {
        // A subfolder leaves its folder's protection as a per-folder exclusion of exactly its path (written
        // first, so no watcher protects it again meanwhile; `protect` of it removes it), then its files are
        // decrypted. The folder itself stays protected. A mandatory folder keeps all of its subfolders.
        // The subfolder itself: refused inside, at or around a mandatory folder (not for a sibling of one).
        this.deps.policy?.assertCanRemoveFolder(path);
        this.deps.registry.update(covering.id, (e) => ({
          ...e,
          exclude: [...new Set([...(e.exclude ?? []), path])],
        }));
        return this.runLocked(null, path, 'unprotect', options);
      }
      // Protected folders inside an unprotected one (`protect DIR/sub`, then `unprotect DIR`): their files
      // come back too, so they leave the list with it, under the same policy checks, all before any file.
      const inside = covering ? [] : this.list().filter((e) => e.path !== path && isWithin(e.path, path));
      const leaving = covering ? [covering] : inside;
      for (const e of leaving) this.deps.policy?.assertCanRemoveFolder(e.path);
      for (const e of leaving) this.deps.registry.update(e.id, (x) => ({ ...x, state: 'unprotecting' }));
      const entry = covering ?? null;
      const report = await this.runLocked(entry, path, 'unprotect', options);
      // Forgotten only when every file came back: a conflict or failure keeps the folder (and its escrow copy).
      if (runVerdict(report).ok) for (const e of leaving) this.deps.registry.remove(e.id);
      return report;
    });
  }

  /** Status of `dir`, or of every registered folder. Walks the tree; decrypts nothing. */
  status(dir?: string): FolderStatus[] {
    const litter = new LitterFilter(this.deps.registry.ignorePatterns());
    return this.statusTargets(dir).map(({ entry, path }) =>
      this.statusOf(entry, path, walkFolder(path, litter, this.treeGuard(entry, path))),
    );
  }

  /**
   * Whether `dir` is a protected folder (or inside one) or holds at least one protected file: what
   * `unprotect` of a folder needs before it starts. The walk stops at the first `.coffer` file (a status
   * walked the whole tree, twice the cost of the unprotect's own walk at 100,000 files).
   */
  holdsProtected(dir: string): { path: string; registered: boolean; protectedFiles: boolean } {
    const path = canonicalFolder(dir);
    const entry = this.deps.registry.covering(path) ?? null;
    if (entry) return { path, registered: true, protectedFiles: true };
    const litter = new LitterFilter(this.deps.registry.ignorePatterns());
    for (const item of walkItems(path, litter, this.treeGuard(null, path)))
      if (item?.kind === 'protected') return { path, registered: false, protectedFiles: true };
    return { path, registered: false, protectedFiles: false };
  }

  /**
   * status() for the app's main thread: the same answer, but the walk gives the event loop back every few
   * milliseconds (walk.ts walkFolderAsync), so a large tree never freezes the window (issue 10 item 9).
   */
  async statusAsync(dir?: string): Promise<FolderStatus[]> {
    const litter = new LitterFilter(this.deps.registry.ignorePatterns());
    const statuses: FolderStatus[] = [];
    for (const { entry, path } of this.statusTargets(dir)) {
      const listing = await walkFolderAsync(path, litter, this.treeGuard(entry, path));
      statuses.push(this.statusOf(entry, path, listing));
    }
    return statuses;
  }

  private statusTargets(dir: string | undefined): { entry: FolderEntry | null; path: string }[] {
    return dir === undefined
      ? this.list().map((entry) => ({ entry, path: entry.path }))
      : [{ entry: this.deps.registry.covering(canonicalFolder(dir)) ?? null, path: canonicalFolder(dir) }];
  }

  private statusOf(entry: FolderEntry | null, path: string, listing: FolderListing): FolderStatus {
    const sum = (files: readonly BatchFile[]): number => files.reduce((n, f) => n + f.size, 0);
    return {
      id: entry?.id ?? null,
      path,
      registered: entry !== null,
      state: entry?.state ?? 'not-protected',
      protectedFiles: listing.protected.length,
      protectedBytes: sum(listing.protected),
      plaintextFiles: listing.plaintext.length,
      plaintextBytes: sum(listing.plaintext),
      leftovers: listing.temps.length,
      skipped: listing.skipped,
      lastRun: entry?.lastRun ?? null,
      running: this.active && isWithin(this.active.path, path) ? this.active.op : null,
      protection: folderState({
        protectedFiles: listing.protected.length,
        plaintext: listing.plaintext,
        // A temp file may be the plaintext of an interrupted decrypt, or a user's file named like one:
        // in the clear until a run proves it Coffer's and removes it (safe-file/temp-journal.ts).
        skipped: [...listing.skipped, ...listing.temps.map(tempIssue)],
        excluded: listing.ignored,
      }),
    };
  }

  /**
   * At start: every registered folder's leftovers of an interrupted run are resolved to exactly one good
   * copy (temp files removed; `x` beside an identical `x.coffer` removed, or the `.coffer` when the folder
   * was being unprotected). Plaintext that was merely waiting is left for the next protect run.
   */
  recoverAll(): Promise<RunReport[]> {
    return this.serialize(async () => {
      const reports: RunReport[] = [];
      for (const entry of this.list()) {
        const op: Op = entry.state === 'unprotecting' ? 'unprotect' : 'protect';
        reports.push(await this.runLocked(entry, entry.path, op, {}, true));
      }
      return reports;
    });
  }

  /** Protects the given files (the watcher's new or changed plaintext), each inside a registered folder. */
  protectFiles(paths: readonly string[], options: RunOptions = {}): Promise<FileOutcome[]> {
    return this.serialize(async () => {
      const files: BatchFile[] = [];
      const linked: FileOutcome[] = [];
      for (const path of paths) {
        // Only ever inside a protected folder, and never one being unprotected (its plaintext is wanted).
        const covering = this.deps.registry.covering(path);
        if (covering?.state !== 'protected') continue;
        // Forbidden, hidden or excluded (guard-rails.ts): left alone, as the walk leaves it; status lists it.
        if (this.treeGuard(covering, covering.path).path(path)) continue;
        try {
          const stats = lstatSync(path);
          // Another name keeps this content in the clear: reported, never claimed protected (walk.ts too).
          if (stats.isFile() && stats.nlink > 1)
            linked.push({
              path,
              kind: 'skipped',
              code: 'HARD_LINK',
              reason: `${path}: ${stats.nlink - 1} other hard link(s) share its content, which they would keep in the clear`,
            });
          else files.push({ path, size: stats.size });
        } catch {
          // gone already: nothing to protect
        }
      }
      if (files.length === 0) return linked;
      const { recipients, identities } = await this.loadKeys();
      this.active = {
        path: files.length === 1 ? (files[0]?.path ?? '') : commonParent(files),
        op: 'protect',
      };
      try {
        const outcomes = await this.deps.pool().run({
          op: 'protect',
          files,
          roots: this.list().map((e) => e.path),
          tempJournalDir: this.tempJournalDir,
          recipients,
          identities,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        return [...linked, ...outcomes];
      } finally {
        this.active = null;
      }
    });
  }

  /** An escrow failure does not undo the protection; it is reported with the run, so the user sees it. */
  private async writeEscrow(folder: string, report: RunReport): Promise<RunReport> {
    if (!this.deps.escrow) return report;
    try {
      await this.deps.escrow.writeBeside(folder);
      return report;
    } catch (error) {
      const e = escrowError(error, folder);
      return {
        ...report,
        failed: [
          ...report.failed,
          {
            path: folder,
            code: e.code,
            message: `the key escrow record could not be written beside ${folder}: ${e.message}`,
            hint:
              e.hint || 'Your files are protected. Make sure the folder is writable, then protect it again.',
          },
        ],
      };
    }
  }

  private assertFolder(path: string): void {
    try {
      if (!statSync(path).isDirectory()) {
        throw new CofferError(
          'NOT_A_FOLDER',
          `${path}: not a folder`,
          'Pick a folder; to protect one file use `coffer encrypt`.',
        );
      }
    } catch (error) {
      throw toCofferError(error, path);
    }
  }

  /** The guard rails inside a folder: its own exclusions (relative to its root) and the policy's. */
  private treeGuard(entry: FolderEntry | null, path: string): TreeGuard {
    return this.guard.forTree(entry?.path ?? path, {
      policy: this.deps.policy?.exclusions?.() ?? [],
      folder: entry?.exclude ?? [],
    });
  }

  private async loadKeys(): Promise<{ recipients: Recipient[]; identities: Identity[] }> {
    const recipients = await this.deps.keys.recipients();
    this.deps.policy?.requireRecipients(recipients);
    return { recipients, identities: await this.deps.keys.identities() };
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const next = this.running.then(task);
    this.running = next.catch(() => undefined);
    return next;
  }

  private async runLocked(
    entry: FolderEntry | null,
    path: string,
    op: Op,
    options: RunOptions,
    leftoversOnly = false,
  ): Promise<RunReport> {
    const lock = FolderLock.acquire(
      this.deps.lockDir,
      entry?.id ?? `unregistered-${Buffer.from(path).toString('hex').slice(0, 32)}`,
      path,
    );
    this.active = { path, op };
    try {
      return await this.run(entry, path, op, options, leftoversOnly);
    } finally {
      this.active = null;
      lock.release();
    }
  }

  private async run(
    entry: FolderEntry | null,
    path: string,
    op: Op,
    options: RunOptions,
    leftoversOnly: boolean,
  ): Promise<RunReport> {
    const { report, cancelledFiles } = await runFolder(
      {
        pool: this.deps.pool,
        loadKeys: () => this.loadKeys(),
        tempJournal: this.tempJournal,
        tempJournalDir: this.tempJournalDir,
        retries: this.deps.retries ?? 2,
        retryDelayMs: this.deps.retryDelayMs ?? 500,
        ...(this.deps.chunkFiles ? { chunkFiles: this.deps.chunkFiles } : {}),
      },
      {
        op,
        path,
        items: walkItems(
          path,
          new LitterFilter(this.deps.registry.ignorePatterns()),
          this.treeGuard(entry, path),
        ),
        leftoversOnly,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
    if (entry && !leftoversOnly) this.recordLastRun(entry, report, cancelledFiles);
    return report;
  }

  private recordLastRun(entry: FolderEntry, report: RunReport, cancelledFiles: number): void {
    const failed = report.failed.length;
    // Everything the run left undone that is not a failure: in the clear (clear-state.ts) or not reached.
    const waiting = runVerdict(report).problems.length - failed + cancelledFiles;
    const lastRun: LastRun = {
      op: report.op,
      at: Date.now(),
      outcome: report.cancelled
        ? 'cancelled'
        : failed > 0 && report.filesDone === 0
          ? 'failed'
          : failed > 0 || waiting > 0
            ? 'partial'
            : 'ok',
      filesDone: report.filesDone,
      failed,
      waiting,
    };
    try {
      this.deps.registry.update(entry.id, (e) => ({ ...e, lastRun }));
    } catch {
      // removed meanwhile (unprotect): nothing to record
    }
  }
}

function tempIssue(path: string): FileIssue {
  return {
    path,
    code: 'TEMP_LEFTOVER',
    message: `${path}: a temporary file of an interrupted run, or a file named like one; it may be readable`,
    hint: 'Run `coffer protect` on its folder: it removes what Coffer made and lists what it did not.',
  };
}

function escrowError(error: unknown, folder: string): CofferError {
  try {
    return toCofferError(error, folder);
  } catch {
    return new CofferError('ESCROW_WRITE_FAILED', error instanceof Error ? error.message : String(error));
  }
}

/** The deepest folder holding every file (watcher batches span one protected folder or several). */
function commonParent(files: readonly BatchFile[]): string {
  let parent = dirname(files[0]?.path ?? '');
  for (const f of files)
    while (!isWithin(f.path, parent) && dirname(parent) !== parent) parent = dirname(parent);
  return parent;
}

/** The lock folder inside app data. */
export function lockDirIn(home: string): string {
  return join(home, 'locks');
}

export { isWithin };
