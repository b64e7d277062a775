/**
 * "Does another process hold these files open?" for the watcher, off its thread. On Linux the answer is a
 * walk of every process's /proc/<pid>/fd (safe-file/busy.ts), 60–150 ms on a loaded machine with many
 * processes: on the app's main thread that froze the window at each watcher batch. The walk, and the
 * lstat/realpath of each path it needs, run in a worker (busy-check-worker.ts) that keeps its probe, so a
 * scan is reused across batches for as long as the probe allows.
 */
import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { WorkerClient } from '../worker-client.js';
import type { OpenFileProbe } from '../safe-file.js';
import type { FromBusyWorker, ToBusyWorker } from './busy-check-worker.js';
import { isOpenInEditor } from './litter.js';

/** Of the paths asked about: those an editor has open (a lock file beside), and those another process holds. */
export interface Busy {
  readonly editing: Set<string>;
  readonly held: Set<string>;
}

export interface BusyCheck {
  /** Which of `paths` are busy now; an unreadable or vanished one counts as not. */
  check(paths: readonly string[]): Promise<Busy>;
  close(): Promise<void>;
}

/**
 * Asks on the calling thread (a probe given by a caller, e.g. a test's, lives here): one listing per
 * directory for editors' lock files (the lock file's removal is no event for us, its save is), then one
 * probe for the rest.
 */
export function busyNow(probe: OpenFileProbe, paths: readonly string[]): Busy {
  const editing = new Set<string>();
  const listings = new Map<string, ReadonlySet<string> | null>();
  for (const path of paths) {
    const dir = dirname(path);
    let names = listings.get(dir);
    if (names === undefined) {
      try {
        names = new Set(readdirSync(dir));
      } catch {
        names = null;
      }
      listings.set(dir, names);
    }
    if (names && isOpenInEditor(basename(path), names)) editing.add(path);
  }
  const queries: { path: string; dev: number; ino: number; real: string }[] = [];
  for (const path of paths) {
    if (editing.has(path)) continue;
    try {
      const stats = lstatSync(path);
      queries.push({ path, dev: stats.dev, ino: stats.ino, real: realpathSync.native(path) });
    } catch {
      // gone: the sink finds nothing to do
    }
  }
  const held = probe.holders(queries);
  return { editing, held: new Set([...held.keys()].flatMap((i) => queries[i]?.path ?? [])) };
}

export class InThreadBusyCheck implements BusyCheck {
  constructor(private readonly probe: OpenFileProbe) {}

  check(paths: readonly string[]): Promise<Busy> {
    return Promise.resolve(busyNow(this.probe, paths));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The platform's probe (safe-file/busy.ts defaultProbe) in a worker thread, started at the first question. */
export class WorkerBusyCheck implements BusyCheck {
  private readonly worker: WorkerClient<ToBusyWorker, FromBusyWorker, Busy>;

  /** Starts the worker now, so that the first batch does not wait for it (it keeps no process alive). */
  constructor(warm = true) {
    this.worker = new WorkerClient(
      {
        callerUrl: import.meta.url,
        entry: 'busy-check-worker',
        client: 'busy check',
        workerName: 'busy check worker',
        answer: (message) =>
          message.type === 'busy'
            ? { editing: new Set(message.editing), held: new Set(message.held) }
            : new Error(`busy check: ${message.message}`),
      },
      warm,
    );
  }

  check(paths: readonly string[]): Promise<Busy> {
    if (paths.length === 0) return Promise.resolve({ editing: new Set(), held: new Set() });
    return this.worker.ask((id) => ({ type: 'check', id, paths: [...paths] }));
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
