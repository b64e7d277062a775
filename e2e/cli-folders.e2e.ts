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
