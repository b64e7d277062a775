/**
 * Issue 9 items 3 and 4, end to end through the real CLI and a real Secret Service: one device key however
 * many processes ask for it first; a restored key only reads (a forged escrow record gives its maker nothing
 * new, `--replace` orphans nothing); `rotate-device-key` keeps every file opening.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Laptop, NO_KEYRING, tempDir, type RunResult } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI device key scenarios: ${NO_KEYRING}`);

const PASSPHRASE = 'correct horse battery staple';
const pass = { COFFER_PASSPHRASE: PASSPHRASE };

interface InspectDoc {
  results: { path: string; stanzas: { kind: string; keyId: string }[] }[];
}

function parseInit(result: RunResult): { deviceKeyId: string } {
  try {
    return JSON.parse(result.stdout) as { deviceKeyId: string };
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
  }
}

/** Runs the CLI and expects success, showing its stderr when it fails. */
async function ok(laptop: Laptop, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const result = await laptop.run(args, env);
  expect(result.code, `coffer ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result;
}

/** The device key IDs named by the files' headers (no key needed). */
async function deviceStanzas(laptop: Laptop, files: string[]): Promise<string[]> {
  const { result, doc } = await laptop.json<InspectDoc>(['inspect', ...files]);
  expect(result.code, result.stderr).toBe(0);
  return doc.results.flatMap((r) => r.stanzas.filter((s) => s.kind === 'device').map((s) => s.keyId));
}

describe.skipIf(NO_KEYRING !== null)('one device key', () => {
  it('20 concurrent first uses from separate processes (init and encrypt) make exactly one key; every file opens', async () => {
    // A loaded 2-core machine: give each keychain call time, so only the race itself can fail.
    const laptop = new Laptop('race', { COFFER_KEYCHAIN_TIMEOUT_MS: '30000' });
    const dir = tempDir('race');
    const runs: Promise<RunResult>[] = [];
    const plain: string[] = [];
    for (let i = 0; i < 20; i++) {
      if (i % 2 === 0) {
        runs.push(laptop.run(['--json', 'init']));
      } else {
        const file = path.join(dir, `f${i}.txt`);
        fs.writeFileSync(file, `file ${i}\n`);
        plain.push(file);
        runs.push(laptop.run(['--json', 'encrypt', file]));
      }
    }
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const initIds = results.filter((_, i) => i % 2 === 0).map((r) => parseInit(r).deviceKeyId);
    const encrypted = plain.map((p) => `${p}.coffer`);
    const fileIds = await deviceStanzas(laptop, encrypted);
    const ids = new Set([...initIds, ...fileIds]);
    expect([...ids], 'device key IDs seen by the 20 processes').toHaveLength(1);

    // The keychain holds that key, and every file opens with it, from a later process.
    const { OsKeyStore } = await import('../electron/services/keys/key-store.js');
    const { loadBackend } = await import('../crypto/sodium.js');
    const { deviceKeyId, formatKeyId } = await import('../crypto/keys.js');
    const stored = await new OsKeyStore({ service: laptop.service }).get('device-key');
    if (!stored) throw new Error('no device key in the keychain');
    expect(formatKeyId(deviceKeyId(await loadBackend('wasm'), stored))).toBe([...ids][0]);
    const verify = await laptop.run(['verify', ...encrypted]);
    expect(verify.code, verify.stderr).toBe(0);
    // 20 Node processes at once on a shared 2-core machine.
  }, 240_000);
});

describe.skipIf(NO_KEYRING !== null)('one device key, with a first use killed mid-way', () => {
  it('R5: kill -9 of one first use at any point: the other one’s file opens later, one key writes', async () => {
    for (let round = 0; round < 4; round++) {
      const laptop = new Laptop(`kill-${round}`, { COFFER_KEYCHAIN_TIMEOUT_MS: '30000' });
      const dir = tempDir(`kill-${round}`);
      const victimFile = writePlain(dir, 'killed.txt', 'killed\n');
      const survivorFile = writePlain(dir, 'survivor.txt', 'survivor\n');
      const killed = laptop.spawn(['encrypt', victimFile]);
      // Listened for at once: a fast machine may finish the run before the kill, and 'close' fires only once.
      const killedClosed = new Promise((resolve) => killed.once('close', resolve));
      const survivor = laptop.run(['--json', 'encrypt', survivorFile]);
      // Somewhere in its start-up, its keychain calls or its key creation (the CLI starts in ~1-3 s here).
      await new Promise((resolve) => setTimeout(resolve, 800 + round * 700));
      killed.kill('SIGKILL');
      await killedClosed;
      const done = await survivor;
      expect(done.code, done.stderr).toBe(0);
      const verify = await laptop.run(['verify', `${survivorFile}.coffer`]);
      expect(verify.code, `round ${round}: ${verify.stderr}`).toBe(0);
      const keys = await laptop.json<KeysDoc>(['device-keys']);
      expect(keys.result.code, keys.result.stderr).toBe(0);
      expect(keys.doc.current?.state).toBe('ok');
      const [written] = await deviceStanzas(laptop, [`${survivorFile}.coffer`]);
      // The file's key is the one that writes, or (when the killed run's key landed late) kept beside it.
      expect([keys.doc.current?.keyId, ...keys.doc.readOnly.map((k) => k.keyId)]).toContain(written);
      // The killed run's file, if it got that far, opens too.
      if (fs.existsSync(`${victimFile}.coffer`) && !fs.existsSync(victimFile)) {
        const other = await laptop.run(['verify', `${victimFile}.coffer`]);
        expect(other.code, other.stderr).toBe(0);
      }
    }
  }, 240_000);
});

interface RestoreDoc {
  ok: boolean;
  restoredKeyId: string;
  deviceKeyId: string;
  replacedKeyId: string | null;
  newCode?: { code: string; keyId: string; deviceKeyId: string };
  rewrap: { filesTotal: number; failed: unknown[] } | null;
  filesByDeviceKey: { keyId: string; files: number }[];
}

interface KeysDoc {
  current: { keyId: string; state: string; files: number } | null;
  readOnly: { keyId: string; state: string; files: number }[];
}

/** An attacker who knows only the organization *public* key makes a record for a device key they know. */
async function forgeRecord(publicKeyLine: string, out: string): Promise<Uint8Array> {
  const { loadBackend } = await import('../crypto/sodium.js');
  const { generateDeviceKey } = await import('../crypto/keys.js');
  const { createEscrowRecord, serializeEscrowRecord } = await import('../electron/services/keys/escrow.js');
  const { generateRecoveryCode } = await import('../electron/services/keys/recovery-code.js');
  const { parsePublicKey } = await import('../electron/services/keys/public-key-text.js');
  const sodium = await loadBackend('wasm');
  const attackerKey = generateDeviceKey(sodium);
  const record = createEscrowRecord(sodium, {
    deviceKey: attackerKey,
    code: generateRecoveryCode(sodium),
    recoveryPublicKeys: [parsePublicKey(sodium, publicKeyLine)],
  });
  fs.writeFileSync(out, serializeEscrowRecord(record));
  return attackerKey;
}

/** The attacker's own laptop, holding the key they put in the forged record. */
async function attackerLaptop(key: Uint8Array): Promise<Laptop> {
  const attacker = new Laptop('attacker');
  const { OsKeyStore } = await import('../electron/services/keys/key-store.js');
  await new OsKeyStore({ service: attacker.service }).set('device-key', key);
  return attacker;
}

function writePlain(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

// Each scenario runs the CLI 10–20 times; a shared 2-core machine needs more than the default minute.
describe.skipIf(NO_KEYRING !== null)('recovery that cannot be redirected', { timeout: 180_000 }, () => {
  const helpdesk = new Laptop('helpdesk');
  const orgKey = path.join(helpdesk.home, 'org.key');
  const wrongKey = path.join(helpdesk.home, 'wrong.key');
  let publicKey = '';

  it('setup: the organization key pair', async () => {
    const keygen = await helpdesk.json<{ publicKey: string }>(['recovery', 'keygen', '--out', orgKey], pass);
    expect(keygen.result.code, keygen.result.stderr).toBe(0);
    publicKey = keygen.doc.publicKey;
    await ok(helpdesk, ['recovery', 'keygen', '--out', wrongKey], pass);
  });

  it('a forged record restored on a new laptop gives its maker nothing: new files do not open with the forged key', async () => {
    const forged = path.join(tempDir('forged'), 'escrow.json');
    const attackerKey = await forgeRecord(publicKey, forged);
    const victim = new Laptop('victim-new');
    await ok(victim, ['recovery', 'trust', publicKey]);
    const restore = await victim.json<RestoreDoc>(['restore-device', '--key', orgKey, forged], pass);
    expect(restore.result.code, restore.result.stderr).toBe(0);

    const dir = tempDir('victim-new-files');
    const plain = writePlain(dir, 'payroll.txt', 'salaries\n');
    await ok(victim, ['encrypt', plain]);
    const attacker = await attackerLaptop(attackerKey);
    const stolen = await attacker.run(['verify', `${plain}.coffer`]);
    expect(stolen.code, 'the forger opens a file written after the restore').toBe(1);
    expect(stolen.stderr).toContain('NO_MATCHING_KEY');
    // The victim's own laptop opens it; a fresh key wrote it, and the new code is for that key.
    await ok(victim, ['verify', `${plain}.coffer`]);
    expect(restore.doc.deviceKeyId).not.toBe(restore.doc.restoredKeyId);
    expect(await deviceStanzas(victim, [`${plain}.coffer`])).toEqual([restore.doc.deviceKeyId]);
    expect(restore.doc.newCode?.deviceKeyId).toBe(restore.doc.deviceKeyId);
  });

  it('restore-device --replace with a forged record: nothing orphaned, files re-wrapped to a fresh key, the forger opens nothing new', async () => {
    const victim = new Laptop('victim-replace');
    await ok(victim, ['recovery', 'trust', publicKey]);
    const init = await victim.json<{ deviceKeyId: string }>(['init']);
    const oldId = init.doc.deviceKeyId;
    const folder = tempDir('victim-folder');
    writePlain(folder, 'a.txt', 'in a protected folder\n');
    const protect = await victim.run(['protect', folder]);
    expect(protect.code, protect.stderr).toBe(0);
    // A file outside any protected folder, written under the key that --replace retires.
    const loose = writePlain(tempDir('victim-loose'), 'loose.txt', 'not in a protected folder\n');
    await ok(victim, ['encrypt', loose]);

    const forged = path.join(tempDir('forged-replace'), 'escrow.json');
    const attackerKey = await forgeRecord(publicKey, forged);
    const restore = await victim.run(
      ['--json', 'restore-device', '--replace', '--key', orgKey, forged],
      pass,
    );
    expect(restore.code, restore.stderr).toBe(0);
    const doc = JSON.parse(restore.stdout) as RestoreDoc;
    // Nothing orphaned: the file under the replaced key still opens.
    expect((await victim.run(['verify', `${loose}.coffer`])).code, 'a file under the replaced key').toBe(0);
    // New files are written for a fresh key only: the forger opens neither them nor the re-wrapped ones.
    const fresh = writePlain(tempDir('victim-fresh'), 'new.txt', 'after the restore\n');
    await ok(victim, ['encrypt', fresh]);
    const attacker = await attackerLaptop(attackerKey);
    for (const file of [`${fresh}.coffer`, path.join(folder, 'a.txt.coffer')]) {
      const stolen = await attacker.run(['verify', file]);
      expect(stolen.code, file).toBe(1);
      expect(stolen.stderr).toContain('NO_MATCHING_KEY');
    }
    expect(doc.replacedKeyId).toBe(oldId);
    expect(doc.deviceKeyId).not.toBe(oldId);
    expect(doc.deviceKeyId).not.toBe(doc.restoredKeyId);
    // Before any passphrase was asked: the restored key ID beside the IDs the user's files carry.
    expect(restore.stderr).toContain(`no file in the protected folders uses ${doc.restoredKeyId}`);
    expect(doc.filesByDeviceKey).toEqual([{ keyId: oldId, files: 1 }]);

    // The folder's files were re-wrapped to the fresh key.
    expect(await deviceStanzas(victim, [path.join(folder, 'a.txt.coffer')])).toEqual([doc.deviceKeyId]);
    expect(doc.rewrap?.failed).toEqual([]);
    const keys = await victim.json<KeysDoc>(['device-keys']);
    expect(keys.doc.current?.keyId).toBe(doc.deviceKeyId);
    expect(keys.doc.readOnly.map((k) => k.keyId).sort()).toEqual([oldId, doc.restoredKeyId].sort());
  });

  it('restore-device checks the key file against the record before asking for a passphrase', async () => {
    const user = new Laptop('user-check');
    await ok(user, ['recovery', 'trust', publicKey]);
    await ok(user, ['recovery', 'code']);
    const escrow = path.join(tempDir('check'), 'escrow.json');
    await ok(user, ['recovery', 'escrow', '--out', escrow]);
    const other = new Laptop('other-check');
    // No passphrase anywhere and no terminal: were it asked for, this would be a usage error (exit 2).
    const wrong = await other.run(['restore-device', '--key', wrongKey, escrow]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('NO_MATCHING_KEY');
    const notAKey = await other.run(['restore-device', '--key', escrow, escrow]);
    expect(notAKey.code).toBe(1);
    expect(notAKey.stderr).toContain('BAD_KEY_FILE');
  });

  it('R5: a code restore on the user’s laptop: new code sealed to the org key, folder copy refreshed, the used code refused, nothing raw printed', async () => {
    const user = new Laptop('user-code');
    await ok(user, ['recovery', 'trust', publicKey]);
    const folder = tempDir('user-code-folder');
    writePlain(folder, 'notes.txt', 'notes\n');
    await ok(user, ['protect', folder]);
    const issued = await user.json<{ code: string; keyId: string; deviceKeyId: string; sealedTo: string[] }>([
      'recovery',
      'code',
    ]);
    expect(issued.result.code, issued.result.stderr).toBe(0);
    expect(issued.doc.sealedTo).toHaveLength(1);
    // A file name with a terminal escape and a bell (a helpdesk ticket attachment, a crafted share).
    const escrow = path.join(tempDir('user-code-escrow'), 'rec\u001b]0;owned\u0007\u001b[2J.json');
    await ok(user, ['recovery', 'escrow', '--out', escrow]);

    const restore = await user.run(['restore-device', '--code', '-', escrow], {}, `${issued.doc.code}\n`);
    expect(restore.code, restore.stderr).toBe(0);
    const printed = restore.stdout + restore.stderr;
    const raw = Array.from({ length: printed.length }, (_, k) => printed.charCodeAt(k)).filter(
      (c) => (c < 0x20 && c !== 0x0a && c !== 0x09) || c === 0x7f,
    );
    expect(raw, 'control characters printed').toEqual([]);
    const { result, doc } = await user.json<KeysDoc>(['device-keys']);
    expect(result.code, result.stderr).toBe(0);
    const now = doc.current?.keyId;
    expect(now).toBeDefined();
    // The new record (and so the new code) is for the key that writes, and sealed to the organization key.
    const record = JSON.parse(fs.readFileSync(path.join(folder, '.coffer-escrow.json'), 'utf8')) as {
      deviceKeyId: string;
      code: { keyId: string };
      recovery: { keyId: string }[];
    };
    expect(record.deviceKeyId).toBe(now);
    expect(record.code.keyId).not.toBe(issued.doc.keyId);
    expect(record.recovery.map((r) => r.keyId)).toEqual(issued.doc.sealedTo);

    // The used code again (the exported record still opens with it): refused, nothing changes.
    const again = await user.run(['restore-device', '--code', '-', escrow], {}, `${issued.doc.code}\n`);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('RECOVERY_CODE_USED');
    const after = await user.json<KeysDoc>(['device-keys']);
    expect(after.doc.current?.keyId).toBe(now);
  });
});

// Each scenario runs the CLI 10–20 times; a shared 2-core machine needs more than the default minute.
describe.skipIf(NO_KEYRING !== null)('coffer rotate-device-key', { timeout: 180_000 }, () => {
  it('a new key writes, the old one only reads, every file in protected folders is re-wrapped, a new code is shown', async () => {
    const laptop = new Laptop('rotate');
    const init = await laptop.json<{ deviceKeyId: string }>(['init']);
    const folder = tempDir('rotate-folder');
    writePlain(folder, 'one.txt', 'one\n');
    fs.mkdirSync(path.join(folder, 'sub'));
    writePlain(path.join(folder, 'sub'), 'two.txt', 'two\n');
    await ok(laptop, ['protect', folder]);
    const loose = writePlain(tempDir('rotate-loose'), 'loose.txt', 'loose\n');
    await ok(laptop, ['encrypt', loose]);

    const rotated = await laptop.json<{
      previousKeyId: string;
      deviceKeyId: string;
      newCode: { code: string; deviceKeyId: string };
      rewrap: { filesTotal: number; failed: unknown[] } | null;
    }>(['rotate-device-key']);
    expect(rotated.result.code, rotated.result.stderr).toBe(0);
    expect(rotated.doc.previousKeyId).toBe(init.doc.deviceKeyId);
    expect(rotated.doc.deviceKeyId).not.toBe(init.doc.deviceKeyId);
    expect(rotated.doc.newCode.deviceKeyId).toBe(rotated.doc.deviceKeyId);
    expect(rotated.doc.rewrap?.failed).toEqual([]);
    const inFolder = [path.join(folder, 'one.txt.coffer'), path.join(folder, 'sub', 'two.txt.coffer')];
    expect(await deviceStanzas(laptop, inFolder)).toEqual([rotated.doc.deviceKeyId, rotated.doc.deviceKeyId]);
    // The file outside the folders keeps the old key's stanza and still opens (read-only key).
    expect(await deviceStanzas(laptop, [`${loose}.coffer`])).toEqual([init.doc.deviceKeyId]);
    const verify = await laptop.run(['verify', `${loose}.coffer`, ...inFolder]);
    expect(verify.code, verify.stderr).toBe(0);
    const keys = await laptop.json<KeysDoc>(['device-keys']);
    expect(keys.doc.current).toEqual({ keyId: rotated.doc.deviceKeyId, state: 'ok', files: 2 });
    expect(keys.doc.readOnly).toEqual([{ keyId: init.doc.deviceKeyId, state: 'ok', files: 0 }]);
    // The new code is the one the escrow record opens with.
    await ok(laptop, ['recovery', 'confirm', '--code', rotated.doc.newCode.code]);
    // On the audit trail, with key IDs only.
    const audit = await laptop.json<{ records: { type: string; details: Record<string, unknown> }[] }>([
      'audit',
      'log',
    ]);
    const event = audit.doc.records.find((r) => r.type === 'rotate-device-key');
    expect(event?.details).toMatchObject({
      previousKeyId: init.doc.deviceKeyId,
      deviceKeyId: rotated.doc.deviceKeyId,
    });
  });
});
