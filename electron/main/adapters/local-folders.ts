/**
 * FoldersPort and WorkspacePort over SafeFiles, in-process. INTERIM: the folders service
 * (electron/services/folders, worker pool, watcher) replaces this in the composition root once it lands;
 * until then this keeps every UI flow real (real files, real keys) at the cost of running crypto on the
 * main thread one file at a time, yielding to the event loop between files so progress and cancel work.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CofferError, isCofferError } from '../../../crypto/errors.js';
import type { Recipient } from '../../../crypto/keys.js';
import type { DeviceKeyService } from '../../services/keys/device-key.js';
import { PROTECTED_SUFFIX, isProtectedName, isTempName, type SafeFiles } from '../../services/safe-file.js';
import { writeFileAtomic } from '../../services/settings.js';
import type { EditSession, FileEntry, FolderView, Progress } from '../../shared/contract.js';
import type { FoldersPort, WorkspacePort } from '../ports.js';
import type { RunTracker } from '../runs.js';

interface FolderRecord {
  id: string;
  path: string;
  lastRun: FolderView['lastRun'];
}

export interface LocalFoldersDeps {
  safeFiles: SafeFiles;
  deviceKeys: DeviceKeyService;
  runs: RunTracker;
  registryFile: string;
  /** Who files are written for: this device and every organization recovery key (trusted or by policy). */
  recipients: () => Promise<Recipient[]>;
  mandatoryFolders: () => Promise<string[]>;
  /** Refuses an operation the organization forbids (throws CofferError). */
  assertCanUnprotect: () => void;
}

function notFound(): CofferError {
  return new CofferError('NOT_FOUND', 'That folder is not in Coffer.', 'Refresh the folder list.');
}

/** Regular files under `root`, not following symlinks, skipping our own temporary files. */
function walk(root: string): { file: string; size: number; protected: boolean }[] {
  const out: { file: string; size: number; protected: boolean }[] = [];
  const visit = (dir: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (isTempName(name)) continue;
      const full = path.join(dir, name);
      const stat = fs.lstatSync(full, { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.isDirectory()) visit(full);
      else if (stat.isFile()) out.push({ file: full, size: stat.size, protected: isProtectedName(name) });
    }
  };
  visit(root);
  return out;
}

export class LocalFolders implements FoldersPort {
  constructor(private readonly deps: LocalFoldersDeps) {}

  private read(): FolderRecord[] {
    try {
      return JSON.parse(fs.readFileSync(this.deps.registryFile, 'utf8')) as FolderRecord[];
    } catch {
      return [];
    }
  }

  private write(records: FolderRecord[]): void {
    writeFileAtomic(this.deps.registryFile, JSON.stringify(records, null, 2) + '\n');
  }

  private record(folderId: string): FolderRecord {
    const found = this.read().find((r) => r.id === folderId);
    if (!found) throw notFound();
    return found;
  }

  async list(): Promise<FolderView[]> {
    const mandatory = new Set((await this.deps.mandatoryFolders()).map((p) => path.resolve(p)));
    const records = this.read();
    // Mandatory folders are always listed, even before the user added them.
    for (const m of mandatory) {
      if (!records.some((r) => path.resolve(r.path) === m) && fs.existsSync(m)) {
        records.push({ id: randomUUID(), path: m, lastRun: null });
        this.write(records);
      }
    }
    return records.map((r) => {
      const files = walk(r.path);
      const prot = files.filter((f) => f.protected);
      return {
        id: r.id,
        path: r.path,
        mandatory: mandatory.has(path.resolve(r.path)),
        protectedFiles: prot.length,
        plaintextFiles: files.length - prot.length,
        protectedBytes: prot.reduce((n, f) => n + f.size, 0),
        lastRun: r.lastRun,
        runningRunId: this.deps.runs.running(r.id),
      };
    });
  }

