import { fileIdentities, type ClearNotifier, type FileIdentities } from './clear-notifier.js';
import type { FoldersPort, KeysPort, PolicyPort, StatePort } from './ports.js';
import { trayView, type TrayView } from './tray-state.js';

/**
 * One tray refresh at a time. Change events come in bursts (a run's end, a policy change, the minute timer):
 * overlapping refreshes could hand the clear-files notifier an older folder list after a newer one, and so
 * restart or fake an episode. A call during a refresh asks for one more after it, however many calls come.
 * And at most one refresh per `minGapMs`: auto-protect announces every batch, so a big copy is a change every
 * few milliseconds, and each refresh makes the status cache sweep every directory (180 refreshes a second
 * measured in the test without it). The last call is always answered, at most `minGapMs` late.
 */
export function coalesce(
  task: () => Promise<void>,
  onError: (error: unknown) => void,
  minGapMs = 0,
): () => Promise<void> {
  let running: Promise<void> | null = null;
  /** Calls so far; a refresh that starts answers every call made before it started. */
  let requests = 0;
  /** When the last refresh ended (performance.now()), for the gap. */
  let lastEnd = Number.NEGATIVE_INFINITY;
  const loop = async (): Promise<void> => {
    let answered = -1;
    while (answered !== requests) {
      const wait = lastEnd + minGapMs - performance.now();
      if (minGapMs > 0 && wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      answered = requests;
      try {
        await task();
      } catch (error) {
        onError(error);
      }
      lastEnd = performance.now();
    }
    running = null;
  };
  return () => {
    requests++;
    running ??= loop();
    return running;
  };
}

/** What the tray reads: the app's ports (main.ts passes BuiltApp.ports). */
export interface TraySources {
  folders: Pick<FoldersPort, 'list' | 'runs'>;
  keys: Pick<KeysPort, 'keychainStatus'>;
  policy: Pick<PolicyPort, 'view'>;
  state: Pick<StatePort, 'review'>;
}

export interface TrayStatusDeps {
  sources: TraySources;
  notifier: Pick<ClearNotifier, 'observe' | 'stuck'>;
  log(line: string): void;
  /** How long the folder list and the keychain may take before the tray says it cannot tell (default 30 s). */
  timeoutMs?: number;
}

export const TRAY_READ_TIMEOUT_MS = 30_000;

const NO_ANSWER = Symbol('no answer');

/** `promise`'s value, or NO_ANSWER once `ms` passed (the promise goes on; its late answer is dropped). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof NO_ANSWER> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof NO_ANSWER>((resolve) => {
    timer = setTimeout(() => {
      resolve(NO_ANSWER);
    }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One look at everything the tray's state depends on, and the view it gives (main.ts draws it). Fails
 * closed: whatever cannot be read in time makes the tray say so, never keep an older "All files protected".
 * - The folder list: an error or no answer within `timeoutMs` (a network share that stopped answering blocks
 *   the status cache's lstat calls, and so every answer) is "Status unavailable".
 * - The keychain: the Overview's keychainStatus; a device key that cannot be read is "needs you", as there.
 * - The state files, the policy, the runs: an exception is "Status unavailable", not "not tampered".
 */
export class TrayStatus {
  constructor(private readonly deps: TrayStatusDeps) {}

  async read(): Promise<TrayView> {
    const { sources, notifier } = this.deps;
    const [folders, keychainProblem] = await Promise.all([this.folders(), this.keychainProblem()]);
    notifier.observe(folders, await this.identities(folders));
    try {
      return trayView({
        folders,
        policy: sources.policy.view(),
        stateTampered: sources.state.review().tampered > 0,
        keychainProblem,
        runs: sources.folders.runs(),
        stuck: notifier.stuck(),
      });
    } catch (e) {
      this.deps.log(`tray status: ${String(e)}`);
      return trayView({ folders: null, keychainProblem });
    }
  }

  private get timeoutMs(): number {
    return this.deps.timeoutMs ?? TRAY_READ_TIMEOUT_MS;
  }

  private async folders(): Promise<Awaited<ReturnType<FoldersPort['list']>> | null> {
    try {
      // Without notRecoverableFiles: the tray does not show it, and counting it reads every header.
      const list = await within(this.deps.sources.folders.list({ notRecoverable: false }), this.timeoutMs);
      if (list !== NO_ANSWER) return list;
      this.deps.log(`tray status: the folder list did not answer within ${this.timeoutMs} ms`);
    } catch (e) {
      this.deps.log(`tray status: ${String(e)}`);
    }
    return null;
  }

  /**
   * The listed files' identities on disk, so a stuck file renamed keeps its clock (clear-notifier.ts). A
   * folder that stopped answering gives none in time: its files are then known by path, as before.
   */
  private async identities(folders: Parameters<ClearNotifier['observe']>[0]): Promise<FileIdentities> {
    // One read at a time: lstat calls on a share that stopped answering hold libuv's pool threads, and a
    // new read per refresh would queue hundreds more behind them (every async file call of main with them).
    if (this.reading) return new Map();
    const reading = fileIdentities(folders).finally(() => {
      this.reading = null;
    });
    this.reading = reading;
    const ids = await within(reading, this.timeoutMs);
    return ids === NO_ANSWER ? new Map() : ids;
  }

  /** The identities read under way, if any. */
  private reading: Promise<FileIdentities> | null = null;

  private async keychainProblem(): Promise<string | null> {
    try {
      const status = await within(this.deps.sources.keys.keychainStatus(), this.timeoutMs);
      if (status === NO_ANSWER) return 'The keychain did not answer';
      return status.ok ? null : (status.problem ?? 'The device key cannot be read');
    } catch (e) {
      this.deps.log(`tray keychain: ${String(e)}`);
      return 'The keychain cannot be read';
    }
  }
}
