/**
 * The data audit under attack, on real files and real worker threads (no keychain: the cache key is made
 * here): explicit paths into Coffer's app data (directly or through a symlinked parent) are refused as the
 * walk refuses them below a root; a cache edited to say "clean" costs a re-read, never a wrong count.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend, type SodiumBackend } from '../../../crypto/sodium.js';
import { guardRailsFor } from '../folders/guard-rails.js';
import { AuditService, defaultAuditRoots } from './scanner.js';

let sodium: SodiumBackend;
const dirs: string[] = [];

function temp(label: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `coffer-audit-attack-${label}-`)));
  dirs.push(dir);
  return dir;
}

function service(appHome: string, roots: string[], cacheKey?: Uint8Array): AuditService {
  return new AuditService({
    backend: sodium.name,
    appHome,
    homedir: temp('home'),
    policy: () => ({ auditRoots: roots }),
    protectedFolders: () => [],
    identities: () => Promise.resolve([]),
    guard: guardRailsFor(appHome, process.env),
    workers: 1,
    ...(cacheKey ? { cacheKey: () => Promise.resolve(cacheKey.slice()) } : {}),
  });
}

beforeAll(async () => {
  sodium = await defaultBackend();
});

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('audit scan: explicit paths and the guard rails', () => {
  it('refuses a folder or file inside app data, named directly or through a symlinked parent', async () => {
    const base = temp('guard');
    const appHome = path.join(base, 'app');
    fs.mkdirSync(path.join(appHome, 'data-audit'), { recursive: true });
    fs.writeFileSync(path.join(appHome, 'settings.json'), '{"owner":"ann@example.com"}');
    fs.writeFileSync(path.join(appHome, 'data-audit', 'notes.txt'), 'ann@example.com\n');
    fs.symlinkSync(appHome, path.join(base, 'link'));
    const audit = service(appHome, []);
    try {
      for (const p of [
        path.join(appHome, 'data-audit'),
        path.join(appHome, 'settings.json'),
        path.join(base, 'link', 'data-audit'),
        path.join(base, 'link', 'settings.json'),
      ]) {
        const report = await audit.scan([p]);
        expect(report.files, p).toEqual([]);
        expect(
          report.skipped.map((s) => [s.path, s.code]),
          p,
        ).toEqual([[p, 'FORBIDDEN_PATH']]);
      }
      // Beside app data, the same names are scanned.
      const docs = path.join(base, 'docs');
      fs.mkdirSync(docs);
      fs.writeFileSync(path.join(docs, 'settings.json'), '{"owner":"ann@example.com"}');
      const report = await audit.scan([path.join(docs, 'settings.json')]);
      expect(report.files.map((f) => f.findings)).toEqual([{ email: 1 }]);
    } finally {
      await audit.close();
    }
  });
});

describe('audit scan: the cache under attack', () => {
  it('an entry edited to "no findings" does not verify: the file is read again and counted', async () => {
    const appHome = temp('cache-app');
    const root = temp('cache-root');
    fs.writeFileSync(path.join(root, 'export.csv'), 'name,email\nAl,al@example.org\nBo,bo@example.net\n');
    const key = new Uint8Array(randomBytes(32));
    const audit = service(appHome, [root], key);
    try {
      const first = await audit.scan(undefined);
      expect(first.summary.findingsUnprotected).toEqual({ email: 2 });
      const second = await audit.scan(undefined);
      expect(second.summary.fromCache).toBe(1);

      const cacheFile = path.join(appHome, 'data-audit', 'cache.json');
      const text = fs.readFileSync(cacheFile, 'utf8');
      const edited = text.replace(/"email":2/g, '"email":0');
      expect(edited).not.toBe(text);
      fs.writeFileSync(cacheFile, edited);
      const third = await audit.scan(undefined);
      expect(third.summary.fromCache).toBe(0);
      expect(third.summary.findingsUnprotected).toEqual({ email: 2 });

      // A plain (unsigned) cache written by hand is not trusted either.
      const body = text.slice(text.indexOf('\n') + 1).replace(/"email":2/g, '"email":0');
      fs.writeFileSync(cacheFile, body);
      const fourth = await audit.scan(undefined);
      expect(fourth.summary.fromCache).toBe(0);
      expect(fourth.summary.findingsUnprotected).toEqual({ email: 2 });
    } finally {
      await audit.close();
    }
  });

  it('a keychain that fails costs the cache (every file read), never a count', async () => {
    const appHome = temp('nokey-app');
    const root = temp('nokey-root');
    fs.writeFileSync(path.join(root, 'a.txt'), 'al@example.org\n');
    const audit = new AuditService({
      backend: sodium.name,
      appHome,
      homedir: temp('home'),
      policy: () => ({ auditRoots: [root] }),
      protectedFolders: () => [],
      identities: () => Promise.resolve([]),
      guard: guardRailsFor(appHome, process.env),
      workers: 1,
      cacheKey: () => Promise.reject(new Error('keychain locked')),
    });
    try {
      for (let i = 0; i < 2; i++) {
        const report = await audit.scan(undefined);
        expect(report.summary.fromCache).toBe(0);
        expect(report.summary.findingsUnprotected).toEqual({ email: 1 });
      }
      expect(fs.existsSync(path.join(appHome, 'data-audit', 'cache.json'))).toBe(false);
    } finally {
      await audit.close();
    }
  });
  it('a FIFO or a link to /dev/zero planted as the cache or the history: the scan neither hangs nor blows up', async () => {
    const appHome = temp('fifo-app');
    const root = temp('fifo-root');
    fs.writeFileSync(path.join(root, 'a.txt'), 'al@example.org\n');
    const dir = path.join(appHome, 'data-audit');
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('mkfifo', [path.join(dir, 'cache.json'), path.join(dir, 'scans.json')]);
    const audit = service(appHome, [root], new Uint8Array(randomBytes(32)));
    try {
      const report = await audit.scan(undefined);
      expect(report.summary.findingsUnprotected).toEqual({ email: 1 });
      expect(audit.scans()).toHaveLength(1); // the FIFO was replaced, not written through
      for (const name of ['cache.json', 'scans.json']) {
        fs.rmSync(path.join(dir, name), { force: true });
        fs.symlinkSync('/dev/zero', path.join(dir, name));
      }
      const again = await audit.scan(undefined);
      expect(again.summary.findingsUnprotected).toEqual({ email: 1 });
      expect(again.summary.fromCache).toBe(0);
    } finally {
      await audit.close();
    }
  }, 30_000);
  it("the default roots are the account's home folders, whatever $HOME says", () => {
    const audit = new AuditService({
      backend: sodium.name,
      appHome: temp('home-app'),
      policy: () => ({}),
      protectedFolders: () => [],
      identities: () => Promise.resolve([]),
      guard: guardRailsFor(temp('home-guard'), process.env),
    });
    const saved = process.env.HOME;
    process.env.HOME = temp('fake-home');
    try {
      expect(audit.policyRoots()).toEqual(defaultAuditRoots(os.userInfo().homedir));
    } finally {
      process.env.HOME = saved;
    }
  });
});