  async add(folder: string): Promise<FolderView> {
    const resolved = path.resolve(folder);
    const stat = fs.statSync(resolved, { throwIfNoEntry: false });
    if (!stat?.isDirectory()) {
      throw new CofferError('NOT_A_FOLDER', `${resolved} is not a folder.`, 'Choose a folder.');
    }
    const records = this.read();
    const clash = records.find((r) => {
      const rel = path.relative(r.path, resolved);
      const back = path.relative(resolved, r.path);
      return rel === '' || !rel.startsWith('..') || !back.startsWith('..');
    });
    if (clash) {
      throw new CofferError(
        'FOLDER_OVERLAPS',
        `${resolved} overlaps ${clash.path}, which Coffer already protects.`,
        'Protect the outer folder only.',
      );
    }
    const record = { id: randomUUID(), path: resolved, lastRun: null };
    this.write([...records, record]);
    const view = (await this.list()).find((v) => v.id === record.id);
    if (!view) throw notFound();
    return view;
  }

  async remove(folderId: string): Promise<void> {
    this.record(folderId);
    this.write(this.read().filter((r) => r.id !== folderId));
    return Promise.resolve();
  }

  protect(folderId: string): Promise<{ runId: string }> {
    return this.run(folderId, 'protect');
  }

  unprotect(folderId: string): Promise<{ runId: string }> {
    this.deps.assertCanUnprotect();
    return this.run(folderId, 'unprotect');
  }

  cancel(runId: string): boolean {
    return this.deps.runs.cancel(runId);
  }

  runs(): Progress[] {
    return this.deps.runs.list();
  }

  async listFiles(folderId: string, dir: string): Promise<FileEntry[]> {
    const absolute = await this.resolve(folderId, dir);
    const entries: FileEntry[] = [];
    for (const name of fs.readdirSync(absolute).sort((a, b) => a.localeCompare(b))) {
      if (isTempName(name)) continue;
      const stat = fs.lstatSync(path.join(absolute, name), { throwIfNoEntry: false });
      if (!stat) continue;
      const kind: FileEntry['kind'] = stat.isDirectory()
        ? 'dir'
        : !stat.isFile()
          ? 'other'
          : isProtectedName(name)
            ? 'protected'
            : 'plaintext';
      entries.push({
        name: kind === 'protected' ? name.slice(0, -PROTECTED_SUFFIX.length) : name,
        relPath: dir === '' ? name : `${dir}/${name}`,
        kind,
        size: stat.size,
        mtimeMs: stat.mtimeMs,
      });
    }
    return entries.sort((a, b) => Number(b.kind === 'dir') - Number(a.kind === 'dir'));
  }

  resolve(folderId: string, relPath: string): Promise<string> {
    const root = this.record(folderId).path;
    const absolute = path.resolve(root, relPath);
    const rel = path.relative(root, absolute);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      return Promise.reject(
        new CofferError(
          'OUTSIDE_FOLDER',
          'That path is outside the protected folder.',
          'Pick a file inside the folder.',
        ),
      );
    }
    // Never follow a symlink out of a protected folder (DESIGN.md "Writing files safely").
    const real = fs.realpathSync(absolute);
    const realRel = path.relative(fs.realpathSync(root), real);
    if (realRel.startsWith('..') || path.isAbsolute(realRel)) {
      return Promise.reject(
        new CofferError(
          'OUTSIDE_FOLDER',
          'That path leads outside the protected folder.',
          'Pick a file inside the folder.',
        ),
      );
    }
    return Promise.resolve(absolute);
  }

  onProgress(listener: (progress: Progress) => void): () => void {
    return this.deps.runs.onProgress(listener);
  }

  private async run(folderId: string, op: 'protect' | 'unprotect'): Promise<{ runId: string }> {
    const root = this.record(folderId).path;
    if (this.deps.runs.running(folderId)) {
      throw new CofferError(
        'RUN_IN_PROGRESS',
        'This folder is already being processed.',
        'Wait for it to finish, or cancel it.',
      );
    }
    const { safeFiles, deviceKeys } = this.deps;
    // Keys first, before the run starts: a missing keychain fails the request, not silently the run.
    const recipients = op === 'protect' ? await this.deps.recipients() : [];
    const identities = await deviceKeys.identities();
    const runId = this.deps.runs.start(op, folderId, async (run) => {
      const todo = walk(root).filter((f) => (op === 'protect' ? !f.protected : f.protected));
      run.setTotals(
        todo.length,
        todo.reduce((n, f) => n + f.size, 0),
      );
      for (const f of todo) {
        if (run.signal.aborted) break;
        await yieldToLoop();
        let last = 0;
        const onProgress = (bytes: number) => {
          run.addBytes(bytes - last);
          last = bytes;
        };
        try {
          if (op === 'protect')
            safeFiles.encryptInPlace(f.file, { recipients, identities, onProgress, signal: run.signal });
          else
            safeFiles.decryptTo(f.file, { identities, removeSource: true, onProgress, signal: run.signal });
          run.addBytes(f.size - last);
          run.fileDone();
        } catch (error) {
          if (isCofferError(error, 'CANCELLED')) break;
          run.addBytes(f.size - last);
          run.fileFailed(path.relative(root, f.file), error);
        }
      }
      const progress = this.deps.runs.list().find((p) => p.runId === run.runId);
      const outcome = run.signal.aborted
        ? 'cancelled'
        : progress && progress.errors.length > 0
          ? 'partial'
          : 'ok';
      this.write(
        this.read().map((r) => (r.id === folderId ? { ...r, lastRun: { at: Date.now(), outcome } } : r)),
      );
    });
    return { runId };
  }
}

