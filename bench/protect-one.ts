/**
 * One measured protect run in its own process (compiled JavaScript, as the app runs it), so that its peak
 * RSS — workers included — is its own: `node protect-one.js <folder> <app-home> <keyfile>`.
 * Prints {"seconds":…, "lagP99Ms":…}: the run's time (worker start-up excluded) and the p99 event-loop
 * delay of the calling thread during it.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Recipient } from '../crypto/keys.js';
import { defaultBackend } from '../crypto/sodium.js';
import { FolderService, lockDirIn } from '../electron/services/folders/folder-service.js';
import { WorkerPool } from '../electron/services/folders/pool.js';
import { FolderRegistry } from '../electron/services/folders/registry.js';

const [folder, home, keyFile, also] = process.argv.slice(2);
if (!folder || !home || !keyFile)
  throw new Error('usage: protect-one.js <folder> <app-home> <keyfile> [--unprotect]');
const keys = JSON.parse(readFileSync(keyFile, 'utf8')) as { device: string; recoveryPublic: string };
const device = { kind: 'device' as const, key: new Uint8Array(Buffer.from(keys.device, 'hex')) };
// Every real file also carries a recovery stanza: include its cost.
const recipients: Recipient[] = [
  device,
  { kind: 'recovery', publicKey: new Uint8Array(Buffer.from(keys.recoveryPublic, 'hex')) },
];
const sodium = await defaultBackend();
const pool = new WorkerPool({ backend: sodium.name });
await pool.run({ op: 'protect', files: [], recipients: [], identities: [] }); // start-up is not the run
const service = new FolderService({
  registry: FolderRegistry.inHome(home),
  keys: { recipients: () => Promise.resolve(recipients), identities: () => Promise.resolve([device]) },
  pool: () => pool,
  lockDir: lockDirIn(home),
});
const monitor = monitorEventLoopDelay({ resolution: 10 });
monitor.enable();
const started = performance.now();
const report = await service.protect(folder);
const seconds = (performance.now() - started) / 1000;
const lagP99Ms = monitor.percentile(99) / 1e6;
if (report.failed.length > 0)
  throw new Error(`${report.failed.length} files failed: ${report.failed[0]?.code}`);
// Then back out again, measured the same way (issue 10 item 9: unprotect no slower than protect).
let unprotect: { seconds: number; lagP99Ms: number } | undefined;
if (also === '--unprotect') {
  monitor.reset();
  monitor.enable();
  const t = performance.now();
  const back = await service.unprotect(folder);
  unprotect = { seconds: (performance.now() - t) / 1000, lagP99Ms: monitor.percentile(99) / 1e6 };
  monitor.disable();
  if (back.failed.length > 0)
    throw new Error(`unprotect: ${back.failed.length} files failed: ${back.failed[0]?.code}`);
}
await pool.close();
console.log(
  JSON.stringify({
    seconds,
    lagP99Ms,
    ...(unprotect ? { unprotect } : {}),
    workers: pool.size,
    backend: sodium.name,
  }),
);
