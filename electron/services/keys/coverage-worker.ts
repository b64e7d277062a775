/**
 * The not-recoverable count's worker (coverage-counter.ts): folderCoverage off the main thread, with a
 * memory of each header's recovery key IDs by file identity, so a reload with nothing changed stats the
 * files but opens none of them.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { folderCoverage, headerRecoveryIds } from './rotation.js';

export type ToCoverageWorker = {
  readonly type: 'count';
  readonly id: number;
  readonly folder: string;
  readonly recoveryKeyIds: readonly string[];
};
export type FromCoverageWorker =
  | {
      readonly type: 'counted';
      readonly id: number;
      readonly notRecoverable: number;
      readonly files: number;
      /** Headers opened for this answer (the others were remembered). */
      readonly headersRead: number;
    }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };

interface Remembered {
  readonly stamp: string;
  readonly ids: string[];
}

/**
 * What identifies one version of a file without reading it: a header rewrite (in place or by a copy and a
 * rename) changes the inode, size, mtime or ctime, and ctime cannot be set back by a program.
 */
function stampOf(stats: fs.BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

const memory = new Map<string, Map<string, Remembered>>();

function count(
  folder: string,
  recoveryKeyIds: readonly string[],
): { notRecoverable: number; files: number; headersRead: number } {
  const before = memory.get(folder) ?? new Map<string, Remembered>();
  const now = new Map<string, Remembered>();
  let headersRead = 0;
  const read = (file: string): string[] => {
    const stamp = stampOf(fs.lstatSync(file, { bigint: true }));
    const known = before.get(file);
    const ids = known?.stamp === stamp ? known.ids : (headersRead++, headerRecoveryIds(file));
    // A header read while it changed gets a new stamp at the next look (its ctime moved), so it is read again.
    now.set(file, { stamp, ids });
    return ids;
  };
  const coverage = folderCoverage(folder, recoveryKeyIds, read);
  // Only files still there are remembered (an unreadable one is read again next time).
  memory.set(folder, now);
  return { notRecoverable: coverage.notRecoverable, files: coverage.files, headersRead };
}

const port = parentPort;
if (!port) throw new Error('coverage-worker.ts must run as a worker thread');
port.on('message', (message: ToCoverageWorker) => {
  let reply: FromCoverageWorker;
  try {
    reply = { type: 'counted', id: message.id, ...count(message.folder, message.recoveryKeyIds) };
  } catch (error) {
    reply = {
      type: 'failed',
      id: message.id,
      message: error instanceof Error ? error.message : String(error),
    };
  }
  port.postMessage(reply);
});
