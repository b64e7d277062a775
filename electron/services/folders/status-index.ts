/**
 * The status cache's memory (issue 10 item 9): per protected folder, every directory's classification
 * (status-dir.ts), kept current by a file system watch on each directory, and answered from memory.
 * Runs in the status cache's worker (status-cache-worker.ts), so neither its scans nor its watchers hold
 * the app's main thread; plain Node, so tests can also run it in-thread.
 *
 * Honesty before speed (DESIGN.md "Counts are honest"): a file is counted protected only as seen by a
 * look at its directory made after the directory's last change. So:
 * - every watched directory that reports an event is looked at again before the next answer;
 * - before each answer every directory's identity and times are compared with those of its last look
 *   (one lstat each): an added, removed or renamed entry changes them even when its event was lost
 *   (inotify drops events on queue overflow, and Node does not say so);
 * - and so are the files whose count hangs on what is in them or on time (`.coffer` files, editors' lock
 *   files) and the folders left out for what they hold (a keyring folder): their ctime moves on every
 *   write, link and `utimes`, even one made through a hard link outside the folder, which no watched
 *   directory hears of (one lstat each; ~0.35 s per answer at 100,000 files on a loaded 2-core machine);
 * - a directory read from another inode than its watch follows (moved away, another put in its place) is
 *   read again as a new subtree, watched first;
 * - a directory not looked at again within the answer's time budget is reported in the clear as CHECKING;
 * - a watcher error, a replaced or vanished folder root, or a change of the folder's rules drops the whole
 *   tree: the next answer waits for a full scan;
 * - the tree is scanned again in full once it is older than `maxAgeMs` (a backstop for what no time
 *   shows: a change within the same coarse timestamp tick as the last look, whose event was lost),
 *   keeping the current tree meanwhile.
 */
import { lstatSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLEAR_LIST_LIMIT, folderState, type ProtectionState } from './clear-state.js';
import { guardRailsFor, type TreeGuard } from './guard-rails.js';
import { LitterFilter } from './litter.js';
import { isWithin } from './registry.js';
import { classifyDirectory, unchangedSince, type DirListing } from './status-dir.js';
import type { FileIssue } from './types.js';

/** What decides a folder's status besides its files: its rules. Plain data (crosses to the worker). */
export interface IndexedFolderConfig {
  readonly root: string;
  /** The app's data folder (guard-rails.ts: what must never be protected). */
  readonly appHome: string;
  /** IT's exclusion globs (policy `exclude`). */
  readonly policyExclusions: readonly string[];
  /** The folder's own exclusions (FolderEntry.exclude). */
  readonly folderExclusions: readonly string[];
  /** Litter patterns (registry.ignorePatterns()). */
  readonly ignore: readonly string[];
}

/** A folder's status from the cache: the counts of FolderStatus, with how fresh they are. */
export interface CachedSummary {
  readonly root: string;
  readonly protectedFiles: number;
  readonly protectedBytes: number;
  readonly plaintextFiles: number;
  readonly plaintextBytes: number;
  readonly leftovers: number;
  readonly skipped: FileIssue[];
  readonly protection: ProtectionState;
  /** When the tree answering was scanned in full (ms since the epoch). */
  readonly scannedAt: number;
  /** Directories changed but not looked at again yet (each reported in the clear as CHECKING). */
  readonly checking: number;
}

export interface IndexOptions {
  /** A tree older than this is scanned again in full (default 10 minutes). */
  readonly maxAgeMs?: number;
  /** Watch directories (default true; false only for a one-off scan). */
  readonly watch?: boolean;
  /** Told of every full scan started and why (logs, tests). */
  readonly onRescan?: (root: string, reason: string) => void;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The work between two points where a scan gives its thread back (queries are answered in between). */
const SLICE_MS = 8;

/** The root's inode; 0 when it cannot be seen, -1 when it is no longer a folder (a link, a file). */
function rootIdentity(root: string): number {
  try {
    const stats = lstatSync(root);
    return stats.isDirectory() ? stats.ino : -1;
  } catch {
    return 0;
  }
}

const yieldThread = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** How a file that was not a Coffer temp when the run started looks in status (folder-service.ts). */
export function tempIssue(path: string): FileIssue {
  return {
    path,
    code: 'TEMP_LEFTOVER',
    message: `${path}: a temporary file of an interrupted run, or a file named like one; it may be readable`,
    hint: 'Run `coffer protect` on its folder: it removes what Coffer made and lists what it did not.',
  };
}

function checkingIssue(dir: string): FileIssue {
  return {
    path: dir,
    code: 'CHECKING',
    message: `${dir}: changed just now; its files are being checked`,
    hint: 'Look again in a moment.',
  };
}

/** Whether every stamped file of `listing` (status-dir.ts FileStamp) is as it was when `dir` was read. */
function filesUnchanged(dir: string, listing: DirListing, now: number): boolean {
  for (const [name, entry] of listing.entries) {
    if (entry.kind !== 'protected' && entry.kind !== 'ignored' && entry.kind !== 'skipped') continue;
    // Litter by name alone, a skip by name or rule: nothing in it or its age matters.
    if (entry.stamp === undefined) continue;
    if (entry.stamp === null || !unchangedSince(join(dir, name), entry.stamp, now)) return false;
  }
  return true;
}

/** One scan of a folder's tree, with its watchers: replaced as a whole when it cannot be trusted. */
class Tree {
  readonly dirs = new Map<string, DirListing>();
  /** Each directory's watcher, with the inode it watches (inotify follows an inode, not a name). */
  private readonly watchers = new Map<string, { readonly watcher: FSWatcher; readonly ino: number }>();
  readonly dirty = new Set<string>();
  /** Set when something happened that this tree cannot account for: it must not answer any more. */
  broken: string | null = null;
  /** A directory could not be watched at all (ENOSPC: out of inotify watches): a new scan would not help. */
  unwatchable = false;
  rootIno = 0;
  readonly scannedAt = Date.now();
  private closed = false;

