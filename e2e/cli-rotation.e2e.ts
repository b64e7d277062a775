/**
 * Issue 9 item 2, "rotation that retires", through the real CLI and a real Secret Service: after `recovery
 * untrust` the retired organization key opens neither the escrow record (app data and the copy beside the
 * folder, which backups carry) nor any file; the key trusted later opens the files written before it; and a
 * rotation killed at any moment leaves every file opening with the device key and one of the two org keys,
 * and `coffer rewrap` finishes it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCofferError } from '../crypto/errors.js';
import { loadBackend } from '../crypto/sodium.js';
import { openEscrowWithRecoveryKey, parseEscrowRecord } from '../electron/services/keys/escrow.js';
import { readRecoveryKeyFile } from '../electron/services/keys/recovery-key-file.js';
import { Laptop, NO_KEYRING, sha256, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI rotation scenarios: ${NO_KEYRING}`);

const PASSPHRASE = 'correct horse battery staple';
const pass = { COFFER_PASSPHRASE: PASSPHRASE };
const sodium = await loadBackend('wasm');

interface Doc {
  ok: boolean;
  results?: { path: string; stanzas?: { kind: string; keyId: string }[] }[];
  failures?: { path?: string; code: string }[];
}

interface OrgKey {
  file: string;
  line: string;
  keyId: string;
}

async function keygen(helpdesk: Laptop, name: string): Promise<OrgKey> {
  const file = path.join(helpdesk.home, `${name}.key`);
  const { result, doc } = await helpdesk.json<{ publicKey: string; keyId: string }>(
    ['recovery', 'keygen', '--out', file],
    pass,
  );
  expect(result.code, result.stderr).toBe(0);
  return { file, line: doc.publicKey, keyId: doc.keyId };
}

/** Which of the escrow record's sealed entries yield A's device key, tried as an attacker would. */
async function escrowOpensWith(recordText: string, key: OrgKey, deviceKeyId: string): Promise<boolean> {
  const record = parseEscrowRecord(recordText);
  const identity = await readRecoveryKeyFile(key.file, PASSPHRASE);
  try {
    const deviceKey = openEscrowWithRecoveryKey(sodium, record, identity);
    sodium.zero(deviceKey);
    expect(record.deviceKeyId).toBe(deviceKeyId);
    return true;
  } catch (error) {
    if (isCofferError(error, 'NO_MATCHING_KEY')) return false;
    throw error;
  } finally {
    sodium.zero(identity.secretKey);
  }
}

/** The app-data record as the CLI reads it (whatever its storage), exported to a file. */
async function appDataEscrow(a: Laptop): Promise<string> {
  const out = path.join(tempDir('escrow-out'), 'escrow.json');
  const exported = await a.run(['recovery', 'escrow', '--out', out]);
  expect(exported.code, exported.stderr).toBe(0);
  return fs.readFileSync(out, 'utf8');
}

/** The paths of `.coffer` files under `dir` that `recover --key` cannot open (NO_MATCHING_KEY). */
async function notOpening(helpdesk: Laptop, key: OrgKey, dir: string): Promise<Set<string>> {
  const out = tempDir('recovered');
  const { result, doc } = await helpdesk.json<Doc>(['recover', '--key', key.file, '--out', out, dir], pass);
  const failures = doc.failures ?? [];
  for (const f of failures) expect(f.code, JSON.stringify(f)).toBe('NO_MATCHING_KEY');
  expect(result.code).toBe(failures.length === 0 ? 0 : 1);
  fs.rmSync(out, { recursive: true, force: true });
  return new Set(failures.map((f) => f.path ?? ''));
}

function protectedFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.coffer'))
    .map((name) => path.join(dir, name))
    .sort();
}

async function recoveryStanzas(a: Laptop, files: string[]): Promise<string[][]> {
  const { result, doc } = await a.json<Doc>(['inspect', ...files]);
  expect(result.code, result.stderr).toBe(0);
  return (doc.results ?? []).map((r) =>
    (r.stanzas ?? [])
      .filter((s) => s.kind === 'recovery')
      .map((s) => s.keyId)
      .sort(),
  );
}

/** Every file opens with A's device key (verify authenticates the whole file). */
async function allVerify(a: Laptop, dir: string): Promise<void> {
  const { result, doc } = await a.json<Doc>(['verify', ...protectedFiles(dir)]);
  expect(doc.failures ?? [], result.stderr).toEqual([]);
  expect(result.code).toBe(0);
}

