/**
 * FoldersPort and WorkspacePort over the folder services (electron/services/folders): FolderService runs
 * protect and unprotect in its worker pool, and this adapter only turns its results into what the UI sees
 * (FolderView, tracked runs with progress and cancel, one directory's listing) and keeps folder IDs and
 * relative paths from leaving a protected folder. No file is encrypted here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import { inspectFd } from '../../../crypto/file.js';
import { plaintextLength } from '../../../crypto/length.js';
import type { FolderService, FolderStatus, KeyProvider } from '../../services/folders/folder-service.js';
import { LitterFilter } from '../../services/folders/litter.js';
import { hasCofferMagic } from '../../services/folders/walk.js';
import { canonicalFolder, isWithin, type FolderEntry } from '../../services/folders/registry.js';
import { runVerdict } from '../../services/folders/clear-state.js';
import type { StatusCache } from '../../services/folders/status-cache.js';
import type { FileIssue, RunReport } from '../../services/folders/types.js';
import type { EditWorkspace } from '../../services/folders/workspace.js';
import { fileErrorForPeople } from './file-issue-words.js';
import { ESCROW_COPY_NAME } from '../../services/keys/folder-escrow.js';
import { PROTECTED_SUFFIX, isProtectedName, isTempName } from '../../services/safe-file.js';
import type { EditSession, FileEntry, FileError, FolderView, Progress } from '../../shared/contract.js';
import { seenClear } from '../../shared/clear-split.js';
import { FolderPresence } from '../folder-presence.js';
import type { FoldersPort, WorkspacePort } from '../ports.js';
import type { RunHandle, RunTracker } from '../runs.js';

/**
 * What the adapter asks of the policy (PolicyService satisfies it). Enforcement is elsewhere: the handlers
 * ask before a request is accepted, FolderService before it touches a file.
 */
export interface FoldersPolicy {
  isMandatoryFolder(folder: string): boolean;
}

export interface FoldersAdapterDeps {
  service: FolderService;
  runs: RunTracker;
  /** The same keys FolderService uses: loaded before a run starts, so a dead keychain fails the request. */
  keys: KeyProvider;
  policy: FoldersPolicy;
  /** Litter patterns of the registry (shown as "other" in listings, never as waiting plaintext). */
  ignorePatterns: () => readonly string[];
  /** The escrow copies beside folders (FolderEscrowCopies): an unprotected folder's copy goes, as in the CLI. */
  escrow?: FolderEscrowRemover;
  /**
   * Files no current organization recovery key opens (RotationService.coverage), as `coffer status`. The
   * app counts in a worker (CoverageCounter): it opens every .coffer header, never on the main thread.
   */
  notRecoverable?: (folder: string) => Promise<number>;
  /**
   * The folders' status from memory, kept current by watching them (status-cache.ts): nothing is walked
   * on the main thread. Without it (or if it fails), status walks, giving the event loop back as it goes.
   */
  statusCache?: Pick<StatusCache, 'status' | 'touched'>;
  /** Whether each folder is there at all (gone, or its drive not mounted): FolderView.unavailable. */
  presence?: Pick<FolderPresence, 'check'>;
}

export interface FolderEscrowRemover {
  removeBeside(folder: string): Promise<void>;
}

function notFound(): CofferError {
  return new CofferError('NOT_FOUND', 'That folder is not in Coffer.', 'Refresh the folder list.');
}

function outside(): CofferError {
  return new CofferError(
    'OUTSIDE_FOLDER',
    'That path leads outside the protected folder.',
    'Pick a file inside the folder.',
  );
}

/** Paths relative to the folder, and no full path or CLI command in the words (file-issue-words.ts). */
function toFileError(issue: FileIssue, root: string): FileError {
  return fileErrorForPeople(issue, root);
}

/**
 * The run's per-file problems as the UI shows them (paths relative to the folder): every file it left in
 * the clear or could not bring back, by the definition the CLI shares (clear-state.ts).
 */