  constructor(
    readonly root: string,
    private readonly litter: LitterFilter,
    private readonly guard: TreeGuard,
    private readonly watching: boolean,
  ) {}

  /** Scans the whole tree, watching each directory before it is read (so no change falls in between). */
  async build(): Promise<void> {
    // A folder that cannot be read is answered as walk.ts answers it (its error, in the clear).
    this.rootIno = rootIdentity(this.root);
    await this.addSubtree(this.root);
  }

  private async addSubtree(top: string): Promise<void> {
    const pending = [top];
    let slice = performance.now();
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      if (this.closed) return;
      this.watchDir(dir);
      const listing = classifyDirectory(dir, this.litter, this.guard);
      this.dirs.set(dir, listing);
      // Replaced between the watch and the listing: the watch is on the old inode, so look again.
      if (!this.watches(dir, listing)) this.dirty.add(dir);
      pending.push(...listing.subdirs);
      if (performance.now() - slice >= SLICE_MS) {
        await yieldThread();
        slice = performance.now();
      }
    }
  }

  private watchDir(dir: string): void {
    if (!this.watching || this.watchers.has(dir)) return;
    try {
      // The inode the watch will follow, taken first: a swap after it shows as a different listing inode.
      const { ino } = lstatSync(dir);
      const watcher = watch(dir, { persistent: false }, () => {
        this.dirty.add(dir);
      });
      watcher.on('error', (error) => {
        this.watchFailed(dir, error);
      });
      this.watchers.set(dir, { watcher, ino });
    } catch (error) {
      // Out of inotify watches (ENOSPC), or gone meanwhile: unwatched means untrusted.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') this.dirty.add(dirname(dir));
      else {
        this.unwatchable = true;
        this.broken = `the folder cannot be watched: ${(error as Error).message}`;
      }
    }
  }

  /** @internal Tests: `dir`'s real watcher emits `error`, as it does when its watch is lost. */
  emitWatcherError(dir: string, error: Error): boolean {
    const watched = this.watchers.get(dir);
    watched?.watcher.emit('error', error);
    return watched !== undefined;
  }

  /** A watcher's error: the tree no longer knows what changed. */
  private watchFailed(dir: string, error: unknown): void {
    this.broken = `the watcher of ${dir} failed: ${error instanceof Error ? error.message : String(error)}`;
  }

  private unwatch(dir: string): void {
    this.watchers.get(dir)?.watcher.close();
    this.watchers.delete(dir);
  }

  /**
   * Whether `dir`'s watcher follows the directory `listing` was read from. A directory moved away and
   * another put in its place keeps the old watch: the new one's changes (a `.coffer` written over in place,
   * which moves no directory time) would never be seen.
   */
  private watches(dir: string, listing: DirListing): boolean {
    if (!this.watching || listing.error) return true;
    return this.watchers.get(dir)?.ino === listing.ino;
  }

  /** A directory and everything under it left the tree. */
  private removeSubtree(top: string): void {
    for (const dir of [...this.dirs.keys()])
      if (isWithin(dir, top)) {
        this.dirs.delete(dir);
        this.dirty.delete(dir);
        this.unwatch(dir);
      }
  }

