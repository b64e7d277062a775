/**
 * The Audit screen's adapter on real files: it acts only on a file the last scan listed that is still the
 * file it read (a renderer that names any other path, or a finding swapped for a link or rewritten since,
 * is refused and nothing is touched), a move never replaces a file, the findings and their counts survive
 * a restart, and a damaged state file only loses them. The scanner here returns a ScanReport for the
 * planted files (the real scanner is walked in e2e/app-audit-screen.e2e.ts); these tests are about the
 * adapter's checks.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FolderView } from '../../shared/contract.js';
import { randomBytes as randomBytesSync } from 'node:crypto';
import { AuditAdapter, freeName, moveNoClobber, type AuditScanner, type ScanReportLike } from './audit.js';

function folderView(id: string, p: string): FolderView {
  return {
    id,
    path: p,
    mandatory: false,
    protectedFiles: 0,
    plaintextFiles: 0,
    protectedBytes: 0,
    inTheClearFiles: 0,
    inTheClear: [],
    excludedFiles: 0,
    lastRun: null,
    runningRunId: null,
  };
}

describe('AuditAdapter', () => {
  let dir: string;
  let inbox: string;
  let vault: string;
  let stateFile: string;
  let protectedRuns: string[];
  let added: string[];
  let release: (() => void) | null;

  const reportFor = (files: string[]): ScanReportLike => ({
    files: files.map((p) => {
      const st = fs.statSync(p);
      return {
        path: p,
        protected: false,
        findings: { email: 2 },
        modified: new Date(st.mtimeMs).toISOString(),
        stale: false,
        size: st.size,
      };
    }),
    skipped: [
      { path: path.join(inbox, 'link'), kind: 'rule', reason: 'a symbolic link' },
      { path: path.join(inbox, 'broken.pdf'), kind: 'content', reason: 'the PDF is damaged' },
    ],
    summary: {
      finishedAt: new Date().toISOString(),
      cancelled: false,
      filesScanned: files.length + 1,
      filesWithFindings: files.length,
      unprotectedWithFindings: files.length,
      findings: { email: 2 * files.length },
      staleWithFindings: 0,
      retentionDays: 365,
      skipped: { rule: 1, content: 1, error: 0 },
    },
  });

  const make = (files: () => string[]) => {
    const scanner: AuditScanner = {
      scans: () => [],
      policyRoots: () => [inbox, vault],
      scan: async () => {
        if (release) await new Promise<void>((resolve) => (release = resolve));
        return reportFor(files());
      },
    };
    return new AuditAdapter({
      scanner,
      folders: {
        list: () => Promise.resolve([folderView('v1', vault)]),
        add: (p) => {
          added.push(p);
          return Promise.resolve(folderView('new', p));
        },
        protect: (id) => {
          protectedRuns.push(id);
          return Promise.resolve({ runId: `run-${id}` });
        },
      },
      file: stateFile,
    });
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-audit-adapter-'));
    inbox = path.join(dir, 'Inbox');
    vault = path.join(dir, 'Vault');
    fs.mkdirSync(inbox);
    fs.mkdirSync(vault);
    stateFile = path.join(dir, 'app', 'audit-screen.json');
    protectedRuns = [];
    added = [];
    release = null;
    for (const n of ['a.txt', 'b.txt', 'c.txt'])
      fs.writeFileSync(path.join(inbox, n), `ada@example.com ${n}`);
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const inboxFiles = () => ['a.txt', 'b.txt', 'c.txt'].map((n) => path.join(inbox, n));

  it('refuses to delete a path the last scan did not list, and before any scan', async () => {
    const outside = path.join(dir, 'keep.txt');
    fs.writeFileSync(outside, 'keep');
    const audit = make(inboxFiles);
    await expect(audit.act({ action: 'delete', path: outside })).rejects.toMatchObject({
      code: 'NOT_IN_AUDIT',
    });
    await audit.scan(undefined);
    for (const p of [outside, path.join(inbox, '..', 'keep.txt'), `${inbox}/a.txt/`, inbox]) {
      await expect(audit.act({ action: 'delete', path: p })).rejects.toMatchObject({ code: 'NOT_IN_AUDIT' });
    }
    expect(fs.readFileSync(outside, 'utf8')).toBe('keep');
  });

  it('refuses a finding swapped for a symlink, a folder, or rewritten since the scan', async () => {
    const audit = make(inboxFiles);
    await audit.scan(undefined);
    const [a, b, c] = inboxFiles() as [string, string, string];
    const victim = path.join(dir, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    fs.rmSync(a);
    fs.symlinkSync(victim, a);
    fs.rmSync(b);
    fs.mkdirSync(b);
    fs.appendFileSync(c, ' and more');
    for (const p of [a, b, c]) {
      await expect(audit.act({ action: 'delete', path: p })).rejects.toMatchObject({
        code: 'CHANGED_SINCE_AUDIT',
      });
    }
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.existsSync(c)).toBe(true);
  });

  it('deletes a listed file, drops it from the findings and the counts, and remembers that after a restart', async () => {
    const audit = make(inboxFiles);
    const first = await audit.scan(undefined);
    expect(first.files).toHaveLength(3);
    expect(first.skipped).toEqual([{ path: path.join(inbox, 'broken.pdf'), reason: 'the PDF is damaged' }]);
    const [a] = inboxFiles() as [string];
    await audit.act({ action: 'delete', path: a });
    expect(fs.existsSync(a)).toBe(false);
    const again = make(inboxFiles).view();
    expect(again.files.map((f) => f.path)).toEqual(inboxFiles().slice(1));
    expect(again.last).toMatchObject({ filesWithData: 2, unprotectedWithData: 2 });
    expect((fs.statSync(stateFile).mode & 0o777).toString(8)).toBe('600');
    await expect(make(inboxFiles).act({ action: 'delete', path: a })).rejects.toMatchObject({
      code: 'NOT_IN_AUDIT',
    });
  });

  it('moves into a protected folder without replacing a file there, then runs its protect', async () => {
    fs.writeFileSync(path.join(vault, 'a.txt'), 'already here');
    fs.writeFileSync(path.join(vault, 'a (2).txt.coffer'), 'protected namesake');
    const audit = make(inboxFiles);
    await audit.scan(undefined);
    const [a] = inboxFiles() as [string];
    const r = await audit.act({ action: 'move', path: a, folderId: 'v1' });
    expect(r.runId).toBe('run-v1');
    expect(protectedRuns).toEqual(['v1']);
    expect(fs.readFileSync(path.join(vault, 'a.txt'), 'utf8')).toBe('already here');
    expect(fs.readFileSync(path.join(vault, 'a (3).txt'), 'utf8')).toBe('ada@example.com a.txt');
    expect(fs.existsSync(a)).toBe(false);
    await expect(
      audit.act({ action: 'move', path: inboxFiles()[1] ?? '', folderId: 'nope' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a moved finding is listed at its new place until its protect run has protected it', async () => {
    const audit = make(inboxFiles);
    await audit.scan(undefined);
    const [a] = inboxFiles() as [string];
    await audit.act({ action: 'move', path: a, folderId: 'v1' });
    const moved = path.join(vault, 'a.txt');
    expect(audit.view().files.map((f) => f.path)).toContain(moved);
    expect(audit.view().files.find((f) => f.path === moved)).toMatchObject({
      folder: vault,
      protected: false,
    });
    expect(audit.view().last?.unprotectedWithData).toBe(3);
    fs.renameSync(moved, `${moved}.coffer`);
    expect(audit.view().files.map((f) => f.path)).not.toContain(moved);
    expect(audit.view().last?.unprotectedWithData).toBe(2);
  });

  it('protects the folder of a finding through add + protect; a file leaves the list once it is protected, not before', async () => {
    const audit = make(inboxFiles);
    await audit.scan(undefined);
    const r = await audit.act({ action: 'protect-folder', path: inboxFiles()[0] ?? '' });
    expect(added).toEqual([fs.realpathSync(inbox)]);
    expect(r.runId).toBe('run-new');
    // The run has not protected anything yet: all three are still in the clear, and counted.
    expect(audit.view().files.map((f) => f.path)).toEqual(inboxFiles());
    expect(audit.view().last?.unprotectedWithData).toBe(3);
    // The run protects a.txt and c.txt (the file in the clear is replaced by its .coffer); b.txt is busy
    // and left in the clear: it stays listed and counted, after a restart too.
    const [a, b, c] = inboxFiles() as [string, string, string];
    for (const p of [a, c]) fs.renameSync(p, `${p}.coffer`);
    expect(audit.view().files.map((f) => f.path)).toEqual([b]);
    expect(audit.view().last?.unprotectedWithData).toBe(1);
    expect(make(inboxFiles).view().last?.unprotectedWithData).toBe(1);
    expect(
      make(inboxFiles)
        .view()
        .files.map((f) => f.path),
    ).toEqual([b]);
  });

  it('runs one scan at a time and refuses actions while it runs; cancel says whether one ran', async () => {
    const audit = make(inboxFiles);
    await audit.scan(undefined);
    release = () => undefined;
    const running = audit.scan(undefined);
    await expect(audit.scan(undefined)).rejects.toMatchObject({ code: 'AUDIT_RUNNING' });
    await expect(audit.act({ action: 'delete', path: inboxFiles()[0] ?? '' })).rejects.toMatchObject({
      code: 'AUDIT_RUNNING',
    });
    expect(audit.view().running).toBe(true);
    expect(audit.cancel()).toBe(true);
    const go = release;
    release = null;
    go();
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(audit.cancel()).toBe(false);
    expect(fs.existsSync(inboxFiles()[0] ?? '')).toBe(true);
  });

  it('a state file grown past any real size (another process) is not read into memory', async () => {
    await make(inboxFiles).scan(undefined);
    // Valid JSON still (trailing blanks), but 40 MiB: a 4 GiB one would stall or kill the app at start.
    const fd = fs.openSync(stateFile, 'a');
    fs.writeSync(fd, Buffer.alloc(40 * 1024 * 1024, 0x20));
    fs.closeSync(fd);
    expect(make(inboxFiles).view()).toMatchObject({ last: null, files: [] });
  });

  it('a damaged state file loses the list, not the app', () => {
    fs.mkdirSync(path.dirname(stateFile), { recursive: true });
    fs.writeFileSync(stateFile, '{"version":2,"last":{"files":[{"path":1}]}}');
    expect(make(inboxFiles).view()).toMatchObject({ last: null, files: [], history: [] });
  });

  it('freeName skips names taken in the clear or protected', () => {
    fs.writeFileSync(path.join(vault, 'r.pdf.coffer'), '');
    expect(freeName(vault, 'r.pdf')).toBe(path.join(vault, 'r (2).pdf'));
    expect(freeName(vault, 'new.pdf')).toBe(path.join(vault, 'new.pdf'));
  });
});

/**
 * Attacks on the actions (adversarial review of issue 11 item 4): a compromised renderer names the path, a
 * local process races the app (swaps a parent folder for a link, adds a hard link, edits the state file in
 * app data), a confused user double-clicks. Each must leave the victim file untouched or fail with a code.
 */
