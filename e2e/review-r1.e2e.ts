/**
 * Reviewer R1's attacks on issue 10 items 1, 5, 6 and issue 9 item 7, through the real `coffer` CLI, a real
 * Secret Service, real files and real child processes. Each failed on the code before its fix.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encryptFd } from '../crypto/file.js';
import { defaultBackend } from '../crypto/sodium.js';
import { parsePublicKey } from '../electron/services/keys/public-key-text.js';
import { Laptop, NO_KEYRING, sha256, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED reviewer R1 CLI attacks: ${NO_KEYRING}`);

// Raw controls a terminal acts on (LF alone ends a line and is fine).
const RAW_CONTROLS =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

describe.skipIf(NO_KEYRING !== null)('reviewer R1: coffer open', () => {
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

describe.skipIf(NO_KEYRING !== null)('reviewer R1: the editor coffer open starts', () => {
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

describe.skipIf(NO_KEYRING !== null)('reviewer R1: coffer open of names Windows reads as programs', () => {
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

describe.skipIf(NO_KEYRING !== null)('reviewer R1: unprotecting a subfolder excludes exactly it', () => {
  const work = fs.realpathSync(tempDir('r1-sub'));
  const laptop = new Laptop('r1-sub');
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(laptop.home, { recursive: true, force: true });
  });

  it('a subfolder named `draft*` or `Private` (beside `drafts-final`, `private`): its siblings stay protected', async () => {
    const docs = path.join(work, 'Docs');
    for (const sub of ['draft*', 'drafts-final', 'Private', 'private', 'Q?'])
      fs.mkdirSync(path.join(docs, sub), { recursive: true });
    fs.mkdirSync(path.join(docs, 'QA'));
    const protect = await laptop.run(['protect', docs]);
    expect(protect.code, protect.stderr).toBe(0);
    for (const sub of ['draft*', 'Private', 'Q?']) {
      const r = await laptop.run(['unprotect', path.join(docs, sub)]);
      expect(r.code, r.stderr).toBe(0);
    }
    // New documents in the siblings, which were never unprotected.
    for (const sub of ['drafts-final', 'private', 'QA'])
      fs.writeFileSync(path.join(docs, sub, 'contract.txt'), `${sub}\n`);
    const again = await laptop.json<{ ok: boolean; report: { skipped: { path: string; code: string }[] } }>([
      'protect',
      docs,
    ]);
    expect(
      again.doc.report.skipped
        .filter((s) => s.code === 'EXCLUDED')
        .map((s) => path.basename(s.path))
        .sort(),
    ).toEqual(['Private', 'Q?', 'draft*'].sort());
    for (const sub of ['drafts-final', 'private', 'QA'])
      expect(fs.existsSync(path.join(docs, sub, 'contract.txt.coffer')), sub).toBe(true);
    expect(again.doc.ok).toBe(true);
  }, 120_000);
});

describe('reviewer R1: usage errors quote arguments escaped', () => {
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

describe.skipIf(NO_KEYRING !== null)(
  'reviewer R1: recover --force and a link named like the stored name',
  () => {
    const work = fs.realpathSync(tempDir('r1-recover'));
    const helpdesk = new Laptop('r1-recover-helpdesk');
    const laptop = new Laptop('r1-recover-laptop');
    const pass = { COFFER_PASSPHRASE: 'correct horse battery staple' };
    afterAll(() => {
      for (const d of [work, helpdesk.home, laptop.home]) fs.rmSync(d, { recursive: true, force: true });
    });

    it('replaces the link itself, never the .coffer file it points to', async () => {
      const orgKey = path.join(work, 'org.key');
      const keygen = await helpdesk.json<{ publicKey: string }>(
        ['recovery', 'keygen', '--out', orgKey],
        pass,
      );
      expect(keygen.result.code, keygen.result.stderr).toBe(0);
      expect((await laptop.run(['recovery', 'trust', keygen.doc.publicKey])).code).toBe(0);
      const folder = path.join(work, 'case');
      fs.mkdirSync(folder);
      const victim = path.join(folder, 'contract.docx');
      fs.writeFileSync(victim, 'the signed contract\n');
      expect((await laptop.run(['encrypt', victim])).code).toBe(0);
      const before = sha256(`${victim}.coffer`);
      fs.symlinkSync(`${victim}.coffer`, path.join(folder, 'report.txt'));

      const sodium = await defaultBackend();
      const hostile = path.join(folder, 'invoice.coffer');
      const plain = path.join(work, 'payload');
      fs.writeFileSync(plain, 'attacker bytes\n');
      const inFd = fs.openSync(plain, 'r');
      const outFd = fs.openSync(hostile, 'wx');
      try {
        encryptFd(sodium, inFd, outFd, {
          recipients: [{ kind: 'recovery', publicKey: parsePublicKey(sodium, keygen.doc.publicKey) }],
          name: 'report.txt',
        });
      } finally {
        fs.closeSync(inFd);
        fs.closeSync(outFd);
      }
      const r = await helpdesk.run(['recover', '--force', '--key', orgKey, hostile], pass);
      expect(r.code, r.stderr).toBe(0);
      expect(sha256(`${victim}.coffer`)).toBe(before);
      expect(fs.lstatSync(path.join(folder, 'report.txt')).isFile()).toBe(true);
      expect(fs.readFileSync(path.join(folder, 'report.txt'), 'utf8')).toBe('attacker bytes\n');
      expect((await laptop.run(['verify', `${victim}.coffer`])).code).toBe(0);
    }, 120_000);
  },
);

describe.skipIf(NO_KEYRING !== null)('reviewer R1: app data moved into a protected folder', () => {
  const work = fs.realpathSync(tempDir('r1-apphome'));
  const laptop = new Laptop('r1-apphome');
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(laptop.home, { recursive: true, force: true });
  });

  it('COFFER_HOME moved inside a protected folder: protect refuses (FOLDER_FORBIDDEN), nothing in it is encrypted', async () => {
    const docs = path.join(work, 'Docs');
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'quote.txt'), 'a quote\n');
    expect((await laptop.run(['protect', docs])).code).toBe(0);
    // The user moves Coffer's data into the protected folder and points COFFER_HOME at it.
    const moved = path.join(docs, 'CofferData');
    fs.cpSync(laptop.home, moved, { recursive: true });
    const env = { COFFER_HOME: moved };
    fs.writeFileSync(path.join(docs, 'late.txt'), 'late\n');
    const again = await laptop.json<{ ok: boolean; failures?: { code: string }[] }>(['protect', docs], env);
    expect(again.result.code).toBe(1);
    expect(again.doc.failures?.map((f) => f.code)).toEqual(['FOLDER_FORBIDDEN']);
    const status = await laptop.run(['status'], env);
    expect(status.stdout + status.stderr).not.toMatch(/INTERNAL/);
    const inData = (fs.readdirSync(moved, { recursive: true }) as string[]).filter((n) =>
      n.endsWith('.coffer'),
    );
    expect(inData).toEqual([]);
  }, 120_000);
});

describe.skipIf(NO_KEYRING !== null)(
  'reviewer R1: a keyring folder the running process does not know of',
  () => {
    const work = fs.realpathSync(tempDir('r1-keyring'));
    const laptop = new Laptop('r1-keyring');
    afterAll(() => {
      fs.rmSync(work, { recursive: true, force: true });
      fs.rmSync(laptop.home, { recursive: true, force: true });
    });

    it('a GNOME keyring folder inside the folder (the desktop XDG_DATA_HOME, not this shell one) is never encrypted', async () => {
      const docs = path.join(work, 'Docs');
      const keyrings = path.join(docs, 'data', 'keyrings');
      fs.mkdirSync(keyrings, { recursive: true });
      fs.writeFileSync(path.join(keyrings, 'login.keyring'), 'GnomeKeyring\n\0 the device key');
      fs.writeFileSync(path.join(keyrings, 'user.keystore'), 'more');
      fs.writeFileSync(path.join(docs, 'data', 'notes.txt'), 'a document beside it\n');
      // Run from cron, ssh or sudo: this process's XDG_DATA_HOME is not the one the keyring daemon uses.
      const run = await laptop.json<{ report: { skipped: { path: string; code: string }[] } }>(
        ['protect', docs],
        {
          XDG_DATA_HOME: '',
        },
      );
      expect(fs.existsSync(path.join(docs, 'data', 'notes.txt.coffer'))).toBe(true);
      expect(fs.readdirSync(keyrings).sort()).toEqual(['login.keyring', 'user.keystore']);
      expect(run.doc.report, JSON.stringify(run)).toBeDefined();
      expect(run.doc.report.skipped.find((s) => s.path === keyrings)?.code).toBe('FORBIDDEN_PATH');
    }, 120_000);
  },
);

/** Whether this process may bind-mount (root with CAP_SYS_ADMIN, as in the CI container); else why not. */
function bindMountUnavailable(): string | null {
  const probe = fs.mkdtempSync(path.join(fs.realpathSync(tempDir('r1-probe')), 'p-'));
  try {
    fs.mkdirSync(path.join(probe, 'a'));
    fs.mkdirSync(path.join(probe, 'b'));
    execFileSync('mount', ['--bind', path.join(probe, 'a'), path.join(probe, 'b')], { stdio: 'ignore' });
    execFileSync('umount', [path.join(probe, 'b')], { stdio: 'ignore' });
    return null;
  } catch (error) {
    return `cannot bind-mount here (${(error as Error).message.split('\n')[0] ?? ''})`;
  } finally {
    fs.rmSync(path.dirname(probe), { recursive: true, force: true });
  }
}
const NO_BIND = NO_KEYRING ?? bindMountUnavailable();
if (NO_BIND !== null) console.warn(`SKIPPED R1 bind-mount attack: ${NO_BIND}`);

