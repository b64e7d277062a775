/**
 * The watcher's chokidar, off the app's main thread (watch-source.ts says why). Reports add, change and
 * unlink of regular files, batched every few milliseconds; `ready` once the initial listing is done (after
 * the events it produced); errors as they come.
 */
import type { Stats } from 'node:fs';
import { basename } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { watch } from 'chokidar';
import { isProtectedName, isTempName } from '../safe-file.js';
import { guardRailsFor } from './guard-rails.js';
import { isWithin } from './registry.js';
import type { FromWatchWorker, WatchEvent, WatchWorkerData } from './watch-source.js';

const port = parentPort;
if (!port) throw new Error('watch-worker.ts must run as a worker thread');
const post = (message: FromWatchWorker): void => {
  port.postMessage(message);
};
const data = workerData as WatchWorkerData;

// Forbidden, hidden and excluded paths (FolderService.watchFilter's rules): not even watched.
const guards = data.rules
  ? data.rules.folders.map((f) => ({
      root: f.root,
      guard: guardRailsFor(data.rules?.appHome ?? '', data.rules?.env).forTree(f.root, {
        policy: f.policyExclusions,
        folder: f.folderExclusions,
      }),
    }))
  : [];
const skip = (path: string): boolean => guards.find((g) => isWithin(path, g.root))?.guard.path(path) != null;

let batch: WatchEvent[] = [];
let timer: NodeJS.Timeout | null = null;
const flush = (): void => {
  if (timer) clearTimeout(timer);
  timer = null;
  if (batch.length === 0) return;
  post({ type: 'events', events: batch });
  batch = [];
};
const event = (kind: WatchEvent[0], path: string): void => {
  batch.push([kind, path]);
  if (batch.length >= 512) flush();
  else timer ??= setTimeout(flush, 10);
};

const stable = data.stableMs;
const watcher = watch([...data.folders], {
  followSymlinks: false,
  ignoreInitial: !data.initial,
  awaitWriteFinish: { stabilityThreshold: stable, pollInterval: Math.max(20, Math.min(100, stable / 4)) },
  ignored: (path: string, stats?: Stats) => {
    if (skip(path)) return true;
    if (stats && !stats.isFile()) return !stats.isDirectory();
    const name = basename(path);
    return isTempName(name) || isProtectedName(name);
  },
});
watcher.on('add', (path) => {
  event('add', path);
});
watcher.on('change', (path) => {
  event('change', path);
});
watcher.on('unlink', (path) => {
  event('unlink', path);
});
watcher.once('ready', () => {
  flush();
  post({ type: 'ready' });
});
watcher.on('error', (error) => {
  flush();
  post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
});
