/**
 * Auto-protect in the app: one FolderWatcher over the folders that are protected (registered, protected at
 * least once, last run not cancelled by the user), started again whenever that set changes. A folder only
 * added, or whose protect run the user cancelled, is not touched behind the user's back; one being
 * unprotected is not watched (FolderService also refuses to protect inside it).
 */
import type { FolderEntry } from '../services/folders/registry.js';
import type { FileOutcome } from '../services/folders/types.js';
import { FolderWatcher, type ProtectSink, type WatcherOptions } from '../services/folders/watcher.js';
import type { WatchRules } from '../services/folders/watch-source.js';

export function watchedFolders(
  entries: readonly FolderEntry[],
  mandatory: (folder: string) => boolean = () => false,
): string[] {
  return entries
    .filter(
      (e) =>
        e.state === 'protected' &&
        // Mandatory folders always (issue 10 item 5): a cancelled run must not leave them unwatched.
        (mandatory(e.path) || (e.lastRun !== null && e.lastRun.outcome !== 'cancelled')),
    )
    .map((e) => e.path)
    .sort();
}

export interface AutoProtectDeps {
  list(): FolderEntry[];
  sink: ProtectSink;
  ignore: () => readonly string[];
  /** True for a folder that is, or holds, a mandatory folder of the policy. */
  mandatory?: (folder: string) => boolean;
  /** Paths the guard rails leave alone (FolderService.watchFilter), read at each watcher start. */
  skip?: () => (path: string) => boolean;
  /** The same rules as data, for the watcher's worker (watch-source.ts), read at each watcher start. */
  rules?: () => WatchRules;
  stableMs?: number;
  onOutcomes(outcomes: readonly FileOutcome[]): void;
  onError(error: unknown): void;
}

export class AutoProtect {
  private watcher: FolderWatcher | null = null;
  private key = '';
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly deps: AutoProtectDeps) {}

  /** The folders watched now. */
  folders(): string[] {
    return this.key === '' ? [] : this.key.split('\n');
  }

  /** Re-reads the registry and restarts the watcher when the set of protected folders changed. */
  refresh(): Promise<void> {
    this.queue = this.queue
      .then(() => this.apply())
      .catch((error: unknown) => {
        this.deps.onError(error);
      });
    return this.queue;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.watcher?.close();
    this.watcher = null;
  }

  private async apply(): Promise<void> {
    if (this.closed) return;
    const folders = watchedFolders(this.deps.list(), this.deps.mandatory);
    const key = folders.join('\n');
    if (key === this.key) return;
    await this.watcher?.close();
    this.watcher = null;
    this.key = key;
    if (folders.length === 0) return;
    const options: WatcherOptions = {
      // Plaintext already there (written while Coffer was closed, or during a restart) is protected too.
      initial: true,
      ignore: this.deps.ignore(),
      ...(this.deps.skip ? { skip: this.deps.skip() } : {}),
      ...(this.deps.rules ? { rules: this.deps.rules() } : {}),
      onOutcomes: (outcomes) => {
        this.deps.onOutcomes(outcomes);
      },
      onError: (error) => {
        this.deps.onError(error);
      },
      ...(this.deps.stableMs !== undefined ? { stableMs: this.deps.stableMs } : {}),
    };
    this.watcher = new FolderWatcher(folders, this.deps.sink, options);
    await this.watcher.ready();
  }
}
