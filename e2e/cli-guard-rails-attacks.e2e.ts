/**
 * Attacks on the CLI's guard rails (issue 10 items 1 and 5), through the real `coffer` CLI, a real Secret
 * Service, real files and real child processes: unprotecting a subfolder whose name is a pattern excludes
 * exactly it, app data moved into a protected folder, a keyring folder the process does not know of, and
 * home reached through a bind mount are never encrypted. Each failed on the code before its fix.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI guard-rail attacks: ${NO_KEYRING}`);

describe.skipIf(NO_KEYRING !== null)('unprotecting a subfolder excludes exactly it', () => {
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

describe.skipIf(NO_KEYRING !== null)('app data moved into a protected folder', () => {
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

describe.skipIf(NO_KEYRING !== null)('a keyring folder the running process does not know of', () => {
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
});

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
if (NO_BIND !== null) console.warn(`SKIPPED bind-mount guard-rail attack: ${NO_BIND}`);

describe.skipIf(NO_BIND !== null)('the home folder reached through a bind mount', () => {
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