describe.skipIf(NO_KEYRING !== null)('untrust then backup attack', () => {
  const helpdesk = new Laptop('rot-helpdesk');
  const a = new Laptop('rot-A');
  const folder = tempDir('rot-folder');
  let r1: OrgKey;
  let r2: OrgKey;
  let deviceKeyId = '';
  const hashes = new Map<string, string>();

  beforeAll(async () => {
    r1 = await keygen(helpdesk, 'R1');
    r2 = await keygen(helpdesk, 'R2');
    expect((await a.run(['recovery', 'trust', r1.line, '--label', 'old'])).code).toBe(0);
    fs.mkdirSync(path.join(folder, 'sub'));
    for (const [name, bytes] of [
      ['report.xlsx', Buffer.alloc(700_001, 3)],
      ['sub/notes.txt', Buffer.from('customer notes\n')],
      ['empty.bin', Buffer.alloc(0)],
    ] as const) {
      fs.writeFileSync(path.join(folder, name), bytes);
      hashes.set(name, sha256(path.join(folder, name)));
    }
    const protect = await a.run(['protect', folder]);
    expect(protect.code, protect.stderr).toBe(0);
    const code = await a.json<{ deviceKeyId: string }>(['recovery', 'code']);
    expect(code.result.code, code.result.stderr).toBe(0);
    deviceKeyId = code.doc.deviceKeyId;
    // Before the rotation, R1 is what the backup attacker holds: it opens the copy beside the folder.
    const copy = fs.readFileSync(path.join(folder, '.coffer-escrow.json'), 'utf8');
    expect(await escrowOpensWith(copy, r1, deviceKeyId)).toBe(true);
  });

  it('trusting R2 re-wraps the files written before it: they carry R2’s stanza', async () => {
    const trust = await a.json<{ ok: boolean; rotation: { rewrapped: number; filesTotal: number } }>([
      'recovery',
      'trust',
      r2.line,
      '--label',
      'new',
    ]);
    expect(trust.result.code, trust.result.stderr).toBe(0);
    for (const ids of await recoveryStanzas(a, protectedFiles(folder)))
      expect(ids).toEqual([r1.keyId, r2.keyId].sort());
    expect((await notOpening(helpdesk, r2, folder)).size).toBe(0);
    expect(await escrowOpensWith(await appDataEscrow(a), r2, deviceKeyId)).toBe(true);
    expect(trust.doc.rotation).toMatchObject({ filesTotal: 3, rewrapped: 3 });
  });

  it('untrusting R1: no escrow record and no file opens with R1; all open with R2 and the device key', async () => {
    const untrust = await a.json<{ ok: boolean; rotation: { rewrapped: number } }>([
      'recovery',
      'untrust',
      r1.keyId,
    ]);
    expect(untrust.result.code, untrust.result.stderr).toBe(0);

    const copy = fs.readFileSync(path.join(folder, '.coffer-escrow.json'), 'utf8');
    expect(await escrowOpensWith(copy, r1, deviceKeyId)).toBe(false);
    expect(await escrowOpensWith(copy, r2, deviceKeyId)).toBe(true);
    const record = await appDataEscrow(a);
    expect(await escrowOpensWith(record, r1, deviceKeyId)).toBe(false);
    expect(await escrowOpensWith(record, r2, deviceKeyId)).toBe(true);

    const files = protectedFiles(folder);
    expect([...(await notOpening(helpdesk, r1, folder))].sort()).toEqual(files);
    expect((await notOpening(helpdesk, r2, folder)).size).toBe(0);
    for (const ids of await recoveryStanzas(a, files)) expect(ids).toEqual([r2.keyId]);
    await allVerify(a, folder);
    // And the content is the user's, byte for byte.
    const out = tempDir('rot-plain');
    expect((await helpdesk.run(['recover', '--key', r2.file, '--out', out, folder], pass)).code).toBe(0);
    for (const [name, hash] of hashes) expect(sha256(path.join(out, name))).toBe(hash);
    expect(untrust.doc.rotation).toMatchObject({ rewrapped: 3 });
  });

  it('status counts files no current org key opens; rewrap leaves nothing to do', async () => {
    const status = await a.json<{ folders: { recovery: { notRecoverable: number; files: number } }[] }>([
      'status',
    ]);
    expect(status.result.code).toBe(0);
    expect(status.doc.folders[0]?.recovery).toMatchObject({ files: 3, notRecoverable: 0 });
    const rewrap = await a.json<{ ok: boolean; unchanged: number; rewrapped: number }>(['rewrap']);
    expect(rewrap.result.code, rewrap.result.stderr).toBe(0);
    expect(rewrap.doc).toMatchObject({ ok: true, unchanged: 3, rewrapped: 0 });
    // Untrusting the last key: every file is now "not recoverable by IT", and says so.
    expect((await a.run(['recovery', 'untrust', r2.keyId])).code).toBe(0);
    const after = await a.json<{ folders: { recovery: { notRecoverable: number } }[] }>(['status']);
    expect(after.doc.folders[0]?.recovery.notRecoverable).toBe(3);
    const text = await a.run(['status']);
    expect(text.stdout).toContain('not recoverable by IT: 3 files');
  });
});

