/**
 * Issue 9 items 2 and 5 through the app's handlers: the real composition root (buildApp), a private real
 * Secret Service, real files; only the native dialogs are scripted. The helpdesk's "Rekey to this device"
 * keeps a recovery stanza for the key that opened the file and adds the current set (one RekeyService with
 * `coffer rekey`), and trusting or untrusting a key in the app re-wraps the protected files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectFd } from '../crypto/file.js';
import type { BuiltApp } from '../electron/main/composition.js';
import { Laptop, NO_KEYRING, sha256, tempDir } from './cli-harness.js';
import { ScriptedDialogs } from './helpers/app-harness.js';
import { TestAppHome } from './helpers/test-app.js';

if (NO_KEYRING) console.warn(`SKIPPED app key scenarios: ${NO_KEYRING}`);

const PASSPHRASE = 'correct horse battery staple';
const pass = { COFFER_PASSPHRASE: PASSPHRASE };

function stanzas(file: string): { kind: string; keyId: string }[] {
  const fd = fs.openSync(file, 'r');
  try {
    return inspectFd(fd)
      .stanzas.filter((s) => s.kind !== 'unknown')
      .map((s) => ({ kind: s.kind, keyId: s.keyId }));
  } finally {
    fs.closeSync(fd);
  }
}

const recoveryIds = (file: string): string[] =>
  stanzas(file)
    .filter((s) => s.kind === 'recovery')
    .map((s) => s.keyId)
    .sort();

async function until(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(NO_KEYRING !== null)('the app: helpdesk rekey and rotation', () => {
  const helpdesk = new Laptop('app-helpdesk');
  const a = new Laptop('app-A');
  const keys: Record<'opener' | 'trusted' | 'later', { file: string; line: string; keyId: string }> = {
    opener: { file: '', line: '', keyId: '' },
    trusted: { file: '', line: '', keyId: '' },
    later: { file: '', line: '', keyId: '' },
  };
  const t = new TestAppHome('app-keys');
  const { home, policyFile } = t;
  const dialogs = new ScriptedDialogs();
  let app: BuiltApp;

  beforeAll(async () => {
    for (const name of ['opener', 'trusted', 'later'] as const) {
      const file = path.join(helpdesk.home, `${name}.key`);
      const { result, doc } = await helpdesk.json<{ publicKey: string; keyId: string }>(
        ['recovery', 'keygen', '--out', file],
        pass,
      );
      expect(result.code, result.stderr).toBe(0);
      keys[name] = { file, line: doc.publicKey, keyId: doc.keyId };
    }
    // A helpdesk computer (policy helpdeskTools: the Helpdesk handlers are refused otherwise); the user's own
    // trusted key stays allowed.
    t.writePolicy({ helpdeskTools: true, allowUserRecoveryKeys: true });
    app = await t.build({
      dialog: dialogs,
    });
    await app.handlers.trustRecoveryKey({ line: keys.trusted.line, label: 'IT 2026' });
  });

  afterAll(async () => {
    await app.close();
    await t
      .keyStore()
      .delete('device-key')
      .catch(() => false);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('Rekey to this device keeps the opening key’s stanza and adds the current set', async () => {
    // Laptop A wrote the files for its own key and the helpdesk key only.
    expect((await a.run(['recovery', 'trust', keys.opener.line])).code).toBe(0);
    const dir = tempDir('app-rekey');
    fs.writeFileSync(path.join(dir, 'a.txt'), 'customer a\n');
    fs.writeFileSync(path.join(dir, 'b.bin'), Buffer.alloc(300_000, 9));
    const hashes = new Map(['a.txt', 'b.bin'].map((n) => [n, sha256(path.join(dir, n))]));
    const enc = await a.run(['encrypt', path.join(dir, 'a.txt'), path.join(dir, 'b.bin')]);
    expect(enc.code, enc.stderr).toBe(0);
    const files = ['a.txt.coffer', 'b.bin.coffer'].map((n) => path.join(dir, n));

    const keychain = await app.ports.keys.keychainStatus();
    if (!keychain.ok) throw new Error(keychain.problem);
    dialogs.answer(keys.opener.file);
    expect(await app.handlers.helpdeskLoadKey({ passphrase: PASSPHRASE })).toEqual({
      keyId: keys.opener.keyId,
    });
    dialogs.answer(files);
    const picked = await app.handlers.helpdeskPick({ what: 'files' });
    expect(picked?.map((f) => f.opensWithLoadedKey)).toEqual([true, true]);
    const started = await app.handlers.helpdeskRestore({ paths: files, mode: 'rekey' });
    if (!started) throw new Error('no run');
    const done = await app.runs.settled(started.runId);
    expect(done.errors).toEqual([]);
    expect(done.filesDone).toBe(2);
    // The Helpdesk table names this laptop's own slot as such ("This laptop’s key"), from main's answer.
    dialogs.answer(files);
    const rekeyed = await app.handlers.helpdeskPick({ what: 'files' });
    expect(rekeyed?.map((f) => f.stanzas.filter((s) => s.thisDevice === true).map((s) => s.keyId))).toEqual([
      [keychain.deviceKeyId],
      [keychain.deviceKeyId],
    ]);
    expect(picked?.flatMap((f) => f.stanzas.filter((s) => s.thisDevice === true))).toEqual([]);

    for (const file of files) {
      expect(stanzas(file).filter((s) => s.kind === 'device')).toEqual([
        { kind: 'device', keyId: keychain.deviceKeyId },
      ]);
      // The key that opened it stays (the helpdesk can still restore it); the trusted one is added.
      expect(recoveryIds(file)).toEqual([keys.opener.keyId, keys.trusted.keyId].sort());
      expect(await app.ports.files.verify(file)).toMatchObject({ name: path.basename(file, '.coffer') });
    }
    // And the helpdesk key still opens the rekeyed files, content intact.
    const out = tempDir('app-rekey-out');
    const recovered = await helpdesk.run(['recover', '--key', keys.opener.file, '--out', out, dir], pass);
    expect(recovered.code, recovered.stderr).toBe(0);
    for (const [name, hash] of hashes) expect(sha256(path.join(out, name))).toBe(hash);
  });

  it('trusting, untrusting and a policy change in the app re-wrap the protected folder', async () => {
    const folder = tempDir('app-rotate');
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(folder, `f${i}.txt`), `file ${i}\n`);
    const view = await app.ports.folders.add(folder);
    const run = await app.ports.folders.protect(view.id);
    const protectedRun = await app.runs.settled(run.runId);
    expect(protectedRun.errors).toEqual([]);
    const files = fs
      .readdirSync(folder)
      .filter((n) => n.endsWith('.coffer'))
      .map((n) => path.join(fs.realpathSync(folder), n));
    expect(files).toHaveLength(5);
    for (const f of files) expect(recoveryIds(f)).toEqual([keys.trusted.keyId]);

    const rewraps = () =>
      app.ports.activity.list().filter((e) => e.action === 'Re-wrap to recovery keys').length;
    const before = rewraps();
    await app.handlers.trustRecoveryKey({ line: keys.later.line });
    await until('the rotation after trust', () => rewraps() > before);
    for (const f of files) expect(recoveryIds(f)).toEqual([keys.trusted.keyId, keys.later.keyId].sort());

    const beforeUntrust = rewraps();
    await app.handlers.untrustRecoveryKey({ keyId: keys.trusted.keyId });
    await until('the rotation after untrust', () => rewraps() > beforeUntrust);
    for (const f of files) expect(recoveryIds(f)).toEqual([keys.later.keyId]);
    expect(app.ports.activity.list().find((e) => e.action === 'Re-wrap to recovery keys')?.outcome).toBe(
      'ok',
    );
    const shown = async () =>
      (await app.ports.folders.list()).find((f) => f.id === view.id)?.notRecoverableFiles;
    expect(await shown()).toBe(0);
    // With no organization key left, the Folders screen counts every file as not recoverable by IT.
    const beforeLast = rewraps();
    await app.handlers.untrustRecoveryKey({ keyId: keys.later.keyId });
    await until('the rotation after the last untrust', () => rewraps() > beforeLast);
    expect(await shown()).toBe(5);

    // A policy that deploys a key is a change of the set too: the app re-wraps when it reads the new policy.
    const beforePolicy = rewraps();
    fs.writeFileSync(policyFile, JSON.stringify({ recoveryPublicKeys: [keys.opener.line] }));
    await until('the rotation after the policy change', () => rewraps() > beforePolicy, 45_000);
    for (const f of files) expect(recoveryIds(f)).toEqual([keys.opener.keyId]);
    expect(await shown()).toBe(0);
  });
});
