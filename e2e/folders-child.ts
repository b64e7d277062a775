/**
 * A child process for the kill test (e2e/folders-kill.e2e.ts): runs one protect or unprotect of a folder
 * with a device key given in the environment (test-only; a real run takes it from the keychain), and
 * prints `ready` once its workers are up so the parent kills it during the run, not during start-up.
 */
import { join } from 'node:path';
import { loadBackend } from '../crypto/sodium.js';
import { FolderService, lockDirIn } from '../electron/services/folders/folder-service.js';
import { WorkerPool } from '../electron/services/folders/pool.js';
import { FolderRegistry } from '../electron/services/folders/registry.js';

const [op, folder, home] = process.argv.slice(2);
const keyHex = process.env.COFFER_TEST_DEVICE_KEY;
if ((op !== 'protect' && op !== 'unprotect') || !folder || !home || !keyHex) {
  process.stderr.write(
    'usage: folders-child.ts protect|unprotect FOLDER HOME (COFFER_TEST_DEVICE_KEY=hex)\n',
  );
  process.exit(2);
}
await loadBackend('wasm');
const key = Uint8Array.from(Buffer.from(keyHex, 'hex'));
// Two workers: kills then land with two files in flight at once.
const pool = new WorkerPool({ backend: 'wasm', size: 2 });
const service = new FolderService({
  registry: FolderRegistry.inHome(home),
  keys: {
    recipients: () => Promise.resolve([{ kind: 'device', key: new Uint8Array(key) }]),
    identities: () => Promise.resolve([{ kind: 'device', key: new Uint8Array(key) }]),
  },
  pool: () => pool,
  lockDir: lockDirIn(join(home)),
});
await pool.run({ op: 'protect', files: [], recipients: [], identities: [] });
process.stdout.write('ready\n');
const report = op === 'protect' ? await service.protect(folder) : await service.unprotect(folder);
process.stdout.write(
  JSON.stringify({ done: report.filesDone, failed: report.failed, leftovers: report.leftoversResolved }) +
    '\n',
);
await pool.close();