export function reportErrors(report: RunReport): FileError[] {
  return runVerdict(report).problems.map((p) => toFileError(p, report.folder));
}

export class FoldersAdapter implements FoldersPort {
  private readonly presence: Pick<FolderPresence, 'check'>;

  constructor(private readonly deps: FoldersAdapterDeps) {
    this.presence = deps.presence ?? new FolderPresence();
  }

  private entry(folderId: string): FolderEntry {
    const found = this.deps.service.list().find((e) => e.id === folderId);
    if (!found) throw notFound();
    return found;
  }

  private view(
    status: FolderStatus,
    notRecoverable?: number,
    unavailable?: FolderView['unavailable'] | null,
  ): FolderView {
    const id = status.id ?? '';
    // What of the count is the folder's own (a gone folder: none; not mounted: all but its root's EIO).
    const { inTheClearFiles, inTheClear: issues } = seenClear(status.path, status.protection, unavailable);
    return {
      id,
      path: status.path,
      mandatory: this.deps.policy.isMandatoryFolder(status.path),
      protectedFiles: status.protectedFiles,
      plaintextFiles: status.plaintextFiles,
      protectedBytes: status.protectedBytes,
      inTheClearFiles,
      inTheClear: issues.map((f) => toFileError(f, status.path)),
      excludedFiles: status.protection.excluded,
      ...(notRecoverable === undefined ? {} : { notRecoverableFiles: notRecoverable }),
      lastRun: status.lastRun ? { at: status.lastRun.at, outcome: status.lastRun.outcome } : null,
      runningRunId: this.deps.runs.running(id),
      ...(unavailable ? { unavailable } : {}),
    };
  }

  /**
   * Every folder's status from the cache (else a walk that yields), with notRecoverableFiles counted off
   * this thread; `notRecoverable: false` (the tray) leaves it out. A count that failed is left out too
   * (absent is "not counted", never 0).
   */
  async list(options: { notRecoverable?: boolean } = {}): Promise<FolderView[]> {
    const statuses = await this.statuses();
    const [counts, absent] = await Promise.all([
      Promise.all(
        statuses.map((s) =>
          options.notRecoverable === false ? Promise.resolve(undefined) : this.notRecoverable(s.path),
        ),
      ),
      // A folder that is not there (a drive unplugged or not mounted) is never "all protected".
      Promise.all(statuses.map((s) => this.presence.check(s.path))),
    ]);
    return statuses.map((s, i) => this.view(s, counts[i], absent[i]));
  }

  private async notRecoverable(folder: string): Promise<number | undefined> {
    if (!this.deps.notRecoverable) return undefined;
    try {
      return await this.deps.notRecoverable(folder);
    } catch {
      return undefined;
    }
  }

  private async statuses(entry?: FolderEntry): Promise<FolderStatus[]> {
    const cache = this.deps.statusCache;
    if (cache) {
      try {
        return await cache.status(entry ? [entry] : this.deps.service.list(), entry === undefined);
      } catch {
        // The cache's worker is gone (it starts again at the next status): this answer walks instead.
      }
    }
    return this.deps.service.statusAsync(entry?.path);
  }

  async add(folder: string): Promise<FolderView> {
    const { entry, added } = await this.deps.service.register(folder);
    if (!added) {
      const canonical = canonicalFolder(folder);
      throw new CofferError(
        'ALREADY_PROTECTED',
        canonical === entry.path
          ? `${entry.path} is already in Coffer.`
          : `${canonical} is inside ${entry.path}, which Coffer already protects.`,
        'Nothing to do: every file in it is protected with that folder.',
      );
    }
    const [status] = await this.statuses(entry);
    if (!status) throw notFound();
    return this.view(status, await this.notRecoverable(status.path));
  }

  async remove(folderId: string): Promise<void> {
    this.entry(folderId);
    if (this.deps.runs.running(folderId)) {
      throw new CofferError(
        'RUN_IN_PROGRESS',
        'This folder is being processed.',
        'Wait for the run to finish, or cancel it, then remove the folder.',
      );
    }
    await this.deps.service.unregister(folderId);
  }

