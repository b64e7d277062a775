/**
 * Auto-protect: new or changed plaintext in a protected folder is protected once it has been stable for a
 * moment. chokidar watches (without following symlinks); its awaitWriteFinish waits until a file's size
 * stops changing, and a short debounce gathers what arrives together into one batch. Our own outputs
 * (`.coffer`), temp files, litter and files an editor holds open are ignored, so we never fight an app that
 * is still writing: if the file changes anyway while we read it, SafeFiles refuses (SOURCE_CHANGED) and the
 * next change event brings it back.
 */
import { readdirSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { isProtectedName, isTempName } from '../safe-file.js';
import { isOpenInEditor, LitterFilter } from './litter.js';
import type { FileOutcome } from './types.js';

export interface ProtectSink {
  protectFiles(paths: readonly string[]): Promise<FileOutcome[]>;
}

export interface WatcherOptions {
  /** How long a file's size must stay the same before it is protected. */
  readonly stableMs?: number;
  /** How long to gather events into one batch. */
  readonly debounceMs?: number;
  readonly ignore?: readonly string[];
  readonly onOutcomes?: (outcomes: readonly FileOutcome[]) => void;
  readonly onError?: (error: unknown) => void;
  /** Protect the plaintext already there when the watch starts (default: a protect run does that). */
  readonly initial?: boolean;
}

export class FolderWatcher {
  private readonly watcher: FSWatcher;
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly litter: LitterFilter;
  private readyPromise: Promise<void>;

  constructor(
    folders: readonly string[],
    private readonly sink: ProtectSink,
    private readonly options: WatcherOptions = {},
  ) {
    this.litter = new LitterFilter(options.ignore);
    const stable = options.stableMs ?? 1000;
    this.watcher = watch([...folders], {
      followSymlinks: false,
      ignoreInitial: options.initial !== true,
      awaitWriteFinish: { stabilityThreshold: stable, pollInterval: Math.max(20, Math.min(100, stable / 4)) },
      ignored: (path: string, stats?: Stats) => this.ignored(path, stats),
    });
    this.readyPromise = new Promise((resolve) =>
      this.watcher.once('ready', () => {
        resolve();
      }),
    );
    this.watcher.on('add', (path) => {
      this.queue(path);
    });
    this.watcher.on('change', (path) => {
      this.queue(path);
    });
    this.watcher.on('unlink', (path) => {
      if (this.litter.isLitter(basename(path))) this.lockRemoved(path);
    });
    this.watcher.on('error', (error) => options.onError?.(error));
  }

  /** Resolves once the initial scan is done and events are being delivered. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Stops watching; finishes the batch in progress. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.watcher.close();
    await this.flushing;
  }

  private ignored(path: string, stats?: Stats): boolean {
    const name = basename(path);
    if (stats && !stats.isFile()) return !stats.isDirectory();
    return isTempName(name) || isProtectedName(name);
  }

  /** An editor closed a document: its lock file went away; what it guarded can be protected now. */
  private lockRemoved(path: string): void {
    const dir = dirname(path);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!isTempName(name) && !isProtectedName(name) && !this.litter.isLitter(name))
        this.queue(join(dir, name));
    }
  }

  private queue(path: string): void {
    if (this.litter.isLitter(basename(path))) return;
    this.pending.add(path);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(() => this.flush());
    }, this.options.debounceMs ?? 200);
  }

  private async flush(): Promise<void> {
    const paths = [...this.pending].filter((p) => !this.inUse(p));
    this.pending.clear();
    if (paths.length === 0) return;
    try {
      const outcomes = await this.sink.protectFiles(paths);
      this.options.onOutcomes?.(outcomes);
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  /** An editor's lock file beside it: wait; the lock file's removal is no event for us, its save is. */
  private inUse(path: string): boolean {
    try {
      return isOpenInEditor(basename(path), new Set(readdirSync(dirname(path))));
    } catch {
      return false;
    }
  }
}
