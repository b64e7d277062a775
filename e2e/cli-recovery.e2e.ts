/**
 * Issue #3 scenarios, end to end through the real CLI and a real Secret Service: a lost laptop restored by
 * rekey and by restore-device, wrong keys and codes refused, a dead keychain reported quickly, and a rekey
 * killed midway leaving a file that still opens.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Laptop, NO_KEYRING, sha256, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI keychain scenarios: ${NO_KEYRING}`);

const PASSPHRASE = 'correct horse battery staple';
const pass = { COFFER_PASSPHRASE: PASSPHRASE };

interface Doc {
  ok: boolean;
  results?: { path: string; target?: string; headerBytes?: number; fileBytes?: number }[];
  failures?: { path?: string; code: string; hint: string }[];
}

function failureCodes(doc: Doc): string[] {
  return (doc.failures ?? []).map((f) => f.code);
}

describe.skipIf(NO_KEYRING !== null)('laptop lost: files from laptop A are restored on laptop B', () => {
  const helpdesk = new Laptop('helpdesk');
  const a = new Laptop('A');
  const work = tempDir('work');
  const orgKey = path.join(helpdesk.home, 'org.key');
  const wrongKey = path.join(helpdesk.home, 'wrong.key');
  const files = ['report.xlsx', 'notes.txt', 'empty.bin'];
  const hashes = new Map<string, string>();
  let publicKey = '';
  let code = '';
  let escrow = '';

  beforeAll(async () => {
    const keygen = await helpdesk.json<{ publicKey: string; keyId: string }>(
      ['recovery', 'keygen', '--out', orgKey],
      pass,
    );
    expect(keygen.result.code).toBe(0);
    publicKey = keygen.doc.publicKey;
    expect((await helpdesk.run(['recovery', 'keygen', '--out', wrongKey], pass)).code).toBe(0);

    expect((await a.run(['recovery', 'trust', publicKey, '--label', 'helpdesk'])).code).toBe(0);
    expect((await a.run(['init'])).code).toBe(0);
    const issued = await a.json<{ code: string; keyId: string }>(['recovery', 'code']);
    code = issued.doc.code;
    escrow = path.join(work, 'escrow-A.json');
    expect((await a.run(['recovery', 'escrow', '--out', escrow])).code).toBe(0);

    fs.mkdirSync(path.join(work, 'docs', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(work, 'docs', files[0] ?? ''), Buffer.alloc(3_000_001, 7));
    fs.writeFileSync(path.join(work, 'docs', 'sub', files[1] ?? ''), 'customer notes\n');
    fs.writeFileSync(path.join(work, 'docs', files[2] ?? ''), '');
    const plain = [
      path.join(work, 'docs', 'report.xlsx'),
      path.join(work, 'docs', 'sub', 'notes.txt'),
      path.join(work, 'docs', 'empty.bin'),
    ];
    for (const p of plain) hashes.set(path.basename(p), sha256(p));
    const enc = await a.json<Doc>(['encrypt', ...plain]);
    expect(enc.result.code).toBe(0);
    for (const p of plain) {
      expect(fs.existsSync(p)).toBe(false);
      expect(fs.existsSync(p + '.coffer')).toBe(true);
    }
  });

  /** A fresh copy of A's encrypted folder, as the helpdesk would receive it from a backup. */
  function copyOfDocs(label: string): string {
    const dir = tempDir(label);
    fs.cpSync(path.join(work, 'docs'), dir, { recursive: true });
    return dir;
  }

  it('inspect names the device key and the recovery key, without any key', async () => {
    const outsider = new Laptop('outsider');
    const { result, doc } = await outsider.json<{
      results: { stanzas: { kind: string; keyId: string }[] }[];
    }>(['inspect', path.join(work, 'docs', 'report.xlsx.coffer')]);
    expect(result.code).toBe(0);
    expect(doc.results[0]?.stanzas.map((s) => s.kind)).toEqual(['device', 'recovery']);
  });

  it('by rekey with the organization key: headers only, then the files open with B’s key', async () => {
    const b = new Laptop('B-rekey');
    expect((await b.run(['init'])).code).toBe(0);
    const dir = copyOfDocs('rekey');
    // Before: B cannot open A's files.
    const before = await b.json<Doc>(['verify', path.join(dir, 'sub', 'notes.txt.coffer')]);
    expect(before.result.code).toBe(1);
    expect(failureCodes(before.doc)).toEqual(['NO_MATCHING_KEY']);

    const rekey = await b.json<Doc>(['rekey', '--key', orgKey, dir], pass);
    expect(rekey.result.code).toBe(0);
    expect(rekey.doc.results).toHaveLength(3);
    for (const r of rekey.doc.results ?? []) {
      expect(r.headerBytes).toBeLessThan(1024);
      expect(r.fileBytes).toBe(fs.statSync(r.path).size);
    }
    const out = tempDir('rekey-out');
    const dec = await b.json<Doc>(['decrypt', '-o', out, ...(rekey.doc.results ?? []).map((r) => r.path)]);
    expect(dec.result.code).toBe(0);
    for (const [name, hash] of hashes) expect(sha256(path.join(out, name))).toBe(hash);
    // The recovery stanza is kept, so the helpdesk can still open the rekeyed file.
    const inspect = await b.json<{ results: { stanzas: { kind: string }[] }[] }>([
      'inspect',
      path.join(dir, 'report.xlsx.coffer'),
    ]);
    expect(inspect.doc.results[0]?.stanzas.map((s) => s.kind)).toEqual(['device', 'recovery']);
  });

  it('by restore-device with the personal recovery code; the used code is then refused and replaced', async () => {
    const b = new Laptop('B-code');
    const dir = copyOfDocs('restore');
    const spaced = code.replace(/-/g, ' ');
    const restore = await b.json<{ deviceKeyId: string; newCode: { code: string; keyId: string } }>([
      'restore-device',
      '--code',
      spaced,
      escrow,
    ]);
    expect(restore.result.code).toBe(0);
    expect(restore.doc.newCode.code).not.toBe(code);
    const verify = await b.json<Doc>([
      'verify',
      path.join(dir, 'report.xlsx.coffer'),
      path.join(dir, 'sub', 'notes.txt.coffer'),
    ]);
    expect(verify.result.code).toBe(0);

    // Rotation after use: the old code no longer works here (given on stdin, out of argv), the new one does.
    const again = await b.run(['restore-device', '--code', '-', escrow], {}, `${code}\n`);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('RECOVERY_CODE_USED');
    const oldConfirm = await b.run(['recovery', 'confirm', '--code', code]);
    expect(oldConfirm.code).toBe(1);
    expect(oldConfirm.stderr).toContain('WRONG_RECOVERY_CODE');
    expect((await b.run(['recovery', 'confirm', '--code', restore.doc.newCode.code])).code).toBe(0);
  });

  it('by restore-device with the organization key (escrow sealed to it)', async () => {
    const b = new Laptop('B-orgkey');
    const dir = copyOfDocs('restore-key');
    const restore = await b.run(['restore-device', '--key', orgKey, escrow], pass);
    expect(restore.code).toBe(0);
    // The restored key only reads; a fresh key writes, and a new code is issued for it.
    expect(restore.stdout).toContain('New personal recovery code');
    expect((await b.run(['verify', path.join(dir, 'report.xlsx.coffer')])).code).toBe(0);
    // The wrong organization key is not in the escrow record: NO_MATCHING_KEY, keychain untouched.
    const c = new Laptop('C-orgkey');
    const wrong = await c.run(['restore-device', '--key', wrongKey, escrow], pass);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('NO_MATCHING_KEY');
    expect((await c.run(['verify', path.join(dir, 'report.xlsx.coffer')])).stderr).toContain('NO_DEVICE_KEY');
  });

  it('recover with the organization key restores original names, folder structure kept, no keychain needed', async () => {
    const dir = copyOfDocs('recover');
    for (const name of ['report.xlsx.coffer'])
      fs.renameSync(path.join(dir, name), path.join(dir, 'renamed.coffer'));
    const out = path.join(tempDir('recover-out'), 'restored');
    // A helpdesk machine without a keychain: the bus address points nowhere.
    const { result, doc } = await helpdesk.json<Doc>(['recover', '--key', orgKey, '--out', out, dir], {
      ...pass,
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus',
    });
    expect(result.code).toBe(0);
    expect(doc.results).toHaveLength(3);
    expect(sha256(path.join(out, 'report.xlsx'))).toBe(hashes.get('report.xlsx'));
    expect(sha256(path.join(out, 'sub', 'notes.txt'))).toBe(hashes.get('notes.txt'));
    expect(sha256(path.join(out, 'empty.bin'))).toBe(hashes.get('empty.bin'));
  });

  it('a wrong organization key: NO_MATCHING_KEY, exit 1, nothing written', async () => {
    const dir = copyOfDocs('wrong');
    const out = path.join(tempDir('wrong-out'), 'restored');
    const { result, doc } = await helpdesk.json<Doc>(['recover', '--key', wrongKey, '--out', out, dir], pass);
    expect(result.code).toBe(1);
    expect(failureCodes(doc)).toEqual(['NO_MATCHING_KEY', 'NO_MATCHING_KEY', 'NO_MATCHING_KEY']);
    expect(fs.existsSync(out)).toBe(false);
    // One line per failure on stderr: path, code, what to do.
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(/\.coffer: NO_MATCHING_KEY: .* — .*key/);
    // rekey with the wrong key changes nothing either.
    const b = new Laptop('B-wrong');
    const before = fs.readFileSync(path.join(dir, 'report.xlsx.coffer'));
    const rekey = await b.run(['rekey', '--key', wrongKey, dir], pass);
    expect(rekey.code).toBe(1);
    expect(fs.readFileSync(path.join(dir, 'report.xlsx.coffer')).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['empty.bin.coffer', 'report.xlsx.coffer', 'sub']);
  });

  it('a wrong passphrase: BAD_PASSPHRASE, exit 1, nothing written', async () => {
    const out = path.join(tempDir('badpass'), 'restored');
    const result = await helpdesk.run(['recover', '--key', orgKey, '--out', out, path.join(work, 'docs')], {
      COFFER_PASSPHRASE: 'correct horse battery stapler',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/BAD_PASSPHRASE/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a mistyped code: the group is named, exit 1; a missing passphrase with no terminal: exit 2', async () => {
    const groups = code.split('-');
    const g = groups[4] ?? '';
    groups[4] = g.slice(0, 5) + String((Number(g[5]) + 1) % 10);
    const b = new Laptop('B-typo');
    const result = await b.run(['restore-device', '--code', groups.join('-'), escrow]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('BAD_RECOVERY_CODE: Group 5 of the recovery code is mistyped');
    const noPass = await helpdesk.run(['recover', '--key', orgKey, path.join(work, 'docs')]);
    expect(noPass.code).toBe(2);
    expect(noPass.stderr).toMatch(/--passphrase-file/);
    expect((await b.run(['restore-device', escrow])).code).toBe(2);
    expect((await b.run(['no-such-command'])).code).toBe(2);
  });

  it('the passphrase file works, the key file is 0600, and keygen never overwrites', async () => {
    const passFile = path.join(tempDir('pass'), 'pass.txt');
    fs.writeFileSync(passFile, PASSPHRASE + '\n');
    const out = tempDir('passfile-out');
    const result = await helpdesk.run([
      'recover',
      '--key',
      orgKey,
      '--passphrase-file',
      passFile,
      '--out',
      out,
      path.join(work, 'docs', 'empty.bin.coffer'),
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(PASSPHRASE);
    expect(fs.statSync(orgKey).mode & 0o777).toBe(0o600);
    const again = await helpdesk.run(['recovery', 'keygen', '--out', orgKey], pass);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('FILE_EXISTS');
  });

  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });
});

describe.skipIf(NO_KEYRING !== null)('the device key and the keychain', () => {
  it('a device key deleted from the keychain is NO_DEVICE_KEY pointing to restore-device, never a new key', async () => {
    const a = new Laptop('A-lost');
    expect((await a.run(['init'])).code).toBe(0);
    const { OsKeyStore } = await import('../electron/services/keys/key-store.js');
    expect(await new OsKeyStore({ service: a.service }).delete('device-key')).toBe(true);
    const plain = path.join(tempDir('lost'), 'x.txt');
    fs.writeFileSync(plain, 'x');
    const result = await a.run(['encrypt', plain]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/NO_DEVICE_KEY: .*missing.* — .*coffer restore-device/);
    expect(fs.existsSync(plain)).toBe(true);
  });
});

describe('keychain unavailable', () => {
  it.skipIf(process.platform !== 'linux')(
    'a D-Bus that never answers: KEYCHAIN_UNAVAILABLE within seconds, no hang',
    async () => {
      const dir = tempDir('deadbus');
      const socket = path.join(dir, 'bus');
      const silent = net.createServer(() => undefined);
      await new Promise<void>((resolve) => silent.listen(socket, resolve));
      try {
        const laptop = new Laptop('dead');
        const result = await laptop.run(['init'], {
          DBUS_SESSION_BUS_ADDRESS: `unix:path=${socket}`,
          COFFER_KEYCHAIN_TIMEOUT_MS: '2000',
        });
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/KEYCHAIN_UNAVAILABLE: .*no answer within 2 s — .*Secret Service/);
        expect(result.ms).toBeLessThan(8000);
      } finally {
        silent.close();
      }
    },
  );
});

