/**
 * Key rotation (issue 9 items 2 and 5): after `untrust R1`, nothing written or re-wrapped after the rotation
 * may open with R1. Attacks through the app's real composition root (buildApp) and the real CLI, against a
 * private real Secret Service:
 *
 * - A protect run in flight while the key set changes: it took its recipients when it started, the
 *   rotation for the new set listed the folder before the run's last files landed, so those files carried
 *   R1 (failed before: files written after the rotation opened with R1).
 * - The policy retires the user's key while the app is closed: nothing marked a rotation pending, so the
 *   escrow copy beside the folder stayed sealed to R1, which yields the device key itself and so opens every
 *   file written from then on (failed before: the copy still opened with R1 after the app started).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomFillSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCofferError } from '../crypto/errors.js';
import { loadBackend } from '../crypto/sodium.js';
import type { BuiltApp } from '../electron/main/composition.js';
import { openEscrowWithRecoveryKey, parseEscrowRecord } from '../electron/services/keys/escrow.js';
import { ESCROW_COPY_NAME } from '../electron/services/keys/folder-escrow.js';
import { readRecoveryKeyFile } from '../electron/services/keys/recovery-key-file.js';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';
import { TestAppHome } from './helpers/test-app.js';
import { recoveryIds } from './helpers/recovery-ids.js';

if (NO_KEYRING) console.warn(`SKIPPED rotation attacks: ${NO_KEYRING}`);

const PASSPHRASE = 'correct horse battery staple';
const pass = { COFFER_PASSPHRASE: PASSPHRASE };
const sodium = await loadBackend('wasm');

interface OrgKey {
  file: string;
  line: string;
  keyId: string;
}

const protectedIn = (dir: string): string[] =>
  fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((n) => n.endsWith('.coffer'))
    .map((n) => path.join(dir, n));

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether `key` unwraps the device key from the escrow record text, as the attacker holding it would try. */
async function escrowOpensWith(text: string, key: OrgKey): Promise<boolean> {
  const identity = await readRecoveryKeyFile(key.file, PASSPHRASE);
  try {
    const deviceKey = openEscrowWithRecoveryKey(sodium, parseEscrowRecord(text), identity);
    sodium.zero(deviceKey);
    return true;
  } catch (error) {
    if (isCofferError(error, 'NO_MATCHING_KEY')) return false;
    throw error;
  } finally {
    sodium.zero(identity.secretKey);
  }
}

