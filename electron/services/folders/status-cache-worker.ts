/**
 * The status cache's worker (status-cache.ts starts it): holds the StatusIndex, its scans and its
 * directory watchers, so none of them runs on the app's main thread. Talks only through the messages
 * below; answers carry counts and at most a few hundred issues, never the tree.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StatusIndex, type CachedSummary, type IndexedFolderConfig } from './status-index.js';

export interface StatusWorkerData {
  readonly maxAgeMs?: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export type ToStatusWorker =
  | {
      readonly type: 'status';
      readonly id: number;
      readonly folders: readonly IndexedFolderConfig[];
      readonly budgetMs: number;
      readonly all: boolean;
    }
  | { readonly type: 'touch'; readonly paths: readonly string[] }
  | { readonly type: 'invalidate'; readonly reason: string; readonly root?: string }
  | { readonly type: 'fail-watcher'; readonly root: string; readonly dir: string; readonly message: string };

export type FromStatusWorker =
  | { readonly type: 'answer'; readonly id: number; readonly summaries: CachedSummary[] }
  | { readonly type: 'failed'; readonly id: number; readonly message: string }
  | { readonly type: 'rescan'; readonly root: string; readonly reason: string };

const port = parentPort;
if (!port) throw new Error('status-cache-worker.ts must run as a worker thread');
const post = (message: FromStatusWorker): void => {
  port.postMessage(message);
};
const data = workerData as StatusWorkerData;
const index = new StatusIndex({
  ...(data.maxAgeMs !== undefined ? { maxAgeMs: data.maxAgeMs } : {}),
  ...(data.env ? { env: data.env } : {}),
  onRescan: (root, reason) => {
    post({ type: 'rescan', root, reason });
  },
});

port.on('message', (message: ToStatusWorker) => {
  switch (message.type) {
    case 'status':
      index.status(message.folders, message.budgetMs, message.all).then(
        (summaries) => {
          post({ type: 'answer', id: message.id, summaries });
        },
        (error: unknown) => {
          post({
            type: 'failed',
            id: message.id,
            message: error instanceof Error ? error.message : String(error),
          });
        },
      );
      break;
    case 'touch':
      index.touch(message.paths);
      break;
    case 'invalidate':
      index.invalidate(message.reason, message.root);
      break;
    case 'fail-watcher':
      // Tests: the folder's watcher reports an error, as a real one does when its watch is lost.
      index.folder(message.root)?.failWatcher(message.dir, new Error(message.message));
      break;
  }
});