  /**
   * One lstat per directory, and one per file whose classification hangs on what is in it or on time
   * (`.coffer` files: their magic; editors' lock files: size and age): a directory whose identity or times
   * moved since its last look, or holding such a file that changed, is dirty. Directory watches miss
   * writes made through another name (a hard link outside the folder) and no directory time shows them.
   */
  sweep(): void {
    const root = rootIdentity(this.root);
    if (root !== this.rootIno)
      this.broken = root === 0 ? 'the folder is gone' : 'the folder was replaced, moved or appeared';
    if (this.broken) return;
    for (const [dir, seen] of this.dirs) {
      if (this.dirty.has(dir)) continue;
      try {
        const now = lstatSync(dir);
        if (now.ino !== seen.ino || now.mtimeMs !== seen.mtimeMs || now.ctimeMs !== seen.ctimeMs)
          this.dirty.add(dir);
        else if (!filesUnchanged(dir, seen, Date.now())) this.dirty.add(dir);
      } catch {
        this.dirty.add(dir);
      }
    }
  }

  /** Looks again at dirty directories until `budgetMs` is spent; what is left stays dirty. */
  async refresh(budgetMs: number): Promise<void> {
    const end = performance.now() + budgetMs;
    let slice = performance.now();
    while (this.dirty.size > 0 && !this.broken && !this.closed && performance.now() < end) {
      const [dir] = this.dirty;
      if (dir === undefined) break;
      this.dirty.delete(dir);
      if (!this.dirs.has(dir)) continue; // removed with its parent meanwhile
      const before = this.dirs.get(dir);
      const listing = classifyDirectory(dir, this.litter, this.guard);
      if (listing.error?.code === 'NOT_FOUND' && dir !== this.root) {
        // Gone: its parent's next look drops it (and says what replaced it).
        this.removeSubtree(dir);
        this.dirty.add(dirname(dir));
        continue;
      }
      if (!this.watches(dir, listing)) {
        if (dir === this.root) {
          this.broken = 'the folder was replaced, moved or appeared';
          break;
        }
        // Replaced by another directory of the same name: its subfolders are other ones too (whatever
        // their names), so it is read again as a new subtree, each directory watched before it is read.
        this.removeSubtree(dir);
        await this.addSubtree(dir);
        continue;
      }
      this.dirs.set(dir, listing);
      const was = new Set(before?.subdirs ?? []);
      const now = new Set(listing.subdirs);
      for (const sub of was) if (!now.has(sub)) this.removeSubtree(sub);
      for (const sub of now) if (!was.has(sub) || !this.dirs.has(sub)) await this.addSubtree(sub);
      if (performance.now() - slice >= SLICE_MS) {
        await yieldThread();
        slice = performance.now();
      }
    }
  }

  /** The paths a run reports having touched: their directories are looked at before the next answer. */
  touch(path: string): void {
    const dir = this.dirs.has(path) ? path : dirname(path);
    if (this.dirs.has(dir)) this.dirty.add(dir);
  }

  summarize(): CachedSummary {
    let protectedFiles = 0;
    let protectedBytes = 0;
    let plaintextBytes = 0;
    let ignored = 0;
    const plaintext: { path: string }[] = [];
    const skipped: FileIssue[] = [];
    const temps: FileIssue[] = [];
    for (const [dir, listing] of this.dirs) {
      if (listing.error) skipped.push(listing.error);
      for (const [name, entry] of listing.entries) {
        switch (entry.kind) {
          case 'protected':
            protectedFiles++;
            protectedBytes += entry.size;
            break;
          case 'plaintext':
            plaintext.push({ path: join(dir, name) });
            plaintextBytes += entry.size;
            break;
          case 'temp':
            temps.push(tempIssue(join(dir, name)));
            break;
          case 'ignored':
            ignored++;
            break;
          case 'skipped':
            skipped.push(entry.issue);
            break;
        }
      }
    }
    const checking = [...this.dirty].filter((d) => this.dirs.has(d)).map(checkingIssue);
    return {
      root: this.root,
      protectedFiles,
      protectedBytes,
      plaintextFiles: plaintext.length,
      plaintextBytes,
      leftovers: temps.length,
      skipped,
      // Directories not looked at since they changed come first: they may hide anything.
      protection: folderState({
        protectedFiles,
        plaintext,
        skipped: [...checking, ...skipped, ...temps],
        excluded: ignored,
      }),
      scannedAt: this.scannedAt,
      checking: checking.length,
    };
  }

  close(): void {
    this.closed = true;
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}

/** One protected folder's cache: the tree that answers, and the next one while it is being scanned. */
export class FolderIndex {
  private current: Tree | null = null;
  private next: Promise<Tree> | null = null;
  private closed = false;
  /** Answers one at a time: a half-done look at a directory must never be summarized. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly config: IndexedFolderConfig,
    private readonly options: IndexOptions = {},
  ) {}

  /** Forgets the tree: the next answer waits for a full scan (`reason` is told to onRescan). */
  invalidate(reason: string): void {
    if (this.current) this.current.broken ??= reason;
  }

