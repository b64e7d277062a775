/**
 * Auto-protect: new or changed plaintext in a protected folder is protected once it has been stable for a
 * moment. chokidar watches (without following symlinks); its awaitWriteFinish waits until a file's size
 * stops changing, a file another process still holds open waits until it is closed, and a short debounce
 * gathers what arrives together into one batch. Our own outputs
 * (`.coffer`), temp files, litter and files an editor holds open are ignored, so we never fight an app that
 * is still writing: if the file changes anyway while we read it, SafeFiles refuses (SOURCE_CHANGED) and the
 * next change event brings it back.
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isProtectedName, isTempName, type OpenFileProbe } from '../safe-file.js';
import { InThreadBusyCheck, WorkerBusyCheck, type BusyCheck } from './busy-check.js';
import { LitterFilter } from './litter.js';
import type { FileOutcome } from './types.js';
import { WorkerWatchSource, type WatchRules } from './watch-source.js';

export interface ProtectSink {
  protectFiles(paths: readonly string[]): Promise<FileOutcome[]>;
}

export interface WatcherOptions {
  /** Paths never watched nor protected: forbidden, hidden or excluded (FolderService.watchFilter). */
  readonly skip?: (path: string) => boolean;
  /**
   * The same rules as data, so that the watcher's worker does not even watch those paths (`skip` still
   * filters every event here).
   */
  readonly rules?: WatchRules;
  /** How long a file's size must stay the same before it is protected. */
  readonly stableMs?: number;
  /** How long to gather events into one batch. */
  readonly debounceMs?: number;
  readonly ignore?: readonly string[];
  readonly onOutcomes?: (outcomes: readonly FileOutcome[]) => void;
  readonly onError?: (error: unknown) => void;
  /** Protect the plaintext already there when the watch starts (default: a protect run does that). */
  readonly initial?: boolean;
  /**
   * Which files other processes hold open, asked on this thread. Default: this platform's probe
   * (safe-file/busy.ts) in a worker (busy-check.ts), since its /proc scan would hold this thread.
   */
  readonly probe?: OpenFileProbe;
}

export class FolderWatcher {
  private readonly watcher: WorkerWatchSource;
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private retry: NodeJS.Timeout | null = null;
  private readonly awaitingClose = new Set<string>();
  private readonly busy: BusyCheck;
  private closed = false;
  private flushing: Promise<void> = Promise.resolve();
  private readonly litter: LitterFilter;
  private readonly readyPromise: Promise<void>;

  constructor(
    folders: readonly string[],
    private readonly sink: ProtectSink,
    private readonly options: WatcherOptions = {},
  ) {
    this.litter = new LitterFilter(options.ignore);
    this.busy = options.probe ? new InThreadBusyCheck(options.probe) : new WorkerBusyCheck();
    // chokidar runs in a worker (watch-source.ts): its start lists every file of the folders.
    this.watcher = new WorkerWatchSource(
      {
        folders: [...folders],
        stableMs: options.stableMs ?? 1000,
        initial: options.initial === true,
        ...(options.rules ? { rules: options.rules } : {}),
      },
      {
        onEvent: (kind, path) => {
          if (this.options.skip?.(path)) return;
          if (kind !== 'unlink') this.queue(path);
          else if (this.litter.isLitter(basename(path))) this.lockRemoved(path);
        },
        onError: (error) => options.onError?.(error),
      },
    );
    this.readyPromise = this.watcher.ready;
  }

  /** Resolves once the initial scan is done and events are being delivered. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Stops watching; finishes the batch in progress. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    await this.watcher.close();
    await this.flushing;
    await this.busy.close();
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
    if (this.closed) return;
    if (this.litter.isLitter(basename(path))) return;
    this.pending.add(path);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(() => this.flush());
    }, this.options.debounceMs ?? 200);
  }

  private async flush(): Promise<void> {
    const batch = [...this.pending];
    this.pending.clear();
    // An editor's lock file beside it: it waits (the lock file's removal brings it back). Quiet is not
    // enough either: a program may pause between writes with the file open (downloads, exports,
    // databases). Those wait, and are looked at again after another quiet period.
    let editing: Set<string>;
    let open: Set<string>;
    try {
      ({ editing, held: open } = await this.busy.check(batch));
    } catch (error) {
      if (this.closed) return;
      // Unknown is not "closed": nothing is protected on a guess; all of them are looked at again.
      this.options.onError?.(error);
      editing = new Set();
      open = new Set(batch);
    }
    const quiet = batch.filter((p) => !editing.has(p));
    // One that changed again meanwhile is in the next batch, looked at again then.
    const paths = quiet.filter((p) => !open.has(p) && !this.pending.has(p));
    for (const p of open) this.awaitingClose.add(p);
    if (open.size > 0 && !this.retry && !this.closed) {
      this.retry = setTimeout(() => {
        this.retry = null;
        const again = [...this.awaitingClose];
        this.awaitingClose.clear();
        for (const p of again) this.queue(p);
      }, this.options.stableMs ?? 1000);
    }
    if (paths.length === 0) return;
    try {
      const outcomes = await this.sink.protectFiles(paths);
      this.options.onOutcomes?.(outcomes);
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}
