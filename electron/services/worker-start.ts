/**
 * Starts a worker thread whose entry file sits next to the calling module, both from sources (vitest, tsx)
 * and compiled (dist/). From sources, a tiny bootstrap registers tsx in the worker first: Node 20 does not
 * apply `--import tsx` hooks to a worker's entry file reliably.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { afterWorkerStart } from './young-generation.js';

export function startWorker(
  callerUrl: string,
  name: string,
  workerData: unknown,
  resourceLimits?: ResourceLimits,
): Worker {
  const fromSources = callerUrl.endsWith('.ts');
  const entry = new URL(`./${name}.${fromSources ? 'ts' : 'js'}`, callerUrl);
  const limits = resourceLimits ? { resourceLimits } : {};
  let worker: Worker;
  if (fromSources) {
    const tsx = import.meta.resolve('tsx/esm/api');
    const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
    worker = new Worker(bootstrap, { eval: true, workerData, ...limits });
  } else {
    worker = new Worker(entry, { workerData, ...limits });
  }
  // The worker's heap, configured on its own thread before 'online', reset the process's young-generation
  // setting (young-generation.ts).
  worker.once('online', afterWorkerStart);
  return worker;
}
