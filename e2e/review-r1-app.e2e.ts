/**
 * Reviewer R1's attacks on the app's guard rails (issue 10 item 1), through the app's composition (real
 * services, real watcher, real worker pool, the real OS keychain, real files): a protected folder that is
 * replaced by a symbolic link to a keyring folder while Coffer is closed must not make the next start
 * encrypt the keyring.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from '../electron/main/composition.js';
import { OsKeyStore } from '../electron/services/keys/key-store.js';
import { FilePolicySource } from '../electron/services/policy/sources.js';

const NO_KEYRING =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ??
      'not run under scripts/with-keyring.sh (npm run test:unit does that)');
if (NO_KEYRING !== null) console.warn(`reviewer R1 app e2e skipped: ${NO_KEYRING}`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every file under `dir` with its bytes, following nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
    const st = fs.lstatSync(path.join(dir, rel));
    out[rel] = st.isFile() ? fs.readFileSync(path.join(dir, rel), 'hex') : st.isDirectory() ? 'dir' : 'other';
  }
  return out;
}

describe.skipIf(NO_KEYRING !== null)('reviewer R1: the app and a protected folder turned into a link', () => {
  let home: string;
  let app: BuiltApp | null = null;
  const service = `coffer-r1-${randomBytes(6).toString('hex')}`;

  async function start(): Promise<BuiltApp> {
    const policyFile = path.join(home, 'policy.json');
    fs.writeFileSync(policyFile, '{}');
    // A visible keyring folder, as XDG_DATA_HOME puts it on some desktops.
    const env = {
      ...process.env,
      XDG_DATA_HOME: path.join(home, 'data'),
      COFFER_KEYCHAIN_SERVICE: service,
      COFFER_TEST_INSECURE_KDF: '1',
    };
    app = await buildApp({
      userData: path.join(home, 'userData'),
      dialog: {
        pickFolder: () => Promise.resolve(path.join(home, 'Docs')),
        pickFiles: () => Promise.resolve(null),
        pickSavePath: () => Promise.resolve(null),
      },
      shell: { openPath: () => Promise.resolve(''), showItemInFolder: () => undefined },
      emit: () => undefined,
      log: () => undefined,
      env,
      keyStore: new OsKeyStore({ service, env }),
      policySource: new FilePolicySource(policyFile, { requireAdminOwned: false }),
      watchStableMs: 100,
    });
    await app.handlers.getOverview({});
    return app;
  }

  beforeEach(() => {
    home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-r1-app-')));
  });
  afterEach(async () => {
    await app?.close();
    app = null;
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('a protected folder replaced by a link to a keyring folder: the next start touches nothing there', async () => {
    const docs = path.join(home, 'Docs');
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'quote.txt'), 'a quote\n');
    const first = await start();
    const view = await first.handlers.addFolder({});
    expect(view?.path).toBe(docs);
    await first.handlers.protectFolder({ folderId: view?.id ?? '' });
    await expect
      .poll(() => fs.existsSync(path.join(docs, 'quote.txt.coffer')), { timeout: 20_000 })
      .toBe(true);
    await first.close();
    app = null;

    // While Coffer is closed: the folder is moved away and its name now leads to the keyring.
    const keyrings = path.join(home, 'data', 'keyrings');
    fs.mkdirSync(keyrings, { recursive: true });
    fs.writeFileSync(path.join(keyrings, 'login.keyring'), 'GnomeKeyring\n\0 the device key lives here');
    fs.writeFileSync(path.join(keyrings, 'user.keystore'), 'more secrets');
    fs.renameSync(docs, path.join(home, 'Docs-old'));
    fs.symlinkSync(keyrings, docs);
    const before = snapshot(keyrings);

    const again = await start();
    await sleep(3000);
    // Protect, pressed on the folder's row (a run in the background): it must not reach the keyring.
    const id = (await again.handlers.listFolders({}))[0]?.id ?? '';
    await again.handlers.protectFolder({ folderId: id });
    // The keyring daemon writes a new file (it saves by writing and renaming).
    fs.writeFileSync(path.join(keyrings, 'login.keyring.new'), 'GnomeKeyring\n\0 rewritten');
    fs.renameSync(path.join(keyrings, 'login.keyring.new'), path.join(keyrings, 'login.keyring'));
    fs.writeFileSync(path.join(keyrings, 'another.keyring'), 'GnomeKeyring\n\0 another');
    await sleep(4000);
    const after = snapshot(keyrings);
    expect(Object.keys(after).filter((n) => n.includes('.coffer'))).toEqual([]);
    expect(after['user.keystore']).toBe(before['user.keystore']);
    expect(after['login.keyring']).toBe(Buffer.from('GnomeKeyring\n\0 rewritten').toString('hex'));
  }, 90_000);
});
