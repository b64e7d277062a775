/**
 * Machine policy enforced through the app's own handlers (the functions the main process registers on
 * ipcMain), with the real services, real files and the real OS keychain; the policy is a real file that the
 * test rewrites while the app runs, as IT's configuration management would.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BuiltApp } from '../electron/main/composition.js';
import type { CofferEvent } from '../electron/shared/contract.js';
import { codeOf, TestAppHome } from './helpers/test-app.js';

const NO_KEYRING =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ??
      'not run under scripts/with-keyring.sh (npm run test:unit does that)');
if (NO_KEYRING !== null) console.warn(`deploy-policy e2e skipped: ${NO_KEYRING}`);

describe.skipIf(NO_KEYRING !== null)('policy enforced by the app handlers', () => {
  let home: string;
  let policyFile: string;
  let t: TestAppHome;
  let folder: string;
  let app: BuiltApp;
  const events: CofferEvent[] = [];
  let pickFolder: string | null = null;

  async function start(policy: unknown): Promise<void> {
    t.writePolicy(policy);
    app = await t.build({
      dialog: {
        pickFolder: () => Promise.resolve(pickFolder),
        pickFiles: () => Promise.resolve(null),
        pickSavePath: () => Promise.resolve(null),
      },
      emit: (event) => events.push(event),
    });
    await app.handlers.getOverview({}); // creates the device key, as the first start of the app does
  }

  /** Rewrites the policy file and waits until the running app shows it (file watch, no restart). */
  async function changePolicy(policy: Record<string, unknown>): Promise<void> {
    fs.writeFileSync(policyFile, JSON.stringify(policy));
    const want = Object.keys(policy).sort().join(',');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const shown = (await app.handlers.getPolicy({})).settings.map((s) => s.key);
      if (shown.sort().join(',') === want) return;
      if (Date.now() > deadline)
        throw new Error(`the policy change was not applied within 10 s (shown: ${shown.join(',')})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Rewrites the policy file and waits until the app reports the policy invalid. */
  async function changePolicyRaw(policy: unknown): Promise<void> {
    fs.writeFileSync(policyFile, JSON.stringify(policy));
    const deadline = Date.now() + 10_000;
    while ((await app.handlers.getPolicy({})).status !== 'invalid') {
      if (Date.now() > deadline) throw new Error('the invalid policy was not noticed within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function addFolder(dir: string): Promise<string> {
    pickFolder = dir;
    const view = await app.handlers.addFolder({});
    if (view === null) throw new Error('folder not added');
    return view.id;
  }

  beforeEach(() => {
    t = new TestAppHome('deploy-policy');
    ({ home, policyFile } = t);
    folder = path.join(home, 'Customers');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'ledger.csv'), 'client,amount\nACME,100\n');
    events.length = 0;
  });
  afterEach(async () => {
    await app.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('the helpdesk tools are off unless the policy turns them on: hidden, and refused by main', async () => {
    await start({});
    expect((await app.handlers.getPolicy({})).helpdeskTools).toBe(false);
    expect(await codeOf(app.handlers.helpdeskLoadKey({ passphrase: 'x' }))).toBe('POLICY_FORBIDS');
    expect(await codeOf(app.handlers.helpdeskPick({ what: 'folder' }))).toBe('POLICY_FORBIDS');
    expect(await codeOf(app.handlers.helpdeskRestore({ paths: [], mode: 'rekey' }))).toBe('POLICY_FORBIDS');
    await changePolicy({ helpdeskTools: true });
    expect((await app.handlers.getPolicy({})).helpdeskTools).toBe(true);
    expect(await app.handlers.helpdeskPick({ what: 'folder' })).toBeNull(); // the picker was cancelled
    // An invalid policy never turns them on.
    await changePolicyRaw({ helpdeskTools: 'yes' });
    expect((await app.handlers.getPolicy({})).helpdeskTools).toBe(false);
  });

  it('refuses to encrypt without the required recovery key, and leaves the plaintext as it was', async () => {
    await start({ requireRecoveryKey: true });
    const id = await addFolder(folder);
    expect(await codeOf(app.handlers.protectFolder({ folderId: id }))).toBe('NO_RECOVERY_KEY');
    expect(fs.readdirSync(folder)).toEqual(['ledger.csv']);
  });

  it('an invalid policy refuses encryption, and a fixed one applies without restart', async () => {
    await start({ allowUnprotect: 'no' });
    const id = await addFolder(folder);
    expect(await codeOf(app.handlers.protectFolder({ folderId: id }))).toBe('POLICY_INVALID');

    await changePolicy({ allowUnprotect: false });
    const { runId } = await app.handlers.protectFolder({ folderId: id });
    expect((await app.runs.settled(runId)).state).toBe('done');
    expect(fs.readdirSync(folder)).toEqual(['ledger.csv.coffer']);

    // allowUnprotect: false, applied to the running app.
    expect(await codeOf(app.handlers.unprotectFolder({ folderId: id }))).toBe('POLICY_FORBIDS');
    expect(fs.readdirSync(folder)).toEqual(['ledger.csv.coffer']);
  });

  it('lists a mandatory folder as locked and refuses to remove it', async () => {
    await start({ mandatoryFolders: [folder] });
    const listed = await app.handlers.listFolders({});
    const mandatory = listed.find((f) => f.path === folder);
    expect(mandatory?.mandatory).toBe(true);
    const code = await codeOf(app.handlers.removeFolder({ folderId: mandatory?.id ?? '' }));
    expect(code).toMatch(/^POLICY_/);
    expect((await app.handlers.listFolders({})).some((f) => f.path === folder)).toBe(true);

    const policy = await app.handlers.getPolicy({});
    expect(policy.status).toBe('active');
    expect(policy.settings).toEqual([expect.objectContaining({ key: 'mandatoryFolders', locked: true })]);
  });

  it('protects a mandatory folder automatically at start', async () => {
    await start({ mandatoryFolders: [folder] });
    const id = (await app.handlers.listFolders({})).find((f) => f.path === folder)?.id ?? '';
    const runId = app.runs.list().find((r) => r.folderId === id)?.runId;
    expect(runId).toBeDefined();
    expect((await app.runs.settled(runId ?? '')).state).toBe('done');
    expect(fs.readdirSync(folder)).toEqual(['ledger.csv.coffer']);
  });

  it('with an invalid policy: shows why, and refuses removing a folder, unprotecting and copies', async () => {
    await start({});
    const id = await addFolder(folder);
    await changePolicyRaw({ mandatoryFolders: 'not a list' });
    const policy = await app.handlers.getPolicy({});
    expect(policy).toMatchObject({ status: 'invalid', origin: policyFile, settings: [] });
    expect(policy.problems.join(' ')).toContain('mandatoryFolders');
    expect((await app.handlers.getOverview({})).policy.status).toBe('invalid');
    expect(await codeOf(app.handlers.removeFolder({ folderId: id }))).toBe('POLICY_INVALID');
    expect(await codeOf(app.handlers.unprotectFolder({ folderId: id }))).toBe('POLICY_INVALID');
    expect(await codeOf(app.handlers.decryptCopy({ folderId: id, relPath: 'ledger.csv' }))).toBe(
      'POLICY_INVALID',
    );
    expect((await app.handlers.listFolders({})).map((f) => f.id)).toEqual([id]);
  });

  it('watches a folder once protected, and stops when it is removed (files stay encrypted)', async () => {
    await start({});
    const id = await addFolder(folder);
    expect(app.watchedFolders()).toEqual([]); // added, not protected: nothing happens behind the user's back
    await app.runs.settled((await app.handlers.protectFolder({ folderId: id })).runId);
    await expect.poll(() => app.watchedFolders()).toEqual([fs.realpathSync(folder)]);
    await app.handlers.removeFolder({ folderId: id });
    await expect.poll(() => app.watchedFolders()).toEqual([]);
    expect(fs.readdirSync(folder)).toEqual(['ledger.csv.coffer']);
  });

  it('auto-lock: the user chooses, unless the policy sets it; updates stay off without a URL', async () => {
    await start({});
    expect(await app.handlers.getSettings({})).toEqual({ autoLock: { minutes: 30, managed: false } });
    expect(await app.handlers.setAutoLock({ minutes: 5 })).toEqual({
      autoLock: { minutes: 5, managed: false },
    });
    expect(app.autoLockMinutes()).toBe(5);
    await changePolicy({ autoLockMinutes: 15 });
    expect(await app.handlers.getSettings({})).toEqual({ autoLock: { minutes: 15, managed: true } });
    expect(await codeOf(app.handlers.setAutoLock({ minutes: null }))).toBe('POLICY_LOCKED');
    expect(app.autoLockMinutes()).toBe(15);
    expect(await app.handlers.checkForUpdates({})).toMatchObject({ state: 'disabled' });
  });
});
