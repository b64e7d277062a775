/**
 * Issue 10 items 1 and 5 through the real `coffer` CLI, a real Secret Service and real files: what the
 * machine needs in the clear is never protected (home, app data, keyrings, dot-folders), IT's `exclude`
 * globs hold in protect and in the watcher, and a mandatory folder cannot be dropped through a symlink or
 * by protecting and removing a parent.
 *
 * Each laptop gets a fake HOME (a temp folder) holding what a real one holds: a GNOME keyring, SSH keys,
 * shell config, and Coffer's own app data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Laptop, NO_KEYRING, sha256, tempDir } from './cli-harness.js';
import { watchChild } from './helpers/watched-child.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI guard-rail scenarios: ${NO_KEYRING}`);

interface Failure {
  path?: string;
  code: string;
  message: string;
}
interface Issue {
  path: string;
  code: string;
}
interface Doc {
  ok: boolean;
  failures?: Failure[];
  report?: { filesDone: number; skipped: Issue[] };
}

const codes = (doc: Doc): string[] => (doc.failures ?? []).map((f) => f.code);

/** Every path under `dir` with its content hash (folders as `dir/`): proves nothing was written or removed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
    const full = path.join(dir, rel);
    const stats = fs.lstatSync(full);
    out[rel] = stats.isDirectory() ? 'dir/' : `${stats.mode.toString(8)} ${sha256(full)}`;
  }
  return out;
}

/** A home folder as a user's laptop has it; Coffer's app data inside it (COFFER_HOME) unless `appData` says. */
function fakeHome(label: string): string {
  const home = fs.realpathSync(tempDir(`fakehome-${label}`));
  const write = (rel: string, content: string, mode = 0o600): void => {
    fs.mkdirSync(path.dirname(path.join(home, rel)), { recursive: true });
    fs.writeFileSync(path.join(home, rel), content, { mode });
  };
  write('.local/share/keyrings/login.keyring', 'GnomeKeyring\n\0\0 the device key lives here');
  write('.ssh/id_ed25519', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n');
  write('.bashrc', 'export PATH=$HOME/bin:$PATH\n', 0o644);
  write('Documents/quote.docx', 'a customer quote\n', 0o644);
  return home;
}

describe.skipIf(NO_KEYRING !== null)('guard rails: what Coffer never protects', () => {
  const laptops: Laptop[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of [...dirs, ...laptops.map((l) => l.home)]) fs.rmSync(d, { recursive: true, force: true });
  });

  function laptop(name: string, home: string, env: Record<string, string> = {}): Laptop {
    const l = new Laptop(name, {
      HOME: home,
      COFFER_HOME: path.join(home, '.config', 'Coffer'),
      XDG_DATA_HOME: '',
      XDG_CONFIG_HOME: '',
      ...env,
    });
    laptops.push(l);
    dirs.push(home);
    return l;
  }

  it('`coffer protect ~` refuses (FOLDER_FORBIDDEN, exit 1) and touches nothing: keyring, SSH key, .bashrc, app data', async () => {
    const home = fakeHome('tilde');
    const user = laptop('tilde', home);
    // Coffer in use: a protected folder in the registry and a device key, so app data is not empty.
    const docs = path.join(home, 'Documents');
    const first = await user.run(['protect', docs]);
    expect(first.code, first.stderr).toBe(0);
    const before = snapshot(home);
    expect(Object.keys(before)).toEqual(
      expect.arrayContaining(['.local/share/keyrings/login.keyring', '.ssh/id_ed25519', '.bashrc']),
    );

    const refused = await user.json<Doc>(['protect', home]);
    expect(refused.result.code).toBe(1);
    expect(codes(refused.doc)).toEqual(['FOLDER_FORBIDDEN']);
    expect(refused.doc.failures?.[0]?.message).toMatch(/home folder/);
    expect(snapshot(home)).toEqual(before);

    // The same through a symlink to home, and for the root of the disk.
    const link = path.join(tempDir('home-link'), 'me');
    dirs.push(path.dirname(link));
    fs.symlinkSync(home, link);
    expect(codes((await user.json<Doc>(['protect', link])).doc)).toEqual(['FOLDER_FORBIDDEN']);
    expect(codes((await user.json<Doc>(['protect', '/'])).doc)).toEqual(['FOLDER_FORBIDDEN']);
    expect(snapshot(home)).toEqual(before);
    // The registry still lists only the folder protected before.
    const status = await user.json<{ folders: { path: string }[] }>(['status']);
    expect(status.doc.folders.map((f) => f.path)).toEqual([docs]);
  });

  it('protecting the app-data folder, or a visible folder that holds it, refuses', async () => {
    const home = fakeHome('appdata');
    const appData = path.join(home, 'Work', 'coffer-data');
    const user = laptop('appdata', home, { COFFER_HOME: appData });
    fs.mkdirSync(appData, { recursive: true });
    fs.writeFileSync(path.join(home, 'Work', 'plan.txt'), 'a plan\n');
    expect((await user.run(['protect', path.join(home, 'Documents')])).code).toBe(0);
    const before = snapshot(home);
    for (const target of [appData, path.join(home, 'Work')]) {
      const refused = await user.json<Doc>(['protect', target]);
      expect(refused.result.code, target).toBe(1);
      expect(codes(refused.doc)).toEqual(['FOLDER_FORBIDDEN']);
      expect(refused.doc.failures?.[0]?.message).toMatch(/Coffer’s own data/);
    }
    expect(snapshot(home)).toEqual(before);
  });

  it('protecting a folder that contains a keyring folder refuses', async () => {
    const home = fakeHome('keyring');
    // XDG_DATA_HOME moved to a visible folder: its keyrings are still the keyring.
    const data = path.join(home, 'data');
    fs.mkdirSync(path.join(data, 'keyrings'), { recursive: true });
    fs.writeFileSync(path.join(data, 'keyrings', 'login.keyring'), 'keyring bytes');
    fs.writeFileSync(path.join(data, 'notes.txt'), 'notes\n');
    const user = laptop('keyring', home, { XDG_DATA_HOME: data });
    const before = snapshot(home);
    const refused = await user.json<Doc>(['protect', data]);
    expect(refused.result.code).toBe(1);
    expect(codes(refused.doc)).toEqual(['FOLDER_FORBIDDEN']);
    expect(refused.doc.failures?.[0]?.message).toMatch(/keyring/);
    // Inside a hidden folder (~/.local/share) too.
    const hidden = await user.json<Doc>(['protect', path.join(home, '.local', 'share')]);
    expect(codes(hidden.doc)).toEqual(['FOLDER_FORBIDDEN']);
    expect(snapshot(home)).toEqual(before);
  });

  it('a normal folder with a .git folder and dot-files: documents protected, hidden entries untouched', async () => {
    const home = fakeHome('git');
    const user = laptop('git', home);
    const project = path.join(home, 'Projects', 'site');
    fs.mkdirSync(path.join(project, '.git', 'objects'), { recursive: true });
    fs.writeFileSync(path.join(project, '.git', 'config'), '[core]\n\tbare = false\n');
    fs.writeFileSync(path.join(project, '.git', 'objects', 'ab12'), 'blob');
    fs.writeFileSync(path.join(project, '.env'), 'TOKEN=abc\n');
    fs.writeFileSync(path.join(project, 'report.txt'), 'customer report\n');
    const gitBefore = snapshot(path.join(project, '.git'));
    const envHash = sha256(path.join(project, '.env'));

    const run = await user.json<Doc>(['protect', project]);
    expect(run.result.code, run.result.stderr).toBe(0);
    expect(run.doc.report?.filesDone).toBe(1);
    expect(fs.existsSync(path.join(project, 'report.txt.coffer'))).toBe(true);
    expect(fs.existsSync(path.join(project, 'report.txt'))).toBe(false);
    expect(snapshot(path.join(project, '.git'))).toEqual(gitBefore);
    expect(sha256(path.join(project, '.env'))).toBe(envHash);
    // Reported with their reason, not silently dropped.
    expect(run.doc.report?.skipped).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: path.join(project, '.git'), code: 'HIDDEN' }),
        expect.objectContaining({ path: path.join(project, '.env'), code: 'HIDDEN' }),
      ]),
    );
  });

  it('policy `exclude`: excluded files stay in the clear in protect and in the watcher', async () => {
    const home = fakeHome('exclude');
    const policyFile = path.join(home, 'policy.json');
    fs.writeFileSync(policyFile, JSON.stringify({ exclude: ['*.pst', 'build'] }));
    const user = laptop('exclude', home, { COFFER_POLICY_FILE: policyFile });
    const dir = path.join(home, 'Mail');
    fs.mkdirSync(path.join(dir, 'build'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'archive.pst'), 'outlook archive');
    fs.writeFileSync(path.join(dir, 'build', 'out.bin'), 'generated');
    fs.writeFileSync(path.join(dir, 'letter.txt'), 'a letter\n');

    const run = await user.json<Doc>(['protect', dir]);
    expect(run.result.code, run.result.stderr).toBe(0);
    expect(
      fs
        .readdirSync(dir)
        .filter((n) => !n.startsWith('.coffer-escrow'))
        .sort(),
    ).toEqual(['archive.pst', 'build', 'letter.txt.coffer']);
    expect(fs.readdirSync(path.join(dir, 'build'))).toEqual(['out.bin']);
    expect(run.doc.report?.skipped.map((s) => `${path.basename(s.path)} ${s.code}`).sort()).toEqual([
      'archive.pst EXCLUDED',
      'build EXCLUDED',
    ]);

    // The watcher: a new excluded file stays as it is, a new document is protected.
    const child = user.spawn(['watch', dir, '--stable-ms', '150']);
    const watched = watchChild(child);
    try {
      await watched.until(() => watched.stderr.includes('Watching'), 'the watcher to start');
      const pst = path.join(dir, 'new.pst');
      const built = path.join(dir, 'build', 'new.bin');
      fs.writeFileSync(pst, 'more mail');
      fs.writeFileSync(built, 'more output');
      // Written after the excluded ones: once it is protected, the watcher has seen them all.
      const doc = path.join(dir, 'memo.txt');
      fs.writeFileSync(doc, 'a memo\n');
      await watched.until(() => fs.existsSync(doc + '.coffer'), 'the new document to be protected');
      await new Promise((r) => setTimeout(r, 800));
      expect(fs.readFileSync(pst, 'utf8')).toBe('more mail');
      expect(fs.readFileSync(built, 'utf8')).toBe('more output');
      expect(fs.existsSync(pst + '.coffer')).toBe(false);
      expect(fs.existsSync(built + '.coffer')).toBe(false);
      child.kill('SIGINT');
      expect(await watched.exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe.skipIf(NO_KEYRING !== null)('mandatory folders cannot be dropped', () => {
  const laptops: Laptop[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of [...dirs, ...laptops.map((l) => l.home)]) fs.rmSync(d, { recursive: true, force: true });
  });

  function laptopWith(name: string, policy: unknown): Laptop {
    const work = tempDir(`mandatory-${name}`);
    dirs.push(work);
    const file = path.join(work, 'policy.json');
    fs.writeFileSync(file, JSON.stringify(policy));
    const l = new Laptop(`mandatory-${name}`, { COFFER_POLICY_FILE: file });
    laptops.push(l);
    return l;
  }

  it('named through a symlink in the policy: unprotecting the real folder is POLICY_FORBIDS', async () => {
    const real = fs.realpathSync(tempDir('mandatory-real'));
    const links = tempDir('mandatory-links');
    dirs.push(real, links);
    const link = path.join(links, 'Clients');
    fs.symlinkSync(real, link);
    fs.writeFileSync(path.join(real, 'contract.txt'), 'signed\n');
    const user = laptopWith('symlink', { mandatoryFolders: [link] });
    expect((await user.run(['protect', link])).code).toBe(0);
    const status = await user.json<{ folders: { mandatory: boolean }[]; mandatoryNotProtected: string[] }>([
      'status',
    ]);
    expect(status.doc.folders.map((f) => f.mandatory)).toEqual([true]);
    expect(status.doc.mandatoryNotProtected).toEqual([]);
    for (const target of [real, link]) {
      const refused = await user.json<Doc>(['unprotect', target]);
      expect(refused.result.code, target).toBe(1);
      expect(codes(refused.doc)).toEqual(['POLICY_FORBIDS']);
    }
    expect(fs.readdirSync(real).filter((n) => !n.startsWith('.'))).toEqual(['contract.txt.coffer']);
  });

  it('protecting a parent, then unprotecting the parent, does not drop the mandatory folder inside', async () => {
    const parent = fs.realpathSync(tempDir('mandatory-parent'));
    dirs.push(parent);
    const child = path.join(parent, 'Finance');
    fs.mkdirSync(child);
    fs.writeFileSync(path.join(child, 'ledger.csv'), 'a,b\n');
    fs.writeFileSync(path.join(parent, 'other.txt'), 'other\n');
    const user = laptopWith('parent', { mandatoryFolders: [child] });
    expect((await user.run(['protect', child])).code).toBe(0);
    expect((await user.run(['protect', parent])).code).toBe(0);
    const refused = await user.json<Doc>(['unprotect', parent]);
    expect(refused.result.code).toBe(1);
    expect(codes(refused.doc)).toEqual(['POLICY_FORBIDS']);
    expect(refused.doc.failures?.[0]?.message).toContain(child);
    expect(fs.readdirSync(child).filter((n) => !n.startsWith('.'))).toEqual(['ledger.csv.coffer']);
    const status = await user.json<{ folders: { path: string }[]; mandatoryNotProtected: string[] }>([
      'status',
    ]);
    expect(status.doc.mandatoryNotProtected).toEqual([]);
    expect(status.doc.folders.map((f) => f.path)).toEqual([parent]);

    // A subfolder inside the mandatory one cannot leave either; a sibling of it can.
    fs.mkdirSync(path.join(child, '2024'));
    fs.writeFileSync(path.join(child, '2024', 'q1.csv'), 'q\n');
    fs.mkdirSync(path.join(parent, 'Other'));
    fs.writeFileSync(path.join(parent, 'Other', 'note.txt'), 'n\n');
    expect((await user.run(['protect', parent])).code).toBe(0);
    const inside = await user.json<Doc>(['unprotect', path.join(child, '2024')]);
    expect(codes(inside.doc)).toEqual(['POLICY_FORBIDS']);
    expect(fs.readdirSync(path.join(child, '2024'))).toEqual(['q1.csv.coffer']);
    const sibling = await user.run(['unprotect', path.join(parent, 'Other')]);
    expect(sibling.code, sibling.stderr).toBe(0);
    expect(fs.readdirSync(path.join(parent, 'Other'))).toEqual(['note.txt']);
  });
});