describe.skipIf(NO_KEYRING !== null)('retiring a key while files are being written', () => {
  const helpdesk = new Laptop('r4-helpdesk');
  const t = new TestAppHome('r4');
  const { home, policyFile } = t;
  let r1: OrgKey;
  let r2: OrgKey;
  let app: BuiltApp | null = null;

  const start = (): Promise<BuiltApp> => t.build();

  const rewraps = (a: BuiltApp): number =>
    a.ports.activity.list().filter((e) => e.action === 'Re-wrap to recovery keys').length;

  beforeAll(async () => {
    const keygen = async (name: string): Promise<OrgKey> => {
      const file = path.join(helpdesk.home, `${name}.key`);
      const { result, doc } = await helpdesk.json<{ publicKey: string; keyId: string }>(
        ['recovery', 'keygen', '--out', file],
        pass,
      );
      expect(result.code, result.stderr).toBe(0);
      return { file, line: doc.publicKey, keyId: doc.keyId };
    };
    r1 = await keygen('R1');
    r2 = await keygen('R2');
    app = await start();
    await app.handlers.trustRecoveryKey({ line: r1.line, label: 'old' });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await t
      .keyStore()
      .delete('device-key')
      .catch(() => false);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('a protect run in flight during untrust + rotation: no file it writes carries R1', async () => {
    if (!app) throw new Error('no app');
    const a = app;
    await a.handlers.trustRecoveryKey({ line: r2.line, label: 'new' });
    const folder = fs.realpathSync(tempDir('r4-race'));
    // Enough work for one worker that the rotation (a handful of files) ends long before the run does.
    const block = Buffer.alloc(96 * 1024);
    for (let i = 0; i < 600; i++) fs.writeFileSync(path.join(folder, `doc-${i}.bin`), randomFillSync(block));
    const view = await a.ports.folders.add(folder);
    const run = await a.ports.folders.protect(view.id);
    let runEnded = false;
    const settled = a.runs.settled(run.runId).then((p) => {
      runEnded = true;
      return p;
    });
    await until('the first protected file', () => protectedIn(folder).length > 0);

    const before = rewraps(a);
    await a.handlers.untrustRecoveryKey({ keyId: r1.keyId });
    await until('the rotation after untrust', () => rewraps(a) > before);
    // The attack needs the rotation to have finished while the run was still writing.
    expect(runEnded, 'the protect run ended before the rotation: make the folder bigger').toBe(false);

    const done = await settled;
    expect(done.errors).toEqual([]);
    const files = protectedIn(folder);
    expect(files).toHaveLength(600);
    const withR1 = files.filter((f) => recoveryIds(f).includes(r1.keyId));
    expect(withR1, `${withR1.length} file(s) written after the rotation still open with R1`).toEqual([]);
    for (const f of files) expect(recoveryIds(f)).toEqual([r2.keyId]);
    // And through the real CLI: R1 opens none of them, R2 all.
    const out = tempDir('r4-recovered');
    const byR1 = await helpdesk.json<{ failures?: { code: string }[] }>(
      ['recover', '--key', r1.file, '--out', out, folder],
      pass,
    );
    expect(byR1.doc.failures?.length).toBe(600);
    for (const f of byR1.doc.failures ?? []) expect(f.code).toBe('NO_MATCHING_KEY');
  }, 300_000);

  it('the policy retires the user key while the app is closed: the escrow copy is re-sealed at start', async () => {
    if (!app) throw new Error('no app');
    // The user trusts R1 again, makes a code: the record and the copy beside the folder are sealed to R1, R2.
    await app.handlers.trustRecoveryKey({ line: r1.line, label: 'back' });
    const folder = fs.realpathSync(tempDir('r4-closed'));
    fs.writeFileSync(path.join(folder, 'a.txt'), 'customer a\n');
    const view = await app.ports.folders.add(folder);
    const run = await app.ports.folders.protect(view.id);
    expect((await app.runs.settled(run.runId)).errors).toEqual([]);
    await app.handlers.makeRecoveryCode({});
    const copy = path.join(folder, ESCROW_COPY_NAME);
    await until('the copy sealed to R1', () => {
      try {
        return fs.readFileSync(copy, 'utf8').includes(r1.keyId);
      } catch {
        return false;
      }
    });
    expect(await escrowOpensWith(fs.readFileSync(copy, 'utf8'), r1)).toBe(true);
    const prior = rewraps(app);
    await app.close();
    app = null;

    // While the app is closed, IT deploys R2 by policy (user keys not allowed): R1 is out of the set.
    fs.writeFileSync(policyFile, JSON.stringify({ recoveryPublicKeys: [r2.line] }));
    app = await start();
    const started = app;
    // (Before the fix no rotation ever came: the copy below still opened with R1.)
    await until('the rotation at start', () => rewraps(started) > prior, 30_000).catch(() => undefined);
    expect(await escrowOpensWith(fs.readFileSync(copy, 'utf8'), r1)).toBe(false);
    expect(await escrowOpensWith(fs.readFileSync(copy, 'utf8'), r2)).toBe(true);
    for (const f of protectedIn(folder)) expect(recoveryIds(f)).toEqual([r2.keyId]);
  }, 300_000);
});

describe.skipIf(NO_KEYRING !== null)('a file still carrying a removed key is shown', () => {
  it('a .coffer file copied into a protected folder after untrust: status counts it, rewrap retires it', async () => {
    const helpdesk = new Laptop('r4s-helpdesk');
    const a = new Laptop('r4s-A');
    const keys: OrgKey[] = [];
    for (const name of ['R1', 'R2']) {
      const file = path.join(helpdesk.home, `${name}.key`);
      const { result, doc } = await helpdesk.json<{ publicKey: string; keyId: string }>(
        ['recovery', 'keygen', '--out', file],
        pass,
      );
      expect(result.code, result.stderr).toBe(0);
      keys.push({ file, line: doc.publicKey, keyId: doc.keyId });
    }
    const [r1, r2] = keys as [OrgKey, OrgKey];
    expect((await a.run(['recovery', 'trust', r1.line])).code).toBe(0);
    expect((await a.run(['recovery', 'trust', r2.line])).code).toBe(0);
    // Written before the rotation, outside the protected folder (a copy on a USB stick).
    const outside = tempDir('r4s-usb');
    fs.writeFileSync(path.join(outside, 'old.txt'), 'old customer data\n');
    expect((await a.run(['encrypt', path.join(outside, 'old.txt')])).code).toBe(0);
    const folder = tempDir('r4s-folder');
    fs.writeFileSync(path.join(folder, 'a.txt'), 'a\n');
    expect((await a.run(['protect', folder])).code).toBe(0);
    expect((await a.run(['recovery', 'untrust', r1.keyId])).code).toBe(0);
    fs.copyFileSync(path.join(outside, 'old.txt.coffer'), path.join(folder, 'old.txt.coffer'));

    const status = await a.run(['status', folder]);
    expect(status.stdout).toContain('removed recovery key: 1 files still open with a key no longer trusted');
    const rewrap = await a.json<{ ok: boolean; rewrapped: number }>(['rewrap']);
    expect(rewrap.doc).toMatchObject({ ok: true, rewrapped: 1 });
    expect(recoveryIds(path.join(folder, 'old.txt.coffer'))).toEqual([r2.keyId]);
    expect((await a.run(['status', folder])).stdout).not.toContain('removed recovery key');
  }, 300_000);
});
