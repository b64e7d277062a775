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
  chmodSync,
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
import { basename, dirname, extname, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { CofferError } from '../../../crypto/errors.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { NOFOLLOW, PROTECTED_SUFFIX, SafeFiles } from '../safe-file.js';
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
  /**
   * A program or script (by its type, or stored with exec bits): never handed to the OS to open, which
   * would run it; the app reveals it in the file manager instead.
   */
  readonly runnable: boolean;
}

/**
 * Types the OS runs rather than opens (Windows ShellExecute, macOS LaunchServices, Linux desktop launchers):
 * programs, installers, scripts, shortcuts and archives of code.
 */
const RUNNABLE_TYPES = new Set(
  (
    'exe com bat cmd msi msp msc scr pif cpl hta jar vbs vbe js jse wsf wsh ws ps1 psm1 psd1 ps1xml ' +
    'reg lnk url scf inf application appref-ms gadget sh bash zsh csh ksh fish command tool app pkg dmg ' +
    'run bin elf out appimage desktop py pyw pl rb php lua tcl apk deb rpm dll so dylib workflow action ' +
    'terminal osascript scpt applescript xpi crx msix msixbundle appx appxbundle ' +
    // Run or mounted by a double-click too: compiled help, scriptlets, shell scrap, Excel add-ins, disk
    // images (their contents escape the mark of the web), Java Web Start, macOS installers and links.
    'chm sct wsc shb shs xll iso img vhd vhdx jnlp mpkg fileloc webloc inetloc settingcontent-ms ' +
    'library-ms search-ms diagcab appinstaller mst ins isp job pyz pyc mjs cjs cab'
  ).split(' '),
);

/**
 * True when handing `name` to the OS would run it instead of opening it in an editor. Judged as Windows
 * reads the name, on every OS: it drops trailing dots and spaces (`invoice.exe ` is created as
 * `invoice.exe`), and `invoice.exe:x` / `invoice.exe::$DATA` name a stream of `invoice.exe`.
 */
export function isRunnableName(name: string): boolean {
  const seen = name.replace(/:.*$/su, '').replace(/[. ]+$/u, '');
  const ext = extname(seen).slice(1).toLowerCase();
  return ext !== '' && RUNNABLE_TYPES.has(ext);
}

/** The name the user sees in the folder: the `.coffer` file's own name without `.coffer`. */
export function visibleName(source: string): string {
  const name = basename(source);
  const plain = name.endsWith(PROTECTED_SUFFIX) ? name.slice(0, -PROTECTED_SUFFIX.length) : name;
  if (plain === '' || plain === '.' || plain === '..')
    throw new CofferError('NOT_PROTECTED', `${source}: not a protected file name`, 'Pick a .coffer file.');
  return plain;
}

interface Manifest {
  readonly id: string;
  readonly source: string;
  readonly name: string;
  readonly openedAt: number;
  /** Stored with exec bits, or a runnable type (see EditSession.runnable). */
  readonly runnable?: boolean;
  /** Size and mtime of the copy when it last matched the `.coffer` file. */
  syncedSize: number;
  syncedMtimeMs: number;
  /**
   * The process editing it (the app, or a `coffer open` in a terminal): while it lives, the session is
   * not a crash leftover, and no other process's `recover` touches it.
   */
  readonly owner?: SessionOwner;
}

/** A process, told apart from a later one that reuses its pid by its start time where the OS says it. */
export interface SessionOwner {
  readonly pid: number;
  readonly started: string | null;
}

/** This process's start time as Linux counts it (clock ticks since boot, /proc/PID/stat field 22); null elsewhere. */
function startedOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function currentOwner(): SessionOwner {
  return { pid: process.pid, started: startedOf(process.pid) };
}

/** True while the process that opened a session runs (a reused pid with another start time is not it). */
export function ownerAlive(owner: SessionOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return owner.started === null || startedOf(owner.pid) === owner.started;
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
    // The name the user sees (not the one stored inside, which whoever wrote the file chose: a
    // "Q3-report.pdf" holding `invoice.exe`), so the app the user expects opens it.
    const name = visibleName(source);
    const owner = currentOwner();
    // Owned before the folder exists: another process's `recover` never takes a session being opened for
    // a crash leftover (a folder without a manifest is one).
    this.writeManifest({ id, source, name, openedAt: Date.now(), syncedSize: -1, syncedMtimeMs: -1, owner });
    mkdirSync(folder, { mode: 0o700 });
    try {
      // A temp name first, renamed only once authentic.
      const { target, metadata } = this.safe.decryptTo(source, { identities, output: join(folder, name) });
      // The copy is a document: never executable, whatever mode was stored (only the owner reads it).
      chmodSync(target, 0o600);
      const stats = statSync(target);
      const manifest: Manifest = {
        id,
        source,
        name,
        runnable: isRunnableName(name) || (metadata.mode & 0o111) !== 0,
        openedAt: Date.now(),
        syncedSize: stats.size,
        syncedMtimeMs: stats.mtimeMs,
        owner,
      };
      this.writeManifest(manifest);
      await this.watch(manifest);
      return this.session(manifest);
    } catch (error) {
      rmSync(folder, { recursive: true, force: true });
      rmSync(join(this.deps.dir, `${id}.json`), { force: true });
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
   * At start (the app's, or a `coffer open`'s): copies left by a crash are encrypted back if they differ
   * from their `.coffer` file (or it is gone), then wiped. A session whose owner still runs (the app, a
   * `coffer open` in another terminal) is live, not left by a crash: left alone. Returns what was done.
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
        if (manifest?.owner && ownerAlive(manifest.owner)) continue;
        if (manifest && (await this.saveIfChanged(manifest, true))) saved.push(manifest.source);
      } catch (error) {
        // Never wipe a copy that could not be saved back: it may hold the only version of an edit.
        this.deps.onError?.(
          { id: name, source: '', editPath: join(this.deps.dir, name), openedAt: 0, runnable: false },
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
    return {
      id: m.id,
      source: m.source,
      editPath: join(this.deps.dir, m.id, m.name),
      openedAt: m.openedAt,
      runnable: m.runnable === true || isRunnableName(m.name),
    };
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
        runnable: value.runnable === true,
        openedAt: Number(value.openedAt),
        syncedSize: Number(value.syncedSize),
        syncedMtimeMs: Number(value.syncedMtimeMs),
        ...(isOwner(value.owner) ? { owner: value.owner } : {}),
      };
    } catch {
      return null;
    }
  }
}

function isOwner(value: unknown): value is SessionOwner {
  if (typeof value !== 'object' || value === null) return false;
  const { pid, started } = value as Record<string, unknown>;
  return Number.isInteger(pid) && Number(pid) > 0 && (started === null || typeof started === 'string');
}