  async protect(folderId: string): Promise<{ runId: string }> {
    const entry = this.entry(folderId);
    this.assertIdle(folderId);
    // Keys first, before the run starts: a missing keychain or a policy refusal fails the request itself.
    await this.deps.keys.recipients();
    await this.deps.keys.identities();
    return {
      runId: this.start('protect', entry, (run) => this.deps.service.protect(entry.path, this.options(run))),
    };
  }

  async unprotect(folderId: string): Promise<{ runId: string }> {
    const entry = this.entry(folderId);
    this.assertIdle(folderId);
    await this.deps.keys.identities();
    return {
      runId: this.start('unprotect', entry, async (run) => {
        const report = await this.deps.service.unprotect(entry.path, this.options(run));
        await this.forgetEscrowCopy(entry, run);
        return report;
      }),
    };
  }

  /**
   * Once a folder has left Coffer (a complete unprotect), its escrow copy would never be refreshed again
   * and nothing there needs it. A cancelled or failed run keeps the folder, and so the copy.
   */
  private async forgetEscrowCopy(entry: FolderEntry, run: RunHandle): Promise<void> {
    if (!this.deps.escrow || this.deps.service.list().some((e) => e.id === entry.id)) return;
    try {
      await this.deps.escrow.removeBeside(entry.path);
    } catch (error) {
      run.addError({
        path: ESCROW_COPY_NAME,
        code: 'ESCROW_COPY_LEFT',
        message: `The key escrow copy could not be removed: ${error instanceof Error ? error.message : String(error)}`,
        hint: 'The folder is no longer protected; the copy is safe to delete.',
      });
    }
  }

  cancel(runId: string): boolean {
    return this.deps.runs.cancel(runId);
  }

  runs(): Progress[] {
    return this.deps.runs.list();
  }

  async listFiles(folderId: string, dir: string): Promise<FileEntry[]> {
    const absolute = await this.resolve(folderId, dir);
    const litter = new LitterFilter(this.deps.ignorePatterns());
    const entries: FileEntry[] = [];
    const dirents = fs.readdirSync(absolute, { withFileTypes: true });
    // Lock files are litter only beside the document they lock (litter.ts), as the walk decides.
    const dirLitter = litter.inDirectory(
      absolute,
      dirents.map((d) => d.name),
      Date.now(),
      new Set(dirents.filter((d) => d.isFile()).map((d) => d.name)),
    );
    for (const d of dirents) {
      if (isTempName(d.name)) continue;
      const stat = fs.lstatSync(path.join(absolute, d.name), { throwIfNoEntry: false });
      if (!stat) continue;
      const kind: FileEntry['kind'] = stat.isDirectory()
        ? 'dir'
        : !stat.isFile() || dirLitter.isLitter(d.name)
          ? 'other'
          : // Only a file with Coffer's magic is shown protected, as status counts it (walk.ts).
            isProtectedName(d.name) && hasCofferMagic(path.join(absolute, d.name))
            ? 'protected'
            : 'plaintext';
      entries.push({
        name: kind === 'protected' ? d.name.slice(0, -PROTECTED_SUFFIX.length) : d.name,
        relPath: dir === '' ? d.name : `${dir}/${d.name}`,
        kind,
        // A protected file shows the size of its original (issue 12 item 6: an empty file is 0 B, not 1.3 KB).
        size: kind === 'protected' ? originalSize(path.join(absolute, d.name), stat.size) : stat.size,
        mtimeMs: stat.mtimeMs,
      });
    }
    return entries.sort(
      (a, b) => Number(b.kind === 'dir') - Number(a.kind === 'dir') || a.name.localeCompare(b.name),
    );
  }