describe.skipIf(NO_BIND !== null)('reviewer R1: the home folder reached through a bind mount', () => {
  const work = fs.realpathSync(tempDir('r1-bind'));
  const home = path.join(work, 'home');
  const laptop = new Laptop('r1-bind', {
    HOME: home,
    COFFER_HOME: path.join(home, 'CofferData'),
    XDG_DATA_HOME: '',
  });
  const mounts: string[] = [];
  afterAll(() => {
    for (const m of mounts.reverse()) execFileSync('umount', [m], { stdio: 'ignore' });
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(laptop.home, { recursive: true, force: true });
  });

  function bind(from: string, to: string): void {
    fs.mkdirSync(to, { recursive: true });
    execFileSync('mount', ['--bind', from, to]);
    mounts.push(to);
  }

  it('protecting a bind mount of home, or a folder holding one, touches nothing of home', async () => {
    fs.mkdirSync(path.join(home, 'Documents'), { recursive: true });
    fs.mkdirSync(path.join(home, 'CofferData'), { recursive: true });
    fs.writeFileSync(path.join(home, 'Documents', 'quote.txt'), 'a quote\n');
    fs.writeFileSync(path.join(home, 'notes.txt'), 'home notes\n');
    // Home's own files (Coffer's data in it changes with every run, by design).
    const homeFiles = (): string[] =>
      (fs.readdirSync(home, { recursive: true }) as string[])
        .filter((n) => !n.startsWith('CofferData'))
        .sort();
    const before = homeFiles();
    const homeBind = path.join(work, 'mnt', 'homebind');
    bind(home, homeBind);
    const direct = await laptop.json<{ failures?: { code: string }[] }>(['protect', homeBind]);
    expect(direct.result.code, direct.result.stdout).toBe(1);
    expect(direct.doc.failures?.map((f) => f.code)).toEqual(['FOLDER_FORBIDDEN']);

    const docs = path.join(work, 'Docs');
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, 'contract.txt'), 'signed\n');
    bind(home, path.join(docs, 'home-mirror'));
    const around = await laptop.json<{ report?: { skipped: { path: string; code: string }[] } }>([
      'protect',
      docs,
    ]);
    expect(fs.existsSync(path.join(docs, 'contract.txt.coffer'))).toBe(true);
    expect(homeFiles()).toEqual(before);
    expect(fs.readFileSync(path.join(home, 'notes.txt'), 'utf8')).toBe('home notes\n');
    expect(around.doc.report?.skipped.find((s) => s.path.endsWith('home-mirror'))?.code).toBe(
      'FORBIDDEN_PATH',
    );
  }, 120_000);
});
