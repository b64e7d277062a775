/**
 * Where the watcher's file events come from: chokidar, run in a worker thread (watch-worker.ts). chokidar
 * lists and stats every file of the folders it watches when it starts, on the thread it runs on: 100,000
 * files held the app's main thread for 4 s (18.8 s until ready, load 10 on 2 cores). In the worker that
 * costs the window nothing; events come back in small batches. The same options as before: no symlinks
 * followed, a file reported once its size stopped changing (awaitWriteFinish), Coffer's own files and what
 * the guard rails leave alone never reported (the rules cross as data: `rules`).
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-start.js';

/** The guard rails of each watched folder, as data (guard-rails.ts rebuilds them in the worker). */
export interface WatchRules {
  readonly appHome: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly folders: readonly {
    readonly root: string;
    readonly policyExclusions: readonly string[];
    readonly folderExclusions: readonly string[];
  }[];
}

export interface WatchWorkerData {
  readonly folders: readonly string[];
  readonly stableMs: number;
  readonly initial: boolean;
  readonly rules?: WatchRules;
}

export type WatchEvent = readonly ['add' | 'change' | 'unlink', string];

export type FromWatchWorker =
  | { readonly type: 'events'; readonly events: WatchEvent[] }
  | { readonly type: 'ready' }
  | { readonly type: 'error'; readonly message: string };

export interface WatchHandlers {
  onEvent(kind: WatchEvent[0], path: string): void;
  onError(error: Error): void;
}

export class WorkerWatchSource {
  private readonly worker: Worker;
  readonly ready: Promise<void>;
  private closed = false;

  constructor(data: WatchWorkerData, handlers: WatchHandlers) {
    this.worker = startWorker(import.meta.url, 'watch-worker', data);
    let resolveReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => {
      resolveReady = resolve;
    });
    this.worker.on('message', (message: FromWatchWorker) => {
      if (message.type === 'events') for (const [kind, path] of message.events) handlers.onEvent(kind, path);
      else if (message.type === 'ready') resolveReady();
      else handlers.onError(new Error(message.message));
    });
    this.worker.on('error', (error) => {
      handlers.onError(error);
    });
    this.worker.on('exit', (code) => {
      resolveReady();
      if (!this.closed) handlers.onError(new Error(`the watcher's worker exited (code ${code})`));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}