describe('AuditAdapter under attack', () => {
  let dir: string;
  let inbox: string;
  let vault: string;
  let stateFile: string;
  let added: string[];
  let rescans: string[][];
  let gate: Promise<void> | null;

  const make = (files: () => string[], roots?: () => string[]) => {
    const scanner: AuditScanner = {
      scans: () => [],
      policyRoots: () => (roots ? roots() : [inbox, vault]),
      scan: async (paths) => {
        if (paths) rescans.push(paths);
        if (gate) await gate;
        const listed = files().filter(
          (p) => !paths || paths.some((q) => p === q || p.startsWith(`${q}${path.sep}`)),
        );
        return {
          files: listed.map((p) => {
            const st = fs.statSync(p);
            return {
              path: p,
              protected: p.endsWith('.coffer'),
              findings: { email: 1 },
              modified: new Date(st.mtimeMs).toISOString(),
              stale: false,
              size: st.size,
            };
          }),
          skipped: [],
          summary: {
            finishedAt: new Date().toISOString(),
            cancelled: false,
            filesScanned: listed.length,
            filesWithFindings: listed.length,
            unprotectedWithFindings: listed.length,
            findings: { email: listed.length },
            staleWithFindings: 0,
            retentionDays: 365,
            skipped: { rule: 0, content: 0, error: 0 },
          },
        };
      },
    };
    return new AuditAdapter({
      scanner,
      folders: {
        list: () => Promise.resolve([folderView('v1', vault)]),
        add: (p) => {
          added.push(p);
          return Promise.resolve(folderView('new', p));
        },
        protect: (id) => Promise.resolve({ runId: `run-${id}` }),
      },
      file: stateFile,
    });
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-audit-attack-'));
    inbox = path.join(dir, 'Inbox');
    vault = path.join(dir, 'Vault');
    fs.mkdirSync(inbox);
    fs.mkdirSync(vault);
    stateFile = path.join(dir, 'app', 'audit-screen.json');
    added = [];
    rescans = [];
    gate = null;
    fs.writeFileSync(path.join(inbox, 'a.txt'), 'ada@example.com');
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const a = () => path.join(inbox, 'a.txt');

  it('a parent folder swapped for a link after the scan: the file it now leads to is not deleted', async () => {
    const audit = make(() => [a()]);
    await audit.scan(undefined);
    const st = fs.statSync(a());
    // The racing process: the same name, size and time, in another folder, reached through the old path.
    const elsewhere = path.join(dir, 'Elsewhere');
    fs.mkdirSync(elsewhere);
    const victim = path.join(elsewhere, 'a.txt');
    fs.writeFileSync(victim, 'precious!!!!!!!');
    fs.utimesSync(victim, st.atime, st.mtime);
    fs.renameSync(inbox, path.join(dir, 'Inbox-moved'));
    fs.symlinkSync(elsewhere, inbox);
    for (const action of ['delete', 'protect-folder'] as const) {
      await expect(audit.act({ action, path: a() })).rejects.toMatchObject({ code: 'CHANGED_SINCE_AUDIT' });
    }
    await expect(audit.act({ action: 'move', path: a(), folderId: 'v1' })).rejects.toMatchObject({
      code: 'CHANGED_SINCE_AUDIT',
    });
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious!!!!!!!');
    expect(added).toEqual([]);
  });

  it('a finding with another name (hard link) is not "deleted" nor moved: its data would stay in the clear', async () => {
    const audit = make(() => [a()]);
    await audit.scan(undefined);
    const other = path.join(dir, 'copy-elsewhere.txt');
    fs.linkSync(a(), other);
    await expect(audit.act({ action: 'delete', path: a() })).rejects.toMatchObject({ code: 'HARD_LINK' });
    await expect(audit.act({ action: 'move', path: a(), folderId: 'v1' })).rejects.toMatchObject({
      code: 'HARD_LINK',
    });
    expect(fs.existsSync(a())).toBe(true);
    expect(fs.readdirSync(vault)).toEqual([]);
  });

  it('a state file edited by another process cannot name a file for main to delete or a folder to protect', async () => {
    const keep = path.join(dir, 'keep.txt');
    fs.writeFileSync(keep, 'keep me');
    await make(() => [a()]).scan(undefined);
    const st = fs.statSync(keep);
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as {
      last: { files: Record<string, unknown>[] };
    };
    const forged = {
      path: keep,
      folder: dir,
      protected: true,
      findings: { email: 1 },
      modified: st.mtimeMs,
      stale: false,
      size: st.size,
    };
    state.last.files.push(forged);
    // And the real finding's folder pointed at another folder.
    const first = state.last.files[0];
    if (first) first.folder = path.join(dir, 'Secret');
    fs.writeFileSync(stateFile, JSON.stringify(state));

    const restarted = make(() => [a()]);
    await expect(restarted.act({ action: 'delete', path: keep })).rejects.toMatchObject({
      code: 'NOT_IN_AUDIT',
    });
    expect(fs.readFileSync(keep, 'utf8')).toBe('keep me');
    await restarted.act({ action: 'protect-folder', path: a() });
    expect(added).toEqual([fs.realpathSync(inbox)]);
  });

  it('a state file that lists a file inside the audit roots with no customer data now: re-read, refused', async () => {
    await make(() => [a()]).scan(undefined);
    const plain = path.join(inbox, 'plain.txt');
    fs.writeFileSync(plain, 'nothing here');
    const st = fs.statSync(plain);
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { last: { files: unknown[] } };
    state.last.files.push({
      path: plain,
      folder: inbox,
      protected: false,
      findings: { email: 9 },
      modified: st.mtimeMs,
      stale: false,
      size: st.size,
    });
    fs.writeFileSync(stateFile, JSON.stringify(state));
    // The scanner finds customer data in a.txt only.
    const restarted = make(() => [a()]);
    await expect(restarted.act({ action: 'delete', path: plain })).rejects.toMatchObject({
      code: 'CHANGED_SINCE_AUDIT',
    });
    expect(fs.existsSync(plain)).toBe(true);
    // A genuine finding after a restart is read again, then acted on.
    await restarted.act({ action: 'delete', path: a() });
    expect(fs.existsSync(a())).toBe(false);
    expect(rescans).toEqual([[a()], [plain]].reverse());
  });

  it('a finding another program holds open is neither deleted nor moved (its later writes would be lost)', async () => {
    const audit = make(() => [a()]);
    await audit.scan(undefined);
    const holder = spawn('sh', ['-c', 'exec 3<"$1"; sleep 30', 'sh', a()], { stdio: 'ignore' });
    try {
      const pid = holder.pid ?? 0;
      const holds = () => {
        try {
          return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
            try {
              return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === a();
            } catch {
              return false;
            }
          });
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 200 && !holds(); i += 1) await new Promise((r) => setTimeout(r, 10));
      expect(holds()).toBe(true);
      await expect(audit.act({ action: 'delete', path: a() })).rejects.toMatchObject({ code: 'IN_USE' });
      await expect(audit.act({ action: 'move', path: a(), folderId: 'v1' })).rejects.toMatchObject({
        code: 'IN_USE',
      });
      expect(fs.readFileSync(a(), 'utf8')).toBe('ada@example.com');
      // Protecting its folder is not removing it: the run checks each file itself.
      await audit.act({ action: 'protect-folder', path: a() });
      expect(added).toEqual([fs.realpathSync(inbox)]);
    } finally {
      holder.kill();
    }
  });

  it('a double click on move: one move, the other refused with a code (not a raw errno)', async () => {
    const audit = make(() => [a()]);
    await audit.scan(undefined);
    const results = await Promise.allSettled([
      audit.act({ action: 'move', path: a(), folderId: 'v1' }),
      audit.act({ action: 'move', path: a(), folderId: 'v1' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const failed = results.find((r) => r.status === 'rejected');
    expect((failed?.reason as { code?: string }).code).toMatch(/^(NOT_IN_AUDIT|NOT_FOUND)$/);
    expect(fs.readdirSync(vault)).toEqual(['a.txt']);
  });

  it('a dangling link in the protected folder under the file’s name: moved beside it, nothing written through it', async () => {
    const audit = make(() => [a()]);
    await audit.scan(undefined);
    const outside = path.join(dir, 'outside.txt');
    fs.symlinkSync(outside, path.join(vault, 'a.txt'));
    await audit.act({ action: 'move', path: a(), folderId: 'v1' });
    expect(fs.existsSync(outside)).toBe(false);
    expect(fs.readFileSync(path.join(vault, 'a (2).txt'), 'utf8')).toBe('ada@example.com');
  });

  it('a protected folder swapped for a link: nothing is moved out of the protected tree', async () => {
    const audit = make(() => [a()]);
    await audit.scan(undefined);
    const elsewhere = path.join(dir, 'NotProtected');
    fs.mkdirSync(elsewhere);
    fs.rmSync(vault, { recursive: true });
    fs.symlinkSync(elsewhere, vault);
    await expect(audit.act({ action: 'move', path: a(), folderId: 'v1' })).rejects.toMatchObject({
      code: 'NOT_A_FOLDER',
    });
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    expect(fs.existsSync(a())).toBe(true);
  });

  it('a protected finding rewritten since the scan (another size) is not deleted unseen', async () => {
    const sealed = path.join(vault, 'list.csv.coffer');
    fs.writeFileSync(sealed, 'x'.repeat(100));
    const audit = make(() => [sealed]);
    await audit.scan(undefined);
    fs.writeFileSync(sealed, 'y'.repeat(400)); // saved again after edits: new content, new findings maybe
    await expect(audit.act({ action: 'delete', path: sealed })).rejects.toMatchObject({
      code: 'CHANGED_SINCE_AUDIT',
    });
    expect(fs.statSync(sealed).size).toBe(400);
  });

  it('reading a finding again after a restart is a scan: the user’s audit waits for it, not beside it', async () => {
    await make(() => [a()]).scan(undefined);
    const restarted = make(() => [a()]);
    let open = (): void => undefined;
    gate = new Promise<void>((resolve) => (open = resolve));
    const deleting = restarted.act({ action: 'delete', path: a() });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(restarted.scan(undefined)).rejects.toMatchObject({ code: 'AUDIT_RUNNING' });
    open();
    await expect(deleting).resolves.toMatchObject({ done: 'Deleted a.txt.' });
    expect(fs.existsSync(a())).toBe(false);
  });

  it('the folder the screen names in its confirmations is the one the file is in, whatever app data says', async () => {
    await make(() => [a()]).scan(undefined);
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { last: { files: { folder: string }[] } };
    for (const f of state.last.files) f.folder = path.join(dir, 'Trash');
    fs.writeFileSync(stateFile, JSON.stringify(state));
    expect(
      make(() => [a()])
        .view()
        .files.map((f) => f.folder),
    ).toEqual([inbox]);
  });

  // A full destination disk across devices: a real 1 MiB tmpfs (needs root to mount; skipped otherwise).
  const tiny = ((): string | null => {
    if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
    const at = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-tiny-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', at], { stdio: 'ignore' });
      return at;
    } catch {
      fs.rmdirSync(at);
      return null;
    }
  })();
  if (!tiny) console.warn('SKIPPED full-disk move test: cannot mount a small tmpfs here (not root on Linux)');
  afterAll(() => {
    if (!tiny) return;
    execFileSync('umount', [tiny], { stdio: 'ignore' });
    fs.rmdirSync(tiny);
  });
  it.skipIf(!tiny)('a move onto a full disk fails, leaves the source whole and no partial copy', () => {
    const dest = tiny ?? '';
    const from = path.join(inbox, 'big.bin');
    const data = randomBytesSync(3 * 1024 * 1024);
    fs.writeFileSync(from, data);
    let code: unknown;
    try {
      moveNoClobber(from, path.join(dest, 'big.bin'));
    } catch (error) {
      code = (error as { code?: unknown }).code;
    }
    expect(code).toBe('ENOSPC');
    expect(fs.readFileSync(from).equals(data)).toBe(true);
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  const shm = fs.existsSync('/dev/shm') && fs.statSync('/dev/shm').dev !== fs.statSync(os.tmpdir()).dev;
  if (!shm) console.warn('SKIPPED cross-disk move test: /dev/shm is not another file system here');
  it.skipIf(!shm)('moves across disks whole (copy, fsync, compare, then unlink), never over a file', () => {
    const src = fs.mkdtempSync('/dev/shm/coffer-audit-move-');
    try {
      const from = path.join(src, 'big.bin');
      const data = randomBytesSync(3 * 1024 * 1024 + 17);
      fs.writeFileSync(from, data);
      fs.writeFileSync(path.join(vault, 'big.bin'), 'taken');
      expect(() => {
        moveNoClobber(from, path.join(vault, 'big.bin'));
      }).toThrow();
      expect(fs.existsSync(from)).toBe(true);
      moveNoClobber(from, path.join(vault, 'big (2).bin'));
      expect(fs.existsSync(from)).toBe(false);
      expect(fs.readFileSync(path.join(vault, 'big (2).bin')).equals(data)).toBe(true);
      expect(fs.readFileSync(path.join(vault, 'big.bin'), 'utf8')).toBe('taken');
    } finally {
      fs.rmSync(src, { recursive: true, force: true });
    }
  });
});
