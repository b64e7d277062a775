/**
 * One of several processes updating the same signed settings file at the same moment (review R2): the real
 * JsonSettingsStore over the real StateFiles and keychain, `count` read-modify-write updates in a tight loop,
 * each adding one entry named `${tag}-${i}`. Starts at `startAt` (ms since epoch) so the loops overlap.
 *
 *   node --import tsx e2e/helpers/state-race-child.ts <home> <tag> <count> <startAt>
 */
import path from 'node:path';
import { defaultBackend } from '../../crypto/sodium.js';
import { OsKeyStore, keychainService } from '../../electron/services/keys/key-store.js';
import { JsonSettingsStore } from '../../electron/services/settings.js';
import { lockDirIn } from '../../electron/services/folders/folder-service.js';
import { StateFiles, stateFilesIn } from '../../electron/services/state/state-files.js';

const [home = '', tag = '', countText = '0', startText = '0'] = process.argv.slice(2);
const sodium = await defaultBackend();
const keyStore = new OsKeyStore({ service: keychainService(process.env) });
const state = await StateFiles.open({
  sodium,
  keyStore,
  lockDir: lockDirIn(home),
  files: stateFilesIn(home),
});
const settings = new JsonSettingsStore(path.join(home, 'settings.json'), state.auth);
while (Date.now() < Number(startText)) {
  // spin: every process begins its loop at the same moment
}
for (let i = 0; i < Number(countText); i++) {
  settings.update((s) => ({ ...s, usedRecoveryCodeIds: [...s.usedRecoveryCodeIds, `${tag}-${i}`] }));
}
await state.close();
