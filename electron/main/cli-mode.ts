/**
 * The `coffer` command inside the installed app: the CLI run in the app binary's main process, with no
 * window, no tray and no single-instance lock (the desktop app may be running beside it). The keychain
 * helper runs as a utilityProcess, the only way this binary can start Node code in a child.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { app } from 'electron';
import { useKeychainLauncher } from '../services/keys/keychain-helper.js';
import { cliArgv } from './cli-flag.js';
import { UtilityProcessLauncher } from './keychain-utility.js';

// No display needed: a terminal command on a server or over ssh must work (Chromium's headless Ozone backend).
app.commandLine.appendSwitch('ozone-platform', 'headless');
app.disableHardwareAcceleration();
app.dock?.hide();
// Chromium's own profile files go to a private scratch folder, never beside a running app's.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-cli-'));
app.setPath('userData', scratch);
app.setPath('sessionData', scratch);
useKeychainLauncher(new UtilityProcessLauncher());

async function run(): Promise<number> {
  await app.whenReady();
  const { main } = await import('../../cli/main.js');
  return main(cliArgv(process.argv));
}

// Not awaited at the top level: `ready` fires only after this entry has loaded.
void run()
  .catch((error: unknown) => {
    process.stderr.write(`coffer: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  })
  .then(async (code) => {
    fs.rmSync(scratch, { recursive: true, force: true });
    // app.exit does not wait for output: pipes are asynchronous on macOS and Windows, so drain them first.
    await Promise.all(
      [process.stdout, process.stderr].map(
        (stream) =>
          new Promise<void>((resolve) => {
            stream.write('', () => {
              resolve();
            });
          }),
      ),
    );
    app.exit(code);
  });
