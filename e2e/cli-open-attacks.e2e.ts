/**
 * Attacks on `coffer open` (issue 10 item 6) and on what the CLI prints, through the real `coffer` CLI, a
 * real Secret Service, real files and real child processes: a script or a name Windows reads as a program
 * is never handed to the OS opener, the editor never inherits the passphrase, and names from disk (or from
 * a glob, in a usage error) reach the terminal escaped. Each failed on the code before its fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Laptop, NO_KEYRING, sha256, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED coffer open attacks: ${NO_KEYRING}`);

// Raw controls a terminal acts on (LF alone ends a line and is fine).
const RAW_CONTROLS =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

describe.skipIf(NO_KEYRING !== null)('coffer open', () => {
  const work = fs.realpathSync(tempDir('r1-open'));
  const laptop = new Laptop('r1-open');
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(laptop.home, { recursive: true, force: true });
  });

  /** A fake `xdg-open` first on PATH that records what it was asked to open (it opens nothing). */
  function fakeOpener(): { env: Record<string, string>; log: string } {
    const bin = path.join(work, `bin-${Math.random().toString(16).slice(2)}`);
    fs.mkdirSync(bin);
    const log = path.join(bin, 'opened.log');
    for (const name of ['xdg-open', 'open', 'explorer.exe'])
      fs.writeFileSync(path.join(bin, name), `#!/bin/sh\nprintf '%s\\n' "$@" >> '${log}'\n`, { mode: 0o755 });
    return { env: { PATH: `${bin}:${process.env.PATH ?? ''}`, VISUAL: '', EDITOR: '' }, log };
  }

  it('a script is never handed to the OS opener (which runs it); a document is', async () => {
    const dir = path.join(work, 'docs');
    fs.mkdirSync(dir);
    const script = path.join(dir, 'payroll.sh');
    fs.writeFileSync(script, '#!/bin/sh\ntouch "$HOME/PWNED"\n', { mode: 0o755 });
    const doc = path.join(dir, 'notes.txt');
    fs.writeFileSync(doc, 'meeting notes\n');
    for (const f of [script, doc]) {
      const r = await laptop.run(['encrypt', f]);
      expect(r.code, r.stderr).toBe(0);
    }

    // The control: a document goes to the opener, so the fake is what the CLI runs.
    const control = fakeOpener();
    const opened = await laptop.run(['open', `${doc}.coffer`], control.env, '\n');
    expect(opened.code, opened.stderr).toBe(0);
    expect(fs.readFileSync(control.log, 'utf8')).toContain('notes.txt');

    const attack = fakeOpener();
    const run = await laptop.run(['open', `${script}.coffer`], attack.env, '\n');
    expect(run.code, run.stderr).toBe(0);
    expect(fs.existsSync(attack.log), 'xdg-open was asked to open the script').toBe(false);
    expect(run.stderr).toMatch(/runs? (it|programs)|program or script/i);
    // Nothing was lost: the protected file is still there and no plaintext is left beside it.
    expect(fs.existsSync(`${script}.coffer`)).toBe(true);
    expect(fs.existsSync(script)).toBe(false);
  }, 120_000);

  it('names from disk reach the terminal escaped (open: "Opened", "Saved", "No changes")', async () => {
    const dir = path.join(work, 'hostile');
    fs.mkdirSync(dir);
    const hostile = path.join(dir, 'q\u001b]0;owned\u0007\u001b[2K\r\u202efdp.txt');
    fs.writeFileSync(hostile, 'customer data\n');
    const enc = await laptop.run(['encrypt', hostile]);
    expect(enc.code, enc.stderr).toBe(0);
    const quiet = fakeOpener();
    const viaOpener = await laptop.run(['open', `${hostile}.coffer`], quiet.env, '\n');
    expect(viaOpener.code, viaOpener.stderr).toBe(0);
    expect(viaOpener.stdout + viaOpener.stderr).not.toMatch(RAW_CONTROLS);
    const viaEditor = await laptop.run(['open', `${hostile}.coffer`], { EDITOR: 'true', VISUAL: '' });
    expect(viaEditor.code, viaEditor.stderr).toBe(0);
    expect(viaEditor.stdout + viaEditor.stderr).not.toMatch(RAW_CONTROLS);
    expect(viaEditor.stdout).toContain('\\u{1B}]0;owned');
    expect(sha256(`${hostile}.coffer`)).toMatch(/^[0-9a-f]{64}$/);
  }, 120_000);
});

