/**
 * Issue 11 item 3 in the app: the real composition root (buildApp), a private real Secret Service, a real
 * policy file naming reportDir. The app sends the daily report at start and a new one a few seconds after a
 * protect; both verify with the CLI and carry the same report key as `coffer report` on this laptop.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from '../electron/main/composition.js';
import { OsKeyStore } from '../electron/services/keys/key-store.js';
import { FilePolicySource } from '../electron/services/policy/sources.js';
import type { ReportFile } from '../electron/services/report/report-file.js';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';
import { RecordingShell, ScriptedDialogs } from './helpers/app-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED app report scenarios: ${NO_KEYRING}`);

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(NO_KEYRING !== null)('the app: reports to policy reportDir', { timeout: 240_000 }, () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-app-report-'));
  const userData = path.join(home, 'userData');
  const share = path.join(home, 'share');
  const service = `coffer-app-report-${randomBytes(6).toString('hex')}`;
  const env = { ...process.env, COFFER_KEYCHAIN_SERVICE: service, COFFER_TEST_INSECURE_KDF: '1' };
  const policyFile = path.join(home, 'policy.json');
  /** The CLI on the same app data and keychain as the app (one laptop). */
  const cli = new Laptop('app-report-cli', {
    COFFER_HOME: userData,
    COFFER_KEYCHAIN_SERVICE: service,
    COFFER_POLICY_FILE: policyFile,
  });
  const dialogs = new ScriptedDialogs();
  let app: BuiltApp;

  function inShare(): ReportFile | null {
    const names = fs.existsSync(share) ? fs.readdirSync(share).filter((n) => n.endsWith('.json')) : [];
    if (names.length !== 1) return null;
    return JSON.parse(fs.readFileSync(path.join(share, names[0] ?? ''), 'utf8')) as ReportFile;
  }

  beforeAll(async () => {
    fs.mkdirSync(share);
    fs.writeFileSync(policyFile, JSON.stringify({ reportDir: share }));
    app = await buildApp({
      userData,
      dialog: dialogs,
      shell: new RecordingShell(),
      emit: () => undefined,
      log: () => undefined,
      env,
      keyStore: new OsKeyStore({ service, env }),
      policySource: new FilePolicySource(policyFile, { requireAdminOwned: false }),
      workers: 1,
    });
  });

  afterAll(async () => {
    await app.close();
    for (const account of ['device-key', 'audit-key', 'state-key', 'state-generations', 'report-signing-key'])
      await new OsKeyStore({ service, env }).delete(account).catch(() => false);
    for (const d of [home, cli.home]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('sends the daily report at start and one after a protect, each verifying as this laptop', async () => {
    await until('the daily report at start', () => inShare()?.report.reason === 'daily');
    const daily = inShare();
    expect(daily?.report.totals).toEqual({
      folders: 0,
      protected: 0,
      inTheClear: 0,
      excluded: 0,
      notRecoverableByIt: 0,
    });

    const folder = fs.realpathSync(tempDir('app-report-folder'));
    fs.writeFileSync(path.join(folder, 'a.csv'), 'customer row\n');
    fs.writeFileSync(path.join(folder, 'b.txt'), 'customer note\n');
    dialogs.answer(folder);
    const view = await app.handlers.addFolder({});
    if (view === null) throw new Error('folder not added');
    const run = await app.handlers.protectFolder({ folderId: view.id });
    expect((await app.runs.settled(run.runId)).state).toBe('done');
    await until('the report after the protect', () => inShare()?.report.totals.protected === 2);
    const after = inShare();
    expect(after?.report.reason).toBe('change');
    expect(after?.report.folders.map((f) => [f.path, f.protected, f.inTheClear])).toEqual([[folder, 2, 0]]);
    expect(after?.signer.keyId).toBe(daily?.signer.keyId);

    // The CLI on this laptop signs with the same key; the share's report verifies against it.
    const mine = await cli.json<{ signerKeyId: string }>([
      'report',
      '--out',
      path.join(home, 'cli-report.json'),
    ]);
    expect(mine.result.code, mine.result.stderr).toBe(0);
    expect(mine.doc.signerKeyId).toBe(after?.signer.keyId);
    const names = fs.readdirSync(share);
    const verified = await cli.run([
      'report',
      'verify',
      path.join(share, names[0] ?? ''),
      '--expect-key',
      mine.doc.signerKeyId,
    ]);
    expect(verified.code, verified.stderr).toBe(0);
    fs.rmSync(folder, { recursive: true, force: true });
  });
});