  touch(paths: readonly string[]): void {
    for (const path of paths) if (isWithin(path, this.config.root)) this.current?.touch(path);
  }

  /** The folder's status, from memory, after looking again at what changed (within `budgetMs`). */
  status(budgetMs: number): Promise<CachedSummary> {
    const answer = this.queue.then(() => this.answer(budgetMs));
    this.queue = answer.catch(() => undefined);
    return answer;
  }

  private async answer(budgetMs: number): Promise<CachedSummary> {
    // A folder replaced again and again while scanned: said so, rather than answered from doubt.
    for (let attempt = 0; attempt < 5; attempt++) {
      if (this.closed) throw new Error('status cache closed');
      const tree = this.current;
      if (!tree || tree.broken) {
        const reason = tree?.broken ?? 'first status';
        this.current = null;
        tree?.close();
        const fresh = await this.scan(reason);
        if (fresh.broken && fresh.unwatchable) {
          // Out of watches (or not allowed): no tree could be kept current; the caller walks instead.
          fresh.close();
          throw new Error(`${this.config.root}: ${fresh.broken}`);
        }
        this.current = fresh;
        continue;
      }
      if (Date.now() - tree.scannedAt > (this.options.maxAgeMs ?? 10 * 60_000)) {
        // Old, not wrong: it keeps answering while the next scan runs, which then replaces it.
        void this.scan('older than its bound').then((fresh) => {
          if (this.current === tree && !this.closed) {
            this.current = fresh;
            tree.close();
          }
        });
      }
      tree.sweep();
      await tree.refresh(budgetMs);
      if (tree.broken) continue;
      return tree.summarize();
    }
    throw new Error(`${this.config.root} keeps changing under the status scan`);
  }

  private scan(reason: string): Promise<Tree> {
    if (this.next) return this.next;
    this.options.onRescan?.(this.config.root, reason);
    const { config } = this;
    const guard = guardRailsFor(config.appHome, this.options.env).forTree(config.root, {
      policy: config.policyExclusions,
      folder: config.folderExclusions,
    });
    const tree = new Tree(config.root, new LitterFilter(config.ignore), guard, this.options.watch ?? true);
    const building = tree.build().then(() => tree);
    this.next = building;
    void building.finally(() => {
      if (this.next === building) this.next = null;
    });
    return building;
  }

  /** @internal Tests: the current tree's watcher of `dir` fails as a real one would report it. */
  failWatcher(dir: string, error: Error): boolean {
    return this.current?.emitWatcherError(dir, error) ?? false;
  }

  close(): void {
    this.closed = true;
    this.current?.close();
    this.current = null;
    void this.next?.then((t) => {
      t.close();
    });
  }
}

/** Every protected folder's FolderIndex, by root; folders no longer protected are dropped. */
export class StatusIndex {
  private readonly folders = new Map<string, FolderIndex>();

  constructor(private readonly options: IndexOptions = {}) {}

  /**
   * The status of each folder in `configs`. With `all`, these are all the protected folders: the others
   * are forgotten. A folder whose rules changed is scanned again.
   */
  async status(
    configs: readonly IndexedFolderConfig[],
    budgetMs: number,
    all: boolean,
  ): Promise<CachedSummary[]> {
    if (all) {
      const keep = new Set(configs.map((c) => c.root));
      for (const [root, index] of this.folders)
        if (!keep.has(root)) {
          index.close();
          this.folders.delete(root);
        }
    }
    const answers: CachedSummary[] = [];
    for (const config of configs) answers.push(await this.indexOf(config).status(budgetMs));
    return answers;
  }

  touch(paths: readonly string[]): void {
    for (const index of this.folders.values()) index.touch(paths);
  }

  invalidate(reason: string, root?: string): void {
    for (const [r, index] of this.folders) if (root === undefined || r === root) index.invalidate(reason);
  }

  /** @internal Tests. */
  folder(root: string): FolderIndex | undefined {
    return this.folders.get(root);
  }

  close(): void {
    for (const index of this.folders.values()) index.close();
    this.folders.clear();
  }

  private indexOf(config: IndexedFolderConfig): FolderIndex {
    const found = this.folders.get(config.root);
    if (found && sameConfig(found.config, config)) return found;
    found?.close();
    const index = new FolderIndex(config, this.options);
    this.folders.set(config.root, index);
    if (found) this.options.onRescan?.(config.root, 'its rules changed');
    return index;
  }
}

function sameConfig(a: IndexedFolderConfig, b: IndexedFolderConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export { CLEAR_LIST_LIMIT };
