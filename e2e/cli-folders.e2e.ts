/**
 * Issue #4 through the real `coffer` CLI and a real Secret Service: protect a folder of real files, read
 * the counts back with `status --json`, watch it pick up a new file, and unprotect it byte for byte.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Laptop, NO_KEYRING, ROOT, sha256, tempDir } from './cli-harness.js';
import { watchChild } from './helpers/watched-child.js';

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
    const watched = watchChild(child);
    try {
      await watched.until(() => watched.stderr.includes('Watching'), 'the watcher to start');
      expect(fs.existsSync(path.join(dir, 'first.txt.coffer'))).toBe(true);
      const created = path.join(dir, 'created.txt');
      fs.writeFileSync(created, 'written while watched\n');
      const hash = sha256(created);
      await watched.until(
        () => watched.stdout.includes(`protected ${created}`),
        'the new file to be protected',
      );
      expect(fs.existsSync(created)).toBe(false);
      expect(fs.existsSync(created + '.coffer')).toBe(true);
      child.kill('SIGINT');
      expect(await watched.exited).toBe(0);
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
    // The app-data record is a signed state file; its body is the plain record the copy holds.
    expect(fs.readFileSync(copyOf(one), 'utf8')).toBe(
      (JSON.parse(fs.readFileSync(path.join(a.home, 'escrow.json'), 'utf8')) as { body: string }).body,
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
    const restored = await b.json<{ restoredKeyId: string }>(
      ['restore-device', '--key', orgKey, copyOf(backup)],
      pass,
    );
    expect(restored.result.code, restored.result.stderr).toBe(0);
    expect(restored.doc.restoredKeyId).toBe(init.doc.deviceKeyId);
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
    const withCode = await c.json<{ restoredKeyId: string; newCode?: { keyId: string } }>([
      'restore-device',
      '--code',
      second.doc.code,
      copyOf(two),
    ]);
    expect(withCode.result.code, withCode.result.stderr).toBe(0);
    expect(withCode.doc.restoredKeyId).toBe(init.doc.deviceKeyId);
    expect(withCode.doc.newCode?.keyId).toBeDefined();
    const decrypt = await c.run(['decrypt', '-o', tempDir('escrow-c-out'), path.join(two, 'x.txt.coffer')]);
    expect(decrypt.code, decrypt.stderr).toBe(0);
    // About 25 CLI runs, each restore now with a fresh key, a re-wrap and a new code: give a busy machine time.
  }, 180_000);
});

interface ClearFile {
  path: string;
  code: string;
  message: string;
  hint: string;
}
interface ProtectDoc {
  ok: boolean;
  report: { filesDone: number; skipped: ClearFile[] };
  inTheClear: ClearFile[];
}
interface HonestStatusDoc {
  ok: boolean;
  inTheClearFiles: number;
  folders: {
    path: string;
    registered: boolean;
    protection: { inTheClearFiles: number; inTheClear: ClearFile[]; allProtected: boolean; excluded: number };
  }[];
  failures?: ClearFile[];
}

/** Issue 10 items 4, 7 and 8 through the real CLI: honest counts, the edit cycle, and rough edges. */
describe.skipIf(NO_KEYRING !== null)('honest state, CLI workflows and rough edges (issue 10)', () => {
  const laptop = new Laptop('honest');
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of [...dirs, laptop.home]) fs.rmSync(d, { recursive: true, force: true });
  });
  const folder = (label: string): string => {
    const dir = fs.realpathSync(tempDir(label));
    dirs.push(dir);
    return dir;
  };
  const listing = (dir: string): string[] => fs.readdirSync(dir).sort();

  it('a hard-linked file is left in the clear, listed with HARD_LINK, and fails protect and status', async () => {
    const dir = folder('hardlink');
    const outside = folder('hardlink-outside');
    fs.writeFileSync(path.join(dir, 'plain.txt'), 'fine\n');
    fs.writeFileSync(path.join(dir, 'linked.txt'), 'also readable through the other name\n');
    fs.linkSync(path.join(dir, 'linked.txt'), path.join(outside, 'other-name.txt'));

    const protect = await laptop.json<ProtectDoc>(['protect', dir]);
    expect(protect.result.code).toBe(1);
    expect(protect.doc.ok).toBe(false);
    expect(protect.doc.inTheClear.map((f) => [f.path, f.code])).toEqual([
      [path.join(dir, 'linked.txt'), 'HARD_LINK'],
    ]);
    // Not claimed protected: the plaintext is where it was, under both names.
    expect(listing(dir)).toEqual(['linked.txt', 'plain.txt.coffer']);
    expect(fs.readFileSync(path.join(outside, 'other-name.txt'), 'utf8')).toContain('readable');

    const status = await laptop.json<HonestStatusDoc>(['status', dir]);
    expect(status.result.code).toBe(1);
    expect(status.doc.ok).toBe(false);
    expect(status.doc.folders[0]?.protection).toMatchObject({ inTheClearFiles: 1, allProtected: false });
    expect(status.doc.folders[0]?.protection.inTheClear[0]).toMatchObject({ code: 'HARD_LINK' });
    const human = await laptop.run(['status', dir]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`${path.join(dir, 'linked.txt')}: HARD_LINK`);
    expect(human.stdout).toContain('1 file in the clear.');
    expect(human.stdout).not.toContain('All files protected');

    // Once the other name is gone, the file is protected and status is all green.
    fs.unlinkSync(path.join(outside, 'other-name.txt'));
    expect((await laptop.run(['protect', dir])).code).toBe(0);
    const green = await laptop.run(['status', dir]);
    expect(green.code).toBe(0);
    expect(green.stdout).toContain('All files protected');
  });

  it('lock-file rules match whole names: `~$port.docx` keeps neither Report.docx nor Export.docx in the clear', async () => {
    const dir = folder('litter');
    for (const name of ['Report.docx', 'Export.docx', '~$port.docx'])
      fs.writeFileSync(path.join(dir, name), `${name}\n`);
    const protect = await laptop.json<ProtectDoc>(['protect', dir]);
    expect(protect.result.code, protect.result.stderr).toBe(0);
    expect(protect.doc.ok).toBe(true);
    // `~$port.docx` is the lock of neither document, so it is data like any other.
    expect(listing(dir)).toEqual(['Export.docx.coffer', 'Report.docx.coffer', '~$port.docx.coffer']);
  });

  it('a document open in an editor is IN_USE (exit 1) while its lock is fresh; a stale lock keeps nothing', async () => {
    const dir = folder('in-use');
    fs.writeFileSync(path.join(dir, 'Budget.xlsx'), 'open in Excel\n');
    fs.writeFileSync(path.join(dir, '~$Budget.xlsx'), 'owner');
    fs.writeFileSync(path.join(dir, 'Minutes.docx'), 'opened in Word a day ago, which then crashed\n');
    const staleLock = path.join(dir, '~$Minutes.docx');
    fs.writeFileSync(staleLock, 'owner');
    const dayAgo = new Date(Date.now() - 24 * 3600 * 1000);
    fs.utimesSync(staleLock, dayAgo, dayAgo);

    const protect = await laptop.json<ProtectDoc>(['protect', dir]);
    expect(protect.result.code).toBe(1);
    expect(protect.doc.ok).toBe(false);
    expect(protect.doc.inTheClear.map((f) => [path.basename(f.path), f.code])).toEqual([
      ['Budget.xlsx', 'IN_USE'],
    ]);
    // The stale lock is data like any other (protected), and kept nothing in the clear.
    expect(listing(dir)).toEqual([
      'Budget.xlsx',
      'Minutes.docx.coffer',
      '~$Budget.xlsx',
      '~$Minutes.docx.coffer',
    ]);
    const status = await laptop.json<HonestStatusDoc>(['status', dir]);
    expect(status.result.code).toBe(1);
    expect(status.doc.folders[0]?.protection.inTheClear.map((f) => f.code)).toEqual(['IN_USE']);
  });

  it('decrypt, edit, protect: CONFLICT fails the run, and its hint names `encrypt --replace`, which works', async () => {
    const dir = folder('edit-cycle');
    const file = path.join(dir, 'contract.txt');
    fs.writeFileSync(file, 'version 1\n');
    expect((await laptop.run(['protect', dir])).code).toBe(0);
    expect((await laptop.run(['decrypt', file + '.coffer'])).code).toBe(0);
    fs.writeFileSync(file, 'version 2, edited\n');

    const protect = await laptop.json<ProtectDoc>(['protect', dir]);
    expect(protect.result.code).toBe(1);
    expect(protect.doc.inTheClear.map((f) => f.code)).toEqual(['CONFLICT']);
    expect(protect.doc.inTheClear[0]?.hint).toContain('coffer encrypt --replace');
    // Every hint names a real option: encrypt has no --force.
    const again = await laptop.run(['encrypt', file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('ALREADY_EXISTS');
    expect(again.stderr).toContain('--replace');
    expect(again.stderr).not.toContain('--force');

    const replace = await laptop.run(['encrypt', '--replace', file]);
    expect(replace.code, replace.stderr).toBe(0);
    expect(listing(dir).filter((n) => n !== '.coffer-escrow.json')).toEqual(['contract.txt.coffer']);
    const out = folder('edit-cycle-out');
    expect((await laptop.run(['decrypt', '-o', out, file + '.coffer'])).code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'contract.txt'), 'utf8')).toBe('version 2, edited\n');
    expect((await laptop.run(['status', dir])).code).toBe(0);
  });

  it('coffer open FILE: decrypted to the workspace, edited by $EDITOR, encrypted back, the copy wiped', async () => {
    const dir = folder('open');
    const file = path.join(dir, 'letter.txt');
    fs.writeFileSync(file, 'Dear customer,\n');
    expect((await laptop.run(['protect', dir])).code).toBe(0);
    // A real editor process: appends a line to the file it is given, as a person would, and exits.
    const editor = path.join(folder('open-editor'), 'edit.sh');
    fs.writeFileSync(editor, '#!/bin/sh\nprintf "Signed.\\n" >> "$1"\n', { mode: 0o755 });

    const opened = await laptop.json<{ ok: boolean; saved: boolean; file: string }>(['open', file], {
      EDITOR: editor,
      VISUAL: '',
    });
    expect(opened.result.code, opened.result.stderr).toBe(0);
    expect(opened.doc).toMatchObject({ ok: true, saved: true, file: file + '.coffer' });
    expect(fs.existsSync(file)).toBe(false);
    const out = folder('open-out');
    expect((await laptop.run(['decrypt', '-o', out, file + '.coffer'])).code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'letter.txt'), 'utf8')).toBe('Dear customer,\nSigned.\n');
    // Nothing of the copy is left in the workspace.
    const workspace = path.join(laptop.home, 'workspace');
    const left = fs.existsSync(workspace) ? fs.readdirSync(workspace) : [];
    expect(left).toEqual([]);
  });

  it('unprotect and status of an unknown folder say so (exit 1); forget drops a deleted folder', async () => {
    const unknown = folder('unknown');
    fs.writeFileSync(path.join(unknown, 'a.txt'), 'never protected\n');
    const unprotect = await laptop.json<{ ok: boolean; failures: ClearFile[] }>(['unprotect', unknown]);
    expect(unprotect.result.code).toBe(1);
    expect(unprotect.doc.failures.map((f) => f.code)).toEqual(['NOT_PROTECTED']);
    expect(listing(unknown)).toEqual(['a.txt']);
    const status = await laptop.json<HonestStatusDoc>(['status', unknown]);
    expect(status.result.code).toBe(1);
    expect(status.doc.failures?.map((f) => f.code)).toEqual(['NOT_PROTECTED']);

    const gone = folder('forget');
    fs.writeFileSync(path.join(gone, 'b.txt'), 'b\n');
    expect((await laptop.run(['protect', gone])).code).toBe(0);
    fs.rmSync(gone, { recursive: true });
    const forget = await laptop.json<{ ok: boolean; folder: string; exists: boolean }>(['forget', gone]);
    expect(forget.result.code, forget.result.stderr).toBe(0);
    expect(forget.doc).toMatchObject({ ok: true, folder: gone, exists: false });
    const all = await laptop.json<HonestStatusDoc>(['status']);
    expect(all.doc.folders.map((f) => f.path)).not.toContain(gone);
    const twice = await laptop.run(['forget', gone]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('NOT_PROTECTED');
  });

  it('unprotect of a subfolder excludes it: its files come back, the folder stays protected and green', async () => {
    const dir = folder('subfolder');
    fs.mkdirSync(path.join(dir, 'private'));
    fs.writeFileSync(path.join(dir, 'customer.txt'), 'customer\n');
    fs.writeFileSync(path.join(dir, 'private', 'mine.txt'), 'my own notes\n');
    expect((await laptop.run(['protect', dir])).code).toBe(0);
    const sub = path.join(dir, 'private');
    const unprotect = await laptop.json<RunDoc>(['unprotect', sub]);
    expect(unprotect.result.code, unprotect.result.stderr).toBe(0);
    expect(unprotect.doc.report).toMatchObject({ op: 'unprotect', filesDone: 1 });
    expect(listing(sub)).toEqual(['mine.txt']);
    expect(fs.existsSync(path.join(dir, 'customer.txt.coffer'))).toBe(true);
    const status = await laptop.json<HonestStatusDoc>(['status', dir]);
    expect(status.result.code).toBe(0);
    // The excluded subfolder counts once (its files are not walked), never as in the clear.
    expect(status.doc.folders[0]?.protection).toMatchObject({ allProtected: true, excluded: 1 });
    expect((await laptop.run(['protect', sub])).code).toBe(0);
    expect(listing(sub)).toEqual(['mine.txt.coffer']);
  });

  it('--version, --json usage errors, a summary line last, and local times', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const version = await laptop.run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);

    const usage = await laptop.run(['--json', 'encrypt']);
    expect(usage.code).toBe(2);
    const doc = JSON.parse(usage.stdout) as { ok: boolean; failures: { code: string }[] };
    expect(doc).toMatchObject({ ok: false, failures: [{ code: 'USAGE' }] });
    const unknown = await laptop.run(['--json', 'no-such-command']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ ok: false });

    const dir = folder('summary');
    for (const n of ['a', 'b']) fs.writeFileSync(path.join(dir, n), n);
    const encrypt = await laptop.run([
      'encrypt',
      path.join(dir, 'a'),
      path.join(dir, 'missing'),
      path.join(dir, 'b'),
    ]);
    expect(encrypt.code).toBe(1);
    expect(encrypt.stdout.trim().split('\n').at(-1)).toBe('Encrypted 2 of 3 files; 1 failed.');

    const timed = folder('local-time');
    fs.writeFileSync(path.join(timed, 'x'), 'x');
    expect((await laptop.run(['protect', timed])).code).toBe(0);
    const status = await laptop.run(['status', timed], { TZ: 'Asia/Kolkata' });
    expect(status.stdout).toMatch(/last run: {2}protect \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+05:30 ok/);
  });

  it('EPIPE ends quietly, and a batch whose reader went away still finishes', async () => {
    const dir = folder('epipe');
    fs.writeFileSync(path.join(dir, 'x'), 'x');
    expect((await laptop.run(['protect', dir])).code).toBe(0);
    // The real thing: a shell pipe into `head -1`, which exits after the first line.
    const cli = `'${process.execPath}' --import tsx '${path.join(ROOT, 'cli/main.ts')}'`;
    const piped = spawnSync('sh', ['-c', `${cli} status | head -1`], {
      cwd: ROOT,
      env: laptop.env(),
      encoding: 'utf8',
    });
    expect(piped.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(piped.stdout.split('\n').filter(Boolean)).toHaveLength(1);

    const many = folder('epipe-batch');
    const files = Array.from({ length: 40 }, (_, i) => path.join(many, `f${i}.txt`));
    for (const f of files) fs.writeFileSync(f, `file ${f}\n`);
    const child = laptop.spawn(['encrypt', ...files]);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // The reader reads one chunk and goes away: every later write of the CLI meets a broken pipe.
    child.stdout?.once('data', () => child.stdout?.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(code).toBe(0);
    for (const f of files) expect(fs.existsSync(f + '.coffer'), f).toBe(true);
  });

  it('inspect DIR inspects the files in it; decrypt -o into a missing folder names that folder', async () => {
    const dir = folder('inspect');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'a.txt'), 'a');
    fs.writeFileSync(path.join(dir, 'sub', 'b.txt'), 'b');
    expect((await laptop.run(['protect', dir])).code).toBe(0);
    const inspect = await laptop.json<{ ok: boolean; results: { path: string }[] }>(['inspect', dir]);
    expect(inspect.result.code, inspect.result.stderr).toBe(0);
    expect(inspect.doc.results.map((r) => path.relative(dir, r.path)).sort()).toEqual([
      'a.txt.coffer',
      path.join('sub', 'b.txt.coffer'),
    ]);

    const missing = path.join(folder('missing-out'), 'not-there') + '/';
    const decrypt = await laptop.json<{ failures: ClearFile[] }>([
      'decrypt',
      '-o',
      missing,
      path.join(dir, 'a.txt.coffer'),
    ]);
    expect(decrypt.result.code).toBe(1);
    expect(decrypt.doc.failures[0]).toMatchObject({ code: 'OUTPUT_FOLDER_MISSING' });
    expect(decrypt.doc.failures[0]?.message).toContain('not-there');
    expect(fs.existsSync(path.join(dir, 'a.txt.coffer'))).toBe(true);
  });

  it('a file still being written is STILL_CHANGING, never INTERNAL, and leaves no temp file', async () => {
    const dir = folder('growing');
    const file = path.join(dir, 'download.bin');
    fs.writeFileSync(file, Buffer.alloc(8 * 1024 * 1024, 1));
    // A real writer in another process, appending every few milliseconds for longer than the run.
    const writer = spawn(process.execPath, [
      '-e',
      `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(file)},'a');const end=Date.now()+8000;` +
        `const t=setInterval(()=>{fs.writeSync(fd,Buffer.alloc(65536,2));if(Date.now()>end){clearInterval(t);fs.closeSync(fd);}},5);`,
    ]);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const encrypt = await laptop.json<{ failures: ClearFile[] }>(['encrypt', file]);
      expect(encrypt.result.code).toBe(1);
      expect(encrypt.doc.failures.map((f) => f.code)).toEqual(['STILL_CHANGING']);
      expect(encrypt.result.stderr).not.toContain('.tmp-');
      expect(listing(dir)).toEqual(['download.bin']);
    } finally {
      writer.kill();
    }
  });
});
