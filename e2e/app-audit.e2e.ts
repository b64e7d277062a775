/**
 * Issue 11 item 2 in the app: the real composition root (buildApp), a private real Secret Service, real
 * files. The app's security events (trust, protect, a policy change) reach the same audit trail the CLI
 * writes, both appending to one chain; a log that cannot be written leaves the protect done and shows
 * the failure as an Activity error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from '../electron/main/composition.js';
import { OsKeyStore } from '../electron/services/keys/key-store.js';
import { FilePolicySource } from '../electron/services/policy/sources.js';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';
import { RecordingShell, ScriptedDialogs } from './helpers/app-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED app audit-trail scenarios: ${NO_KEYRING}`);

const pass = { COFFER_PASSPHRASE: 'correct horse battery staple' };

interface LogDoc {
  verified: boolean;
  records: { seq: number; type: string; details: Record<string, unknown> }[];
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(NO_KEYRING !== null)(
  'the app: security events on the audit trail',
  { timeout: 240_000 },
  () => {
    const helpdesk = new Laptop('app-audit-helpdesk');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-app-audit-'));
    const userData = path.join(home, 'userData');
    const service = `coffer-app-audit-${randomBytes(6).toString('hex')}`;
    const env = { ...process.env, COFFER_KEYCHAIN_SERVICE: service, COFFER_TEST_INSECURE_KDF: '1' };
    /** The CLI on the same app data and keychain as the app (one laptop). */
    const cli = new Laptop('app-audit-cli', { COFFER_HOME: userData, COFFER_KEYCHAIN_SERVICE: service });
    const policyFile = path.join(home, 'policy.json');
    const dialogs = new ScriptedDialogs();
    const logLines: string[] = [];
    let app: BuiltApp;
    let org = { publicKey: '', keyId: '' };

    beforeAll(async () => {
      const made = await helpdesk.json<{ publicKey: string; keyId: string }>(
        ['recovery', 'keygen', '--out', path.join(helpdesk.home, 'org.key')],
        pass,
      );
      expect(made.result.code, made.result.stderr).toBe(0);
      org = made.doc;
      app = await buildApp({
        userData,
        dialog: dialogs,
        shell: new RecordingShell(),
        emit: () => undefined,
        log: (line) => logLines.push(line),
        env,
        keyStore: new OsKeyStore({ service, env }),
        policySource: new FilePolicySource(policyFile, { requireAdminOwned: false }),
        workers: 1,
      });
    });

    afterAll(async () => {
      await app.close();
      for (const account of ['device-key', 'audit-key', 'state-key', 'state-generations'])
        await new OsKeyStore({ service, env }).delete(account).catch(() => false);
      for (const d of [home, helpdesk.home, cli.home]) fs.rmSync(d, { recursive: true, force: true });
    });

    async function auditLog(): Promise<LogDoc> {
      const { result, doc } = await cli.json<LogDoc>(['audit', 'log']);
      expect(result.code, result.stderr).toBe(0);
      return doc;
    }

    it('trust, protect and a policy change in the app, then a CLI decrypt: one chain that verifies', async () => {
      await app.handlers.trustRecoveryKey({ line: org.publicKey, label: 'IT' });
      const folder = fs.realpathSync(tempDir('app-audit-folder'));
      fs.writeFileSync(path.join(folder, 'customers.csv'), 'customer row\n');
      dialogs.answer(folder);
      const view = await app.handlers.addFolder({});
      if (view === null) throw new Error('folder not added');
      const run = await app.handlers.protectFolder({ folderId: view.id });
      expect((await app.runs.settled(run.runId)).state).toBe('done');

      fs.writeFileSync(policyFile, JSON.stringify({ allowDecryptCopy: true }));
      await until('the policy change on record', async () =>
        (await auditLog()).records.some((r) => r.type === 'policy-changed'),
      );

      // The CLI appends to the same chain while the app runs.
      const copy = path.join(home, 'copy.csv');
      const dec = await cli.run(['decrypt', path.join(folder, 'customers.csv.coffer'), '-o', copy]);
      expect(dec.code, dec.stderr).toBe(0);

      const doc = await auditLog();
      expect(doc.verified).toBe(true);
      const types = doc.records.map((r) => r.type);
      expect(types).toEqual(
        expect.arrayContaining(['trusted-keys-changed', 'protect', 'policy-changed', 'decrypt-copy']),
      );
      expect(doc.records.find((r) => r.type === 'protect')?.details).toMatchObject({
        action: 'Protect finished',
        folder,
        outcome: 'ok',
      });
      expect(doc.records.map((r) => r.seq)).toEqual(doc.records.map((_, i) => i + 1));
      const verify = await cli.run(['audit', 'verify']);
      expect(verify.code, verify.stderr).toBe(0);
      expect(logLines.filter((l) => l.includes('audit log did not record'))).toEqual([]);
    });

    it('a protect run that leaves files in the clear (hard links) puts them on record', async () => {
      const folder = fs.realpathSync(tempDir('app-audit-links'));
      fs.writeFileSync(path.join(folder, 'a.csv'), 'row\n');
      fs.linkSync(path.join(folder, 'a.csv'), path.join(folder, 'b.csv'));
      dialogs.answer(folder);
      const view = await app.handlers.addFolder({});
      if (view === null) throw new Error('folder not added');
      const run = await app.handlers.protectFolder({ folderId: view.id });
      const done = await app.runs.settled(run.runId);
      expect(done.errors.map((e) => e.code)).toEqual(['HARD_LINK', 'HARD_LINK']);
      await until('the files left in the clear on record', async () =>
        (await auditLog()).records.some((r) => r.type === 'left-in-clear'),
      );
      const left = (await auditLog()).records.find((r) => r.type === 'left-in-clear');
      expect(left?.details).toMatchObject({ folder, codes: ['HARD_LINK'] });
      expect((left?.details.files as string[]).sort()).toEqual(
        [path.join(folder, 'a.csv'), path.join(folder, 'b.csv')].sort(),
      );
    });

    it('a log that cannot be written: the protect is done, and the Activity screen shows the failure', async () => {
      const audit = path.join(userData, 'audit');
      const aside = `${audit}.aside`;
      fs.renameSync(audit, aside);
      fs.writeFileSync(audit, 'not a folder');
      try {
        const folder = fs.realpathSync(tempDir('app-audit-broken'));
        fs.writeFileSync(path.join(folder, 'orders.csv'), 'order row\n');
        dialogs.answer(folder);
        const view = await app.handlers.addFolder({});
        if (view === null) throw new Error('folder not added');
        const run = await app.handlers.protectFolder({ folderId: view.id });
        expect((await app.runs.settled(run.runId)).state).toBe('done');
        expect(fs.readdirSync(folder)).toContain('orders.csv.coffer');
        expect(fs.readdirSync(folder)).not.toContain('orders.csv');
        await until('the warning', () =>
          Promise.resolve(
            app.ports.activity.list().some((e) => e.action === 'Audit log' && e.outcome === 'error'),
          ),
        );
        expect(logLines.some((l) => /audit log did not record this protect/.test(l))).toBe(true);
      } finally {
        fs.rmSync(audit, { force: true });
        fs.renameSync(aside, audit);
      }
    });
  },
);
