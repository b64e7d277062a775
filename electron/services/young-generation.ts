/**
 * The CLI (bin/coffer.js) and the app's main process keep V8's young generation at its start size
 * (--semi-space-growth-factor=1): their main thread makes short-lived garbage per file (issue 10 and 11
 * memory targets). The setting is process-wide, and V8 puts it back to 2 each time a heap is configured
 * (Heap::ConfigureHeap raises any factor under 2), which every Worker does for its own isolate: the first
 * worker a pool started undid it for the rest of the process. A cold `coffer audit scan` of 100,000 tiny
 * files grew its main thread's young generation from 2 to 32 MiB that way (peak RSS 190 MiB; 139-144 with
 * the setting kept; 300,000 files 280-297 → 246-250, with the cache's save making no garbage that outlives
 * a small young generation, 7960abc). Whoever sets it marks it here; startWorker sets it again once a worker
 * is online.
 */
import v8 from 'node:v8';

/** The mark, on globalThis under a registered symbol: bin/coffer.js (plain JavaScript) sets it too. */
const WANTED = Symbol.for('coffer.semiSpaceGrowthFactor');
const FLAG = '--semi-space-growth-factor=1';

function wanted(): boolean {
  return (globalThis as Record<symbol, unknown>)[WANTED] === true;
}

/** Keeps this process's young generation at its start size, from now on and after each worker start. */
export function keepYoungGenerationSmall(): void {
  (globalThis as Record<symbol, unknown>)[WANTED] = true;
  v8.setFlagsFromString(FLAG);
}

/** Called once a worker is online (its heap is configured by then): sets the factor again if it was set. */
export function afterWorkerStart(): void {
  if (wanted()) v8.setFlagsFromString(FLAG);
}