describe.skipIf(NO_KEYRING !== null)('the editor coffer open starts', () => {
  const work = fs.realpathSync(tempDir('r1-editor'));
  const laptop = new Laptop('r1-editor');
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(laptop.home, { recursive: true, force: true });
  });

  it('never inherits COFFER_PASSPHRASE (the editor is any program the user set)', async () => {
    const file = path.join(work, 'notes.txt');
    fs.writeFileSync(file, 'notes\n');
    expect((await laptop.run(['encrypt', file])).code).toBe(0);
    const dump = path.join(work, 'editor-env.txt');
    const editor = path.join(work, 'editor.sh');
    fs.writeFileSync(editor, `#!/bin/sh\nenv > '${dump}'\n`, { mode: 0o755 });
    const run = await laptop.run(['open', `${file}.coffer`], {
      EDITOR: editor,
      VISUAL: '',
      COFFER_PASSPHRASE: 'correct horse battery staple',
    });
    expect(run.code, run.stderr).toBe(0);
    const env = fs.readFileSync(dump, 'utf8');
    expect(env).toContain('COFFER_HOME='); // the editor ran with Coffer's environment ...
    expect(env).not.toContain('COFFER_PASSPHRASE'); // ... minus the secret
    expect(env).not.toContain('correct horse');
  }, 60_000);
});

describe.skipIf(NO_KEYRING !== null)('coffer open of names Windows reads as programs', () => {
  const work = fs.realpathSync(tempDir('r1-names'));
  const laptop = new Laptop('r1-names');
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(laptop.home, { recursive: true, force: true });
  });

  it('`invoice.exe ` / `invoice.exe.` / a stream name / .chm .iso .jnlp: revealed, never opened', async () => {
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin);
    const log = path.join(bin, 'opened.log');
    fs.writeFileSync(path.join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$@" >> '${log}'\n`, {
      mode: 0o755,
    });
    const env = { PATH: `${bin}:${process.env.PATH ?? ''}`, VISUAL: '', EDITOR: '' };
    const dir = path.join(work, 'docs');
    fs.mkdirSync(dir);
    // Mode 644: only the name can make these programs.
    for (const name of [
      'invoice.exe ',
      'invoice.EXE.',
      'invoice.exe::$DATA',
      'help.chm',
      'setup.iso',
      'app.jnlp',
    ]) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, 'MZ\n', { mode: 0o644 });
      const enc = await laptop.run(['encrypt', file]);
      expect(enc.code, enc.stderr).toBe(0);
      const run = await laptop.run(['open', `${file}.coffer`], env, '\n');
      expect(run.code, run.stderr).toBe(0);
      expect(
        fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '',
        `${JSON.stringify(name)} was handed to the OS`,
      ).toBe('');
    }
  }, 180_000);
});

describe('usage errors quote arguments escaped', () => {
  it('a file named `-<ESC>]0;owned<BEL>.coffer` given by a glob: the unknown-option error shows it escaped', async () => {
    const laptop = new Laptop('r1-usage');
    try {
      const r = await laptop.run(['decrypt', '-\u001b]0;owned\u0007\u001b[2J.coffer']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('\\u{1B}]0;owned');
      expect(r.stdout + r.stderr).not.toMatch(RAW_CONTROLS);
    } finally {
      fs.rmSync(laptop.home, { recursive: true, force: true });
    }
  }, 60_000);
});
