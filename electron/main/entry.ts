/**
 * The app binary's entry (package.json "main"). Two jobs, chosen by one flag:
 * - the desktop app (main.ts);
 * - `--coffer-cli …`: the `coffer` command of an installed app (build/cli/coffer, coffer.cmd), run by the
 *   app's own binary in its main process. The runAsNode fuse is off (issue 12 item 2), so the binary can no
 *   longer be told to act as Node; its main process still runs Node code, reads the app archive, and can
 *   start the keychain helper as a utilityProcess.
 * Awaited at the top level: Electron emits `ready` only once this entry has finished loading, so main.ts
 * still registers its scheme before `ready` (electronjs.org/docs/latest/tutorial/esm).
 */
import { CLI_FLAG } from './cli-flag.js';

if (process.argv.includes(CLI_FLAG)) await import('./cli-mode.js');
else await import('./main.js');