  resolve(folderId: string, relPath: string): Promise<string> {
    const root = this.entry(folderId).path; // canonical (the registry stores real paths)
    const absolute = path.resolve(root, relPath);
    if (!isWithin(absolute, root)) return Promise.reject(outside());
    // Never follow a symlink out of a protected folder (DESIGN.md "Writing files safely").
    let real: string;
    try {
      real = fs.realpathSync(absolute);
    } catch {
      return Promise.reject(
        new CofferError('NOT_FOUND', `${relPath} is not in the folder any more.`, 'Refresh the list.'),
      );
    }
    if (!isWithin(real, root)) return Promise.reject(outside());
    return Promise.resolve(absolute);
  }

  onProgress(listener: (progress: Progress) => void): () => void {
    return this.deps.runs.onProgress(listener);
  }

  private assertIdle(folderId: string): void {
    if (this.deps.runs.running(folderId)) {
      throw new CofferError(
        'RUN_IN_PROGRESS',
        'This folder is already being processed.',
        'Wait for it to finish, or cancel it.',
      );
    }
  }

  private options(run: RunHandle) {
    return {
      signal: run.signal,
      onProgress: (p: { filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number }) => {
        run.update({
          filesDone: p.filesDone,
          filesTotal: p.filesTotal,
          bytesDone: p.bytesDone,
          bytesTotal: p.bytesTotal,
        });
      },
    };
  }

  private start(
    kind: 'protect' | 'unprotect',
    entry: FolderEntry,
    work: (run: RunHandle) => Promise<RunReport>,
  ): string {
    return this.deps.runs.start(kind, entry.id, async (run) => {
      // Counts arrived as progress (the service's last snapshot is final); the problems come with the report.
      const report = await work(run);
      // What the run left behind is looked at again before the next status (the watcher sees it too).
      this.deps.statusCache?.touched([report.folder, ...runVerdict(report).problems.map((p) => p.path)]);
      for (const error of reportErrors(report)) run.addError(error);
    });
  }
}

/** The edit workspace, keyed for the UI by folder and relative path (the workspace path stays in main). */
export class WorkspaceAdapter implements WorkspacePort {
  private readonly known = new Map<string, { folderId: string; relPath: string }>();

  constructor(private readonly deps: { workspace: EditWorkspace; folders: Pick<FoldersPort, 'resolve'> }) {}

  async open(
    folderId: string,
    relPath: string,
  ): Promise<EditSession & { editPath: string; runnable: boolean }> {
    const source = await this.deps.folders.resolve(folderId, relPath);
    if (!isProtectedName(path.basename(source))) {
      throw new CofferError(
        'NOT_PROTECTED',
        'Only protected (.coffer) files open through Coffer.',
        'Protect the folder first.',
      );
    }
    const already = this.deps.workspace.sessions().find((s) => s.source === source);
    const session = already ?? (await this.deps.workspace.openFile(source));
    this.known.set(session.id, { folderId, relPath });
    return {
      ...this.toView(session.id, session.editPath, session.openedAt),
      editPath: session.editPath,
      runnable: session.runnable,
    };
  }

  list(): EditSession[] {
    return this.deps.workspace
      .sessions()
      .filter((s) => this.known.has(s.id))
      .map((s) => this.toView(s.id, s.editPath, s.openedAt));
  }

  async close(editId: string): Promise<{ saved: boolean }> {
    const result = await this.deps.workspace.close(editId);
    this.known.delete(editId);
    return result;
  }

  async lockAll(): Promise<number> {
    const wiped = await this.deps.workspace.closeAll();
    this.known.clear();
    return wiped;
  }

  private toView(id: string, editPath: string, openedAt: number): EditSession {
    const where = this.known.get(id) ?? { folderId: '', relPath: '' };
    return { id, folderId: where.folderId, relPath: where.relPath, name: path.basename(editPath), openedAt };
  }
}

/**
 * The plaintext size of a `.coffer` file from its header and length (FORMAT.md §5.2; no key needed, §9),
 * read without following a link; the file's own size when the header cannot be read or the length fits no
 * size (a damaged file: Verify says what is wrong).
 */
function originalSize(file: string, total: number): number {
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const info = inspectFd(fd);
      return plaintextLength(total, info.headerLength, info.chunkSize) ?? total;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return total;
  }
}
