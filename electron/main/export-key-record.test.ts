/**
 * Review of issue 12 item 6 (Bad input: a clear message on screen, nothing written): "Save a copy of your
 * key record…" to a place Coffer may not write, or a folder that is gone (a USB stick pulled, a share
 * offline), over the real composition (private keychain, real files). The write's errno was not turned into
 * a CofferError, so the screen said only "Something went wrong inside Coffer" (INTERNAL, handle.ts hides
 * what is not a CofferError) and the Activity said "failed". /sys refuses to create a file even for root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ScriptedDialogs } from '../../e2e/helpers/app-harness.js';
import { TestAppHome } from '../../e2e/helpers/test-app.js';
import { plainMessage } from '../shared/plain-words.js';
import { toErrorInfo } from './handle.js';
import type { BuiltApp } from './composition.js';

const NO_KEYRING =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ?? 'not run under scripts/with-keyring.sh');
if (NO_KEYRING) console.warn(`SKIPPED saving a copy of the key record: ${NO_KEYRING}`);

describe.skipIf(NO_KEYRING !== null)(
  'saving a copy of the key record where it cannot go',
  { timeout: 60_000 },
  () => {
    const homes: TestAppHome[] = [];
    const apps: BuiltApp[] = [];
    afterAll(async () => {
      for (const app of apps) await app.close();
      for (const h of homes) fs.rmSync(h.home, { recursive: true, force: true });
    });

    it('says why with a stable code, in the app and in the Activity, and writes nothing', async () => {
      const home = new TestAppHome('export-record');
      homes.push(home);
      home.writePolicy({});
      const dialog = new ScriptedDialogs();
      const app = await home.build({ dialog });
      apps.push(app);
      await app.handlers.makeRecoveryCode({});

      const gone = path.join(home.home, 'USB stick', 'coffer-key-record.json');
      const cases = [
        { to: '/sys/coffer-key-record.json', code: 'PERMISSION_DENIED' },
        { to: gone, code: 'NOT_FOUND' },
      ];
      for (const { to, code } of cases) {
        dialog.answer(to);
        const info = await Promise.resolve()
          .then(() => app.handlers.exportEscrow({}))
          .then(
            () => null,
            (error: unknown) => toErrorInfo(error),
          );
        expect(info?.code, to).toBe(code);
        expect(info?.message, to).toContain(to);
        expect(fs.existsSync(to), to).toBe(false);
      }
      // A file already there (the save dialog asked "Replace?" and the user said yes): refused, kept, and
      // the hint says what to do in the app, not the CLI's "--out".
      const there = path.join(home.home, 'coffer-key-record.json');
      fs.writeFileSync(there, 'the user’s own file');
      dialog.answer(there);
      const exists = await Promise.resolve()
        .then(() => app.handlers.exportEscrow({}))
        .then(
          () => null,
          (error: unknown) => toErrorInfo(error),
        );
      expect(exists?.code).toBe('FILE_EXISTS');
      expect(fs.readFileSync(there, 'utf8')).toBe('the user’s own file');
      expect(plainMessage(`${exists?.message ?? ''} ${exists?.hint ?? ''}`)).not.toMatch(/--[a-z]/);

      const failed = app.ports.activity
        .list()
        .filter((e) => e.action === 'Save a copy of the key record')
        .map((e) => `${e.outcome}: ${e.detail ?? ''}`);
      expect(failed).toHaveLength(3);
      for (const line of failed)
        expect(line).toMatch(/^error: .*(permission denied|no such file|already exists)/);
    });
  },
);