interface OpenEdit extends EditSession {
  editPath: string;
  source: string;
  openedSize: number;
  openedMtimeMs: number;
}

/**
 * The open-for-edit workspace: a protected file decrypted into a private folder in app data, encrypted
 * back over the original when closed (if it changed), and wiped on close and on lock.
 */
export class LocalWorkspace implements WorkspacePort {
  private readonly open_ = new Map<string, OpenEdit>();

  constructor(
    private readonly deps: {
      safeFiles: SafeFiles;
      deviceKeys: DeviceKeyService;
      folders: FoldersPort;
      dir: string;
      recipients: () => Promise<Recipient[]>;
    },
  ) {}

  async open(folderId: string, relPath: string): Promise<EditSession & { editPath: string }> {
    for (const e of this.open_.values()) if (e.folderId === folderId && e.relPath === relPath) return e;
    const source = await this.deps.folders.resolve(folderId, relPath);
    if (!isProtectedName(path.basename(source))) {
      throw new CofferError(
        'NOT_PROTECTED',
        'Only protected (.coffer) files open through Coffer.',
        'Protect the folder first.',
      );
    }
    const id = randomUUID();
    const sessionDir = path.join(this.deps.dir, id);
    fs.mkdirSync(sessionDir, { recursive: true, mode: 0o700 });
    const identities = await this.deps.deviceKeys.identities();
    const { target, metadata } = this.deps.safeFiles.decryptTo(source, { identities, outDir: sessionDir });
    const stat = fs.statSync(target);
    const edit: OpenEdit = {
      id,
      folderId,
      relPath,
      name: metadata.name,
      openedAt: Date.now(),
      editPath: target,
      source,
      openedSize: stat.size,
      openedMtimeMs: stat.mtimeMs,
    };
    this.open_.set(id, edit);
    return edit;
  }

  list(): EditSession[] {
    return [...this.open_.values()].map(({ id, folderId, relPath, name, openedAt }) => ({
      id,
      folderId,
      relPath,
      name,
      openedAt,
    }));
  }

  async close(editId: string): Promise<{ saved: boolean }> {
    const edit = this.open_.get(editId);
    if (!edit) throw new CofferError('NOT_FOUND', 'That file is not open for editing.', 'Refresh the list.');
    const stat = fs.statSync(edit.editPath, { throwIfNoEntry: false });
    let saved = false;
    if (stat && (stat.size !== edit.openedSize || stat.mtimeMs !== edit.openedMtimeMs)) {
      // Encrypt beside the original, then rename over it: the original stays intact until the new one is whole.
      const staging = `${edit.source}.coffer.tmp-${randomBytes(6).toString('hex')}`;
      this.deps.safeFiles.encryptInPlace(edit.editPath, {
        recipients: await this.deps.recipients(),
        identities: await this.deps.deviceKeys.identities(),
        output: staging,
      });
      fs.renameSync(staging, edit.source);
      saved = true;
    }
    fs.rmSync(path.dirname(edit.editPath), { recursive: true, force: true });
    this.open_.delete(editId);
    return { saved };
  }

  async lockAll(): Promise<number> {
    let wiped = 0;
    for (const id of [...this.open_.keys()]) {
      await this.close(id);
      wiped += 1;
    }
    // Anything left from an earlier session (a crash) goes too.
    fs.rmSync(this.deps.dir, { recursive: true, force: true });
    return wiped;
  }
}
