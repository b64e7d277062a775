/**
 * The busy-file check's worker (busy-check.ts): one probe of this platform (safe-file/busy.ts), kept for
 * the worker's life so its scan is reused across batches while it is fresh.
 */
import { parentPort } from 'node:worker_threads';
import { defaultProbe } from '../safe-file.js';
import { heldElsewhereNow } from './busy-check.js';

export type ToBusyWorker = { readonly type: 'held'; readonly id: number; readonly paths: readonly string[] };
export type FromBusyWorker =
  | { readonly type: 'held'; readonly id: number; readonly paths: string[] }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };

const port = parentPort;
if (!port) throw new Error('busy-check-worker.ts must run as a worker thread');
const probe = defaultProbe();
port.on('message', (message: ToBusyWorker) => {
  let reply: FromBusyWorker;
  try {
    reply = { type: 'held', id: message.id, paths: [...heldElsewhereNow(probe, message.paths)] };
  } catch (error) {
    reply = {
      type: 'failed',
      id: message.id,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  port.postMessage(reply);
});
