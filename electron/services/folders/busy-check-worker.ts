/**
 * The busy-file check's worker (busy-check.ts): one probe of this platform (safe-file/busy.ts), kept for
 * the worker's life so its scan is reused across batches while it is fresh.
 */
import { parentPort } from 'node:worker_threads';
import { defaultProbe } from '../safe-file.js';
import { busyNow } from './busy-check.js';

export type ToBusyWorker = { readonly type: 'check'; readonly id: number; readonly paths: readonly string[] };
export type FromBusyWorker =
  | { readonly type: 'busy'; readonly id: number; readonly editing: string[]; readonly held: string[] }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };

const port = parentPort;
if (!port) throw new Error('busy-check-worker.ts must run as a worker thread');
const probe = defaultProbe();
port.on('message', (message: ToBusyWorker) => {
  let reply: FromBusyWorker;
  try {
    const busy = busyNow(probe, message.paths);
    reply = { type: 'busy', id: message.id, editing: [...busy.editing], held: [...busy.held] };
  } catch (error) {
    reply = {
      type: 'failed',
      id: message.id,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  port.postMessage(reply);
});
