/**
 * Issue #4 through the real `coffer` CLI and a real Secret Service: protect a folder of real files, read
 * the counts back with `status --json`, watch it pick up a new file, and unprotect it byte for byte.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Laptop, NO_KEYRING, sha256, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI folder scenarios: ${NO_KEYRING}`);

interface Status {
  path: string;
  registered: boolean;
  protectedFiles: number;
  protectedBytes: number;
  plaintextFiles: number;
  leftovers: number;
  lastRun: { op: string; outcome: string; filesDone: number } | null;
}
interface StatusDoc {
  ok: boolean;
  folders: Status[];
}
interface RunDoc {
  ok: boolean;
  report: { op: string; filesTotal: number; filesDone: number; ignored: number; failed: unknown[] };
}

/** A small tree of real files: text, an empty file, a multi-chunk binary, a nested folder, OS litter. */
function makeTree(dir: string): Map<string, string> {
  fs.mkdirSync(path.join(dir, 'sub', 'deeper'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'customer notes\n');
  fs.writeFileSync(path.join(dir, 'empty.bin'), '');
  fs.writeFileSync(
    path.join(dir, 'sub', 'big.bin'),
    Buffer.from(Array.from({ length: 2_500_000 }, (_, i) => (i * 31) & 0xff)),
  );
  fs.writeFileSync(path.join(dir, 'sub', 'deeper', 'report.csv'), 'a,b\n1,2\n');
  fs.writeFileSync(path.join(dir, '.DS_Store'), 'litter');
  const hashes = new Map<string, string>();
  for (const rel of ['notes.txt', 'empty.bin', 'sub/big.bin', 'sub/deeper/report.csv'])
    hashes.set(rel, sha256(path.join(dir, rel)));
  return hashes;
}

describe.skipIf(NO_KEYRING !== null)('coffer protect | status | watch | unprotect', () => {
  const laptop = new Laptop('folders');
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of [...dirs, laptop.home]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('protects every file in place, counts them in status --json, and unprotects them unchanged', async () => {
    const dir = fs.realpathSync(tempDir('protect'));
    dirs.push(dir);
    const hashes = makeTree(dir);

    const protect = await laptop.json<RunDoc>(['protect', dir]);
    expect(protect.result.code, protect.result.stderr).toBe(0);
    expect(protect.doc.report).toMatchObject({ op: 'protect', filesTotal: 4, filesDone: 4, ignored: 1 });
    for (const rel of hashes.keys()) {
      expect(fs.existsSync(path.join(dir, rel))).toBe(false);
      expect(fs.existsSync(path.join(dir, rel + '.coffer'))).toBe(true);
    }
    expect(fs.readFileSync(path.join(dir, '.DS_Store'), 'utf8')).toBe('litter');

    const status = await laptop.json<StatusDoc>(['status']);
    expect(status.result.code).toBe(0);
    expect(status.doc.folders).toHaveLength(1);
    expect(status.doc.folders[0]).toMatchObject({
      path: dir,
      registered: true,
      protectedFiles: 4,
      plaintextFiles: 0,
      leftovers: 0,
      lastRun: { op: 'protect', outcome: 'ok', filesDone: 4 },
    });
    expect(status.doc.folders[0]?.protectedBytes).toBeGreaterThan(2_500_000);

    // verify takes the folder: every file authentic; one damaged file fails alone, by name.
    const verified = await laptop.json<{ results: unknown[] }>(['verify', dir]);
    expect(verified.result.code, verified.result.stderr).toBe(0);
    expect(verified.doc.results).toHaveLength(4);
    const damaged = path.join(dir, 'notes.txt.coffer');
    const original = fs.readFileSync(damaged);
    const flipped = Buffer.from(original);
    flipped[flipped.length - 5] = (flipped[flipped.length - 5] ?? 0) ^ 1;
    fs.writeFileSync(damaged, flipped);
    const bad = await laptop.json<{ results: unknown[]; failures: { path: string; code: string }[] }>([
      'verify',
      dir,
    ]);
    expect(bad.result.code).toBe(1);
    expect(bad.doc.results).toHaveLength(3);
    expect(bad.doc.failures.map((f) => f.path)).toEqual([damaged]);
    fs.writeFileSync(damaged, original);

    // A new plaintext file shows as waiting, and a second protect run takes only it.
    fs.writeFileSync(path.join(dir, 'later.txt'), 'added later\n');
    hashes.set('later.txt', sha256(path.join(dir, 'later.txt')));
    const waiting = await laptop.json<StatusDoc>(['status', dir]);
    expect(waiting.doc.folders[0]).toMatchObject({ protectedFiles: 4, plaintextFiles: 1 });
    const again = await laptop.json<RunDoc>(['protect', dir]);
    expect(again.doc.report).toMatchObject({ filesTotal: 1, filesDone: 1 });

    const unprotect = await laptop.json<RunDoc>(['unprotect', dir]);
    expect(unprotect.result.code, unprotect.result.stderr).toBe(0);
    expect(unprotect.doc.report).toMatchObject({ op: 'unprotect', filesTotal: 5, filesDone: 5 });
    for (const [rel, hash] of hashes) {
      expect(sha256(path.join(dir, rel))).toBe(hash);
      expect(fs.existsSync(path.join(dir, rel + '.coffer'))).toBe(false);
    }
    const after = await laptop.json<StatusDoc>(['status']);
    expect(after.doc.folders).toEqual([]);
    const human = await laptop.run(['status']);
    expect(human.stdout).toContain('No protected folders');
  });

  it('a folder that does not exist: one failure line with code and hint, exit 1', async () => {
    const missing = path.join(tempDir('gone'), 'nope');
    const result = await laptop.run(['protect', missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^${missing}: NOT_FOUND: .* — \\S`));
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('watch protects a file created after it started, and stops cleanly on Ctrl-C', async () => {
    const dir = fs.realpathSync(tempDir('watch'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'first.txt'), 'there before\n');
    const child = laptop.spawn(['watch', dir, '--stable-ms', '200']);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => {
      child.on('close', (code) => {
        resolve(code);
      });
    });
    const until = async (test: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!test()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until(() => stderr.includes('Watching'), 'the watcher to start');
      expect(fs.existsSync(path.join(dir, 'first.txt.coffer'))).toBe(true);
      const created = path.join(dir, 'created.txt');
      fs.writeFileSync(created, 'written while watched\n');
      const hash = sha256(created);
      await until(() => stdout.includes(`protected ${created}`), 'the new file to be protected');
      expect(fs.existsSync(created)).toBe(false);
      expect(fs.existsSync(created + '.coffer')).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      const decrypt = await laptop.run(['decrypt', created + '.coffer']);
      expect(decrypt.code, decrypt.stderr).toBe(0);
      expect(sha256(created)).toBe(hash);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe.skipIf(NO_KEYRING !== null)('the escrow record beside each protected folder', () => {
  const helpdesk = new Laptop('escrow-helpdesk');
  const a = new Laptop('escrow-A');
  const pass = { COFFER_PASSPHRASE: 'correct horse battery staple' };
  const orgKey = path.join(helpdesk.home, 'org.key');
  const dirs: string[] = [];
  const laptops = [helpdesk, a];
  afterAll(() => {
    for (const d of [...dirs, ...laptops.map((l) => l.home)]) fs.rmSync(d, { recursive: true, force: true });
  });
  const copyOf = (dir: string): string => path.join(dir, '.coffer-escrow.json');
  const codeIdIn = (dir: string): string =>
    (JSON.parse(fs.readFileSync(copyOf(dir), 'utf8')) as { code: { keyId: string } }).code.keyId;

  it('appears with the first code, follows every new code, and a backup of the folder restores on a new laptop', async () => {
    const keygen = await helpdesk.json<{ publicKey: string }>(['recovery', 'keygen', '--out', orgKey], pass);
    expect(keygen.result.code).toBe(0);
    expect((await a.run(['recovery', 'trust', keygen.doc.publicKey])).code).toBe(0);
    const init = await a.json<{ deviceKeyId: string }>(['init']);

    const one = fs.realpathSync(tempDir('escrow-one'));
    const two = fs.realpathSync(tempDir('escrow-two'));
    dirs.push(one, two);
    const hashes = makeTree(one);
    fs.writeFileSync(path.join(two, 'x.txt'), 'second folder\n');

    // No code yet: protecting writes no copy, and is not an error.
    expect((await a.run(['protect', one])).code).toBe(0);
    expect(fs.existsSync(copyOf(one))).toBe(false);

    const first = await a.json<{ keyId: string; code: string; warnings: string[] }>(['recovery', 'code']);
    expect(first.doc.warnings).toEqual([]);
    expect(fs.readFileSync(copyOf(one), 'utf8')).toBe(
      fs.readFileSync(path.join(a.home, 'escrow.json'), 'utf8'),
    );
    // The copy stays in the clear and is not counted as waiting plaintext.
    const status = await a.json<StatusDoc>(['status', one]);
    expect(status.doc.folders[0]).toMatchObject({ protectedFiles: 4, plaintextFiles: 0 });
    expect((await a.json<RunDoc>(['protect', one])).doc.report).toMatchObject({ filesTotal: 0, ignored: 2 });
    expect(fs.existsSync(copyOf(one) + '.coffer')).toBe(false);

    // A folder protected later gets the current record at once.
    expect((await a.run(['protect', two])).code).toBe(0);
    expect(codeIdIn(two)).toBe(first.doc.keyId);

    const listed = await a.json<{ folders: { path: string; escrowCopy: boolean }[] }>(['status']);
    expect(listed.doc.folders.map((f) => f.escrowCopy)).toEqual([true, true]);

    // A new code replaces every copy: an old one would only open with a code that no longer exists.
    const second = await a.json<{ keyId: string; code: string }>(['recovery', 'code']);
    expect(second.doc.keyId).not.toBe(first.doc.keyId);
    expect(codeIdIn(one)).toBe(second.doc.keyId);
    expect(codeIdIn(two)).toBe(second.doc.keyId);

    // A folder no longer protected loses its copy (it would not follow the next code).
    const three = fs.realpathSync(tempDir('escrow-three'));
    dirs.push(three);
    fs.writeFileSync(path.join(three, 'y.txt'), 'third\n');
    expect((await a.run(['protect', three])).code).toBe(0);
    expect(fs.existsSync(copyOf(three))).toBe(true);
    expect((await a.run(['unprotect', three])).code).toBe(0);
    expect(fs.readdirSync(three)).toEqual(['y.txt']);

    // Laptop A is lost. Its folder comes back from a backup; the helpdesk restores the device key on
    // laptop B from the copy in the backup with the organization key, and the files open there.
    const backup = tempDir('escrow-backup');
    dirs.push(backup);
    fs.cpSync(one, backup, { recursive: true });
    const b = new Laptop('escrow-B');
    laptops.push(b);
    const restored = await b.json<{ deviceKeyId: string }>(
      ['restore-device', '--key', orgKey, copyOf(backup)],
      pass,
    );
    expect(restored.result.code, restored.result.stderr).toBe(0);
    expect(restored.doc.deviceKeyId).toBe(init.doc.deviceKeyId);
    const verify = await b.json<{ ok: boolean; results: unknown[] }>(['verify', backup]);
    expect(verify.result.code, verify.result.stderr).toBe(0);
    expect(verify.doc.results).toHaveLength(4);
    const unprotect = await b.json<RunDoc>(['unprotect', backup]);
    expect(unprotect.result.code, unprotect.result.stderr).toBe(0);
    for (const [rel, hash] of hashes) expect(sha256(path.join(backup, rel))).toBe(hash);
    // B never protected the backup: its copy of A's record is left where it was.
    expect(fs.existsSync(copyOf(backup))).toBe(true);

    // Or with the user's personal recovery code, read out over the phone, on laptop C.
    const c = new Laptop('escrow-C');
    laptops.push(c);
    const withCode = await c.json<{ deviceKeyId: string; newCode?: { keyId: string } }>([
      'restore-device',
      '--code',
      second.doc.code,
      copyOf(two),
    ]);
    expect(withCode.result.code, withCode.result.stderr).toBe(0);
    expect(withCode.doc.deviceKeyId).toBe(init.doc.deviceKeyId);
    expect(withCode.doc.newCode?.keyId).toBeDefined();
    const decrypt = await c.run(['decrypt', '-o', tempDir('escrow-c-out'), path.join(two, 'x.txt.coffer')]);
    expect(decrypt.code, decrypt.stderr).toBe(0);
  });
});
