/**
 * The victim of the temp-file test (e2e/temp-files.e2e.ts): decrypts a `.coffer` to an output path the way
 * `coffer decrypt -o` does, and stops dead in the middle of writing (it prints `writing` and waits to be
 * killed). `decrypt-child.ts FILE.coffer OUTPUT HOME` with the device key in COFFER_TEST_DEVICE_KEY (hex).
 */
import { defaultBackend } from '../../crypto/sodium.js';
import { SafeFiles, TempJournal, tempJournalDirIn } from '../../electron/services/safe-file.js';

const [file, output, home] = process.argv.slice(2);
const keyHex = process.env.COFFER_TEST_DEVICE_KEY;
if (!file || !output || !home || !keyHex) {
  process.stderr.write('usage: decrypt-child.ts FILE.coffer OUTPUT HOME (COFFER_TEST_DEVICE_KEY=hex)\n');
  process.exit(2);
}
const sodium = await defaultBackend();
const files = new SafeFiles(sodium, { tempJournal: new TempJournal(tempJournalDirIn(home)) });
let stopped = false;
files.decryptTo(file, {
  identities: [{ kind: 'device', key: Uint8Array.from(Buffer.from(keyHex, 'hex')) }],
  output,
  onProgress: () => {
    if (stopped) return;
    stopped = true;
    process.stdout.write('writing\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000); // killed here
  },
});