describe.skipIf(NO_KEYRING !== null)('a rotation killed at random moments', () => {
  const helpdesk = new Laptop('kill-helpdesk');
  const a = new Laptop('kill-A');
  const folder = tempDir('kill-folder');
  const FILES = 300;
  const marker = path.join(a.home, 'rotation-pending.json');
  let r1: OrgKey;
  let r2: OrgKey;
  let rotationMs = 0;

  beforeAll(async () => {
    r1 = await keygen(helpdesk, 'R1');
    r2 = await keygen(helpdesk, 'R2');
    expect((await a.run(['recovery', 'trust', r1.line])).code).toBe(0);
    for (let i = 0; i < FILES; i++) {
      const dir = path.join(folder, `d${i % 6}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `f${i}.txt`), Buffer.alloc(i % 100 === 0 ? 500_000 : 3_000, i));
    }
    expect((await a.run(['protect', folder])).code).toBe(0);
    expect((await a.run(['recovery', 'code'])).code).toBe(0);
    const trust = await a.run(['recovery', 'trust', r2.line]);
    expect(trust.code, trust.stderr).toBe(0);
    // One whole rotation, timed (the rotation itself, not the process start), so the kills land inside one.
    const untrust = await a.json<{ rotation: { durationMs: number; rewrapped: number } }>([
      'recovery',
      'untrust',
      r1.keyId,
    ]);
    expect(untrust.result.code, untrust.result.stderr).toBe(0);
    expect(untrust.doc.rotation.rewrapped).toBe(FILES);
    rotationMs = untrust.doc.rotation.durationMs;
  }, 300_000);

  it('every file opens with the device key and with R1 or R2; `coffer rewrap` completes it', async () => {
    const trials = 3;
    let killedMidway = 0;
    for (let trial = 0; trial < trials; trial++) {
      // Back to {R1, R2} everywhere, then retire R1 and kill the run while it rotates.
      const back = await a.run(['recovery', 'trust', r1.line]);
      expect(back.code, back.stderr).toBe(0);
      expect(fs.existsSync(marker)).toBe(false);
      const child = a.spawn(['recovery', 'untrust', r1.keyId]);
      const state = { exited: false };
      const exited = new Promise<number | null>((resolve) => {
        child.on('close', (code) => {
          state.exited = true;
          resolve(code);
        });
      });
      // The marker appears when the rotation starts (after the untrust is saved): kill a random time later.
      while (!state.exited && !fs.existsSync(marker)) await new Promise((r) => setTimeout(r, 1));
      await new Promise((r) => setTimeout(r, Math.random() * rotationMs));
      child.kill('SIGKILL');
      const code = await exited;
      if (code === null && fs.existsSync(marker)) killedMidway++;

      await allVerify(a, folder);
      const without1 = await notOpening(helpdesk, r1, folder);
      const without2 = await notOpening(helpdesk, r2, folder);
      const neither = [...without1].filter((f) => without2.has(f));
      expect(neither, `trial ${trial}: files no org key opens`).toEqual([]);

      const rewrap = await a.json<{ ok: boolean }>(['rewrap']);
      expect(rewrap.result.code, rewrap.result.stderr).toBe(0);
      expect(fs.existsSync(marker)).toBe(false);
      expect((await notOpening(helpdesk, r1, folder)).size).toBe(FILES);
      expect((await notOpening(helpdesk, r2, folder)).size).toBe(0);
      const copy = fs.readFileSync(path.join(folder, '.coffer-escrow.json'), 'utf8');
      expect(parseEscrowRecord(copy).recovery.map((r) => r.keyId)).toEqual([r2.keyId]);
      expect(parseEscrowRecord(await appDataEscrow(a)).recovery.map((r) => r.keyId)).toEqual([r2.keyId]);
    }
    console.info(
      `rotation kill test: ${killedMidway}/${trials} runs killed mid-rotation (a rotation of ${FILES} files takes ${rotationMs.toFixed(0)} ms)`,
    );
    expect(killedMidway).toBeGreaterThan(0);
  }, 900_000);
});
