/**
 * Open for edit: a protected file is decrypted into a private workspace (per user, 0700, in app data), the
 * path handed to the OS default app; when that copy changes it is encrypted back over the `.coffer`
 * (crash safe: a complete, verified new file under a new file key is renamed over the old one); on close,
 * lock or quit the copy is wiped. At start, a workspace left by a crash is encrypted back if it changed,
 * then wiped: no plaintext survives.
 *
 * Wiping overwrites the copy with zeros before unlinking it; on SSDs and copy-on-write file systems that is
 * no guarantee (docs/SECURITY.md): full-disk encryption is what covers the workspace on those.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { CofferError } from '../../../crypto/errors.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { NOFOLLOW, SafeFiles } from '../safe-file.js';
import { fsyncDir, writeFileAtomic } from '../settings.js';
import type { KeyProvider } from './folder-service.js';
import { sameContent } from './same-content.js';

export interface EditSession {
  readonly id: string;
  /** The `.coffer` file being edited. */
  readonly source: string;
  /** The decrypted copy to hand to the OS. */
  readonly editPath: string;
  readonly openedAt: number;
}

interface Manifest {
  readonly id: string;
  readonly source: string;
  readonly name: string;
  readonly openedAt: number;
  /** Size and mtime of the copy when it last matched the `.coffer` file. */
  syncedSize: number;
  syncedMtimeMs: number;
}

export interface WorkspaceDeps {
  readonly sodium: SodiumBackend;
  readonly keys: KeyProvider;
  /** `<app data>/workspace`. */
  readonly dir: string;
  readonly stableMs?: number;
  readonly onSaved?: (session: EditSession) => void;
  readonly onError?: (session: EditSession, error: unknown) => void;
}

export class EditWorkspace {
  private readonly safe: SafeFiles;
  private readonly open = new Map<
    string,
    { manifest: Manifest; watcher: FSWatcher; saving: Promise<void> }
  >();

  constructor(private readonly deps: WorkspaceDeps) {
    this.safe = new SafeFiles(deps.sodium);
  }

  sessions(): EditSession[] {
    return [...this.open.values()].map(({ manifest }) => this.session(manifest));
  }

  /** Decrypts `source` (a `.coffer` file) into the workspace and watches the copy. */
  async openFile(source: string): Promise<EditSession> {
    const identities = await this.deps.keys.identities();
    this.ensureRoot();
    const id = randomBytes(8).toString('hex');
    const folder = join(this.deps.dir, id);
    mkdirSync(folder, { mode: 0o700 });
    try {
      // The stored name, so the OS picks the right app; a temp name first, renamed only once authentic.
      const { target, metadata } = this.safe.decryptTo(source, { identities, outDir: folder });
      const stats = statSync(target);
      const manifest: Manifest = {
        id,
        source,
        name: metadata.name,
        openedAt: Date.now(),
        syncedSize: stats.size,
        syncedMtimeMs: stats.mtimeMs,
      };
      this.writeManifest(manifest);
      await this.watch(manifest);
      return this.session(manifest);
    } catch (error) {
      rmSync(folder, { recursive: true, force: true });
      throw error;
    }
  }

  /** Saves pending changes, then wipes the copy. Returns whether anything was saved. */
  async close(id: string): Promise<{ saved: boolean }> {
    const entry = this.open.get(id);
    if (!entry) throw new CofferError('NOT_OPEN', `no open file with id ${id}`, 'It was closed already.');
    await entry.watcher.close();
    await entry.saving;
    const saved = await this.saveIfChanged(entry.manifest);
    this.wipe(entry.manifest.id);
    this.open.delete(id);
    return { saved };
  }

  /** Lock or quit: every open copy saved if changed, then wiped. */
  async closeAll(): Promise<number> {
    const ids = [...this.open.keys()];
    for (const id of ids) await this.close(id);
    return ids.length;
  }

  /**
   * At start: copies left by a crash are encrypted back if they differ from their `.coffer` file (or it is
   * gone), then wiped. Returns what was done.
   */
  async recover(): Promise<{ saved: string[]; wiped: number }> {
    const saved: string[] = [];
    let wiped = 0;
    if (!existsSync(this.deps.dir)) return { saved, wiped };
    for (const entry of readdirSync(this.deps.dir, { withFileTypes: true })) {
      const name = entry.name;
      // Sessions are folders; manifests are not, and a manifest's temp file left by a crash is removed.
      if (!entry.isDirectory() && name.includes('.json.tmp-'))
        rmSync(join(this.deps.dir, name), { force: true });
      if (this.open.has(name) || !entry.isDirectory()) continue;
      try {
        const manifest = this.readManifest(name);
        if (manifest && (await this.saveIfChanged(manifest, true))) saved.push(manifest.source);
      } catch (error) {
        // Never wipe a copy that could not be saved back: it may hold the only version of an edit.
        this.deps.onError?.(
          { id: name, source: '', editPath: join(this.deps.dir, name), openedAt: 0 },
          error,
        );
        continue;
      }
      this.wipe(name);
      wiped++;
    }
    return { saved, wiped };
  }

