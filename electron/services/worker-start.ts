/**
 * Starts a worker thread whose entry file sits next to the calling module, both from sources (vitest, tsx)
 * and compiled (dist/). From sources, a tiny bootstrap registers tsx in the worker first: Node 20 does not
 * apply `--import tsx` hooks to a worker's entry file reliably.
 */
import { Worker } from 'node:worker_threads';

export function startWorker(callerUrl: string, name: string, workerData: unknown): Worker {
  const fromSources = callerUrl.endsWith('.ts');
  const entry = new URL(`./${name}.${fromSources ? 'ts' : 'js'}`, callerUrl);
  if (!fromSources) return new Worker(entry, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