describe.skipIf(NO_KEYRING !== null)('a rekey killed midway', () => {
  it('leaves a file that still opens with the old key (and a rerun finishes the job)', async () => {
    const a = new Laptop('A-kill');
    const helpdesk = new Laptop('helpdesk-kill');
    const orgKey = path.join(helpdesk.home, 'org.key');
    const keygen = await helpdesk.json<{ publicKey: string }>(['recovery', 'keygen', '--out', orgKey], pass);
    expect((await a.run(['recovery', 'trust', keygen.doc.publicKey])).code).toBe(0);
    const dir = tempDir('kill');
    const plain = path.join(dir, 'big.bin');
    // The payload is never copied (headers in place), so its size does not matter much.
    const fd = fs.openSync(plain, 'w');
    const block = Buffer.alloc(1 << 20, 0x5a);
    for (let i = 0; i < 16; i++) fs.writeSync(fd, block);
    fs.closeSync(fd);
    const hash = sha256(plain);
    expect((await a.run(['encrypt', plain])).code).toBe(0);
    const file = plain + '.coffer';

    const b = new Laptop('B-kill');
    expect((await b.run(['init'])).code).toBe(0);
    // The header is rewritten in place behind a journal in B's app data (FORMAT.md §8.1): kill the moment
    // the journal appears (inotify), between "journal written" and "journal dropped".
    const journalDir = path.join(b.home, 'header-journal');
    const original = path.join(tempDir('kill-orig'), 'big.bin.coffer');
    fs.copyFileSync(file, original);
    fs.mkdirSync(journalDir, { recursive: true });
    let killedMidway = 0;
    for (let attempt = 0; attempt < 8 && killedMidway === 0; attempt++) {
      const child = b.spawn(['rekey', '--key', orgKey, file], pass);
      const exited = new Promise<NodeJS.Signals | null>((resolve) => {
        child.on('exit', (_code, signal) => {
          resolve(signal);
        });
      });
      const watcher = fs.watch(journalDir, (_event, name) => {
        if (name?.endsWith('.journal')) child.kill('SIGKILL');
      });
      const signal = await exited;
      watcher.close();
      if (signal === 'SIGKILL') killedMidway++;
      // Whatever happened, the file opens with A's key (old header) or B's (new header), never neither.
      const verifyA = await a.json<Doc>(['verify', file]);
      const verifyB = await b.json<Doc>(['verify', file]);
      expect(verifyA.result.code === 0 || verifyB.result.code === 0).toBe(true);
      if (signal !== 'SIGKILL' && verifyB.result.code === 0) {
        // Finished before the kill: put A's file back for the next attempt.
        fs.copyFileSync(original, file);
      }
    }
    expect(killedMidway, 'the rekey always finished before it could be killed').toBe(1);
    // Rerun: completes, and B now opens it; the leftover temp file is garbage by name (isTempName).
    expect((await b.run(['rekey', '--key', orgKey, file], pass)).code).toBe(0);
    const out = tempDir('kill-out');
    expect((await b.run(['decrypt', '-o', out, file])).code).toBe(0);
    expect(sha256(path.join(out, 'big.bin'))).toBe(hash);
  }, 180_000);
});