  private session(m: Manifest): EditSession {
    return { id: m.id, source: m.source, editPath: join(this.deps.dir, m.id, m.name), openedAt: m.openedAt };
  }

  private ensureRoot(): void {
    mkdirSync(this.deps.dir, { recursive: true, mode: 0o700 });
  }

  private watch(manifest: Manifest): Promise<void> {
    const editPath = this.session(manifest).editPath;
    const stable = this.deps.stableMs ?? 500;
    const watcher = watch(dirname(editPath), {
      ignoreInitial: true,
      followSymlinks: false,
      awaitWriteFinish: { stabilityThreshold: stable, pollInterval: Math.max(20, stable / 5) },
    });
    const entry = { manifest, watcher, saving: Promise.resolve() };
    // Editors save by writing a new file and renaming it over the old one: `add` counts like `change`.
    const onChange = (path: string): void => {
      if (path !== editPath) return;
      entry.saving = entry.saving.then(async () => {
        try {
          if (await this.saveIfChanged(manifest)) this.deps.onSaved?.(this.session(manifest));
        } catch (error) {
          this.deps.onError?.(this.session(manifest), error);
        }
      });
    };
    watcher.on('change', onChange).on('add', onChange);
    this.open.set(manifest.id, entry);
    return new Promise((resolve) =>
      watcher.once('ready', () => {
        resolve();
      }),
    );
  }

  /** Encrypts the copy back over the source when it changed; crash safe, new file key. */
  private async saveIfChanged(manifest: Manifest, thorough = false): Promise<boolean> {
    const editPath = this.session(manifest).editPath;
    let stats;
    try {
      stats = statSync(editPath);
    } catch {
      return false; // the app deleted its copy: nothing to save
    }
    const identities = await this.deps.keys.identities();
    const unchanged =
      stats.size === manifest.syncedSize &&
      stats.mtimeMs === manifest.syncedMtimeMs &&
      existsSync(manifest.source);
    if (unchanged && !thorough) return false;
    if (existsSync(manifest.source) && sameContent(this.deps.sodium, manifest.source, editPath, identities))
      return false;
    const recipients = await this.deps.keys.recipients();
    // A `.coffer.tmp-` name: if we crash before the rename, the next protect run removes it as garbage.
    const staged = `${manifest.source}.tmp-${randomBytes(6).toString('hex')}`;
    this.safe.encryptInPlace(editPath, { recipients, identities, keep: true, output: staged });
    renameSync(staged, manifest.source);
    fsyncDir(dirname(manifest.source));
    manifest.syncedSize = stats.size;
    manifest.syncedMtimeMs = stats.mtimeMs;
    this.writeManifest(manifest);
    return true;
  }

  private wipe(id: string): void {
    const folder = join(this.deps.dir, id);
    if (existsSync(folder)) {
      for (const name of readdirSync(folder)) {
        const path = join(folder, name);
        try {
          // Never through a link: the editing app could have left one pointing anywhere.
          const fd = openSync(path, constants.O_RDWR | NOFOLLOW);
          if (!fstatSync(fd).isFile()) {
            closeSync(fd);
            continue;
          }
          const size = fstatSync(fd).size;
          const zeros = Buffer.alloc(Math.min(size, 1 << 20));
          for (let done = 0; done < size; done += zeros.length)
            writeSync(fd, zeros, 0, Math.min(zeros.length, size - done), done);
          fsyncSync(fd);
          closeSync(fd);
        } catch {
          // not a regular file, or gone: removed below
        }
      }
      rmSync(folder, { recursive: true, force: true });
    }
    rmSync(join(this.deps.dir, `${id}.json`), { force: true });
    fsyncDir(this.deps.dir);
  }

  private writeManifest(m: Manifest): void {
    writeFileAtomic(join(this.deps.dir, `${m.id}.json`), JSON.stringify(m));
  }

  private readManifest(id: string): Manifest | null {
    try {
      const value = JSON.parse(readFileSync(join(this.deps.dir, `${id}.json`), 'utf8')) as Partial<Manifest>;
      if (
        typeof value.source !== 'string' ||
        typeof value.name !== 'string' ||
        basename(value.name) !== value.name
      )
        return null;
      return {
        id,
        source: value.source,
        name: value.name,
        openedAt: Number(value.openedAt),
        syncedSize: Number(value.syncedSize),
        syncedMtimeMs: Number(value.syncedMtimeMs),
      };
    } catch {
      return null;
    }
  }
}
