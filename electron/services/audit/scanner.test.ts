/**
 * AuditService on real files and real worker threads (no keychain: a device key made here): the policy keys
 * it reads, a file changed between the listing and its read, cancel, the guard rails of the walk, limits
 * that skip a huge file without reading it, and which scans become `lastScan()`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { guardRailsFor } from '../folders/guard-rails.js';
import { parsePolicy } from '../policy/schema.js';
import { DEFAULT_LIMITS } from './extract/index.js';
import { AuditService } from './scanner.js';
import type { AuditProgress } from './types.js';
import { useAuditWorld } from '../../../e2e/helpers/audit-world.js';

const world = useAuditWorld('coffer-audit');
const { temp, service, protect } = world;

describe('policy keys of the data audit', () => {
  const ctx = { parseRecoveryPublicKey: () => new Uint8Array(32), homeDir: '/home/ada' };

  it('reads auditRoots (with ~), customerDataPatterns and retentionDays', () => {
    const result = parsePolicy(
      {
        auditRoots: ['~/Exports', '/srv/share'],
        customerDataPatterns: [{ name: 'customer-id', regex: 'CUST-[0-9]{6}' }],
        retentionDays: 90,
      },
      ctx,
    );
    expect(result).toEqual({
      ok: true,
      policy: {
        auditRoots: ['/home/ada/Exports', '/srv/share'],
        customerDataPatterns: [{ name: 'customer-id', regex: 'CUST-[0-9]{6}' }],
        retentionDays: 90,
      },
    });
    // The registry gives the patterns as one JSON string.
    const fromRegistry = parsePolicy(
      { customerDataPatterns: '[{"name":"contract","regex":"K-\\\\d+"}]' },
      ctx,
    );
    expect(fromRegistry).toEqual({
      ok: true,
      policy: { customerDataPatterns: [{ name: 'contract', regex: 'K-\\d+' }] },
    });
  });

  it('a regex that does not compile, a clash with a built-in name, a relative root or 0 days is a policy problem', () => {
    const result = parsePolicy(
      {
        auditRoots: ['Exports'],
        customerDataPatterns: [
          { name: 'customer-id', regex: 'CUST-([0-9]{6}' },
          { name: 'email', regex: 'x' },
        ],
        retentionDays: 0,
      },
      ctx,
    );
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'auditRoots: must be absolute paths or start with ~',
        'customerDataPatterns.0.regex: must be a valid regular expression (JavaScript syntax, Unicode mode)',
        'customerDataPatterns.1.name: must not be the name of a built-in detector',
        expect.stringMatching(/^retentionDays: /),
      ]),
    );
  });
});

describe('AuditService', { timeout: 120_000 }, () => {
  it('a file changed between the listing and its read is skipped with its reason, not counted', async () => {
    const root = temp('changed');
    const file = path.join(root, 'list.csv');
    fs.writeFileSync(file, 'ann@example.com\n');
    fs.writeFileSync(path.join(root, 'steady.txt'), 'ben@example.com\n');
    const appHome = temp('app');
    const audit = service(appHome);
    let touched = false;
    const report = await audit.scan([root], {
      onProgress: (p: AuditProgress) => {
        // Listed, not yet read: the workers get the file as it is now.
        if (p.phase === 'reading' && !touched) {
          touched = true;
          fs.appendFileSync(file, 'cid@example.com\n');
        }
      },
    });
    await audit.close();
    expect(touched).toBe(true);
    expect(report.ok).toBe(false);
    expect(report.skipped).toEqual([
      {
        path: file,
        kind: 'error',
        code: 'FILE_CHANGED',
        reason: 'changed while the audit read it',
        protected: false,
      },
    ]);
    expect(report.files.map((f) => f.path)).toEqual([path.join(root, 'steady.txt')]);
    // Never cached: the next scan reads it, as it is now.
    const again = service(appHome);
    const next = await again.scan([root]);
    await again.close();
    expect(next.summary.fromCache).toBe(1);
    expect(next.files.find((f) => f.path === file)?.findings).toEqual({ email: 2 });
  });

  it('cancel stops the scan: reported as cancelled, not ok, and not kept as the last scan', async () => {
    const root = temp('cancel');
    for (let i = 0; i < 200; i++)
      fs.writeFileSync(path.join(root, `f${i}.txt`), `u${i}@example.com\n`.repeat(2000));
    const appHome = temp('app');
    const audit = new AuditService({
      backend: world.sodium.name,
      appHome,
      homedir: temp('home'),
      policy: () => ({ auditRoots: [root] }),
      protectedFolders: () => [],
      identities: () => Promise.resolve([]),
      guard: guardRailsFor(appHome, process.env),
      workers: 1,
    });
    const controller = new AbortController();
    const report = await audit.scan(undefined, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'reading') controller.abort();
      },
    });
    await audit.close();
    expect(report.summary.cancelled).toBe(true);
    expect(report.ok).toBe(false);
    expect(report.summary.filesScanned).toBeLessThan(200);
    expect(audit.lastScan()).toBeUndefined();
  });

  it('does not follow symlinks, skips app data, dot-folders and pipes, and never hangs on a pipe', async () => {
    const root = temp('guard');
    const outside = temp('outside');
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'out@example.com\n');
    fs.symlinkSync(outside, path.join(root, 'link'));
    const appHome = path.join(root, 'AppData');
    fs.mkdirSync(appHome);
    fs.writeFileSync(path.join(appHome, 'settings.txt'), 'app@example.com\n');
    fs.mkdirSync(path.join(root, '.cache'));
    fs.writeFileSync(path.join(root, '.cache', 'x.txt'), 'dot@example.com\n');
    execFileSync('mkfifo', [path.join(root, 'pipe.txt')]);
    fs.writeFileSync(path.join(root, 'doc.txt'), 'doc@example.com\n');
    const audit = service(appHome);
    const report = await audit.scan([root]);
    await audit.close();
    expect(report.files.map((f) => path.basename(f.path))).toEqual(['doc.txt']);
    expect(report.skipped.map((s) => [path.basename(s.path), s.kind, s.code])).toEqual([
      ['.cache', 'rule', 'HIDDEN'],
      ['AppData', 'rule', 'FORBIDDEN_PATH'],
      ['link', 'rule', 'SYMLINK'],
      ['pipe.txt', 'rule', 'SPECIAL_FILE'],
    ]);
    expect(report.ok).toBe(true);
  });

  it('a file over the read limit is skipped without being read', async () => {
    const root = temp('huge');
    // Sparse: 100 MiB that cost nothing on disk.
    const big = path.join(root, 'huge.pdf');
    fs.closeSync(fs.openSync(big, 'w'));
    fs.truncateSync(big, 100 * 1024 * 1024);
    const audit = service(temp('app'));
    const report = await audit.scan([root]);
    await audit.close();
    expect(report.skipped).toEqual([
      {
        path: big,
        kind: 'content',
        code: 'NO_TEXT',
        reason: `too large to read (over ${DEFAULT_LIMITS.maxInputBytes / 1024 / 1024} MiB)`,
        protected: false,
      },
    ]);
    expect(report.summary.bytesRead).toBe(0);
    expect(report.ok).toBe(true);
  });

  it('keeps only scans of the policy roots as lastScan, with counts only', async () => {
    const root = temp('roots');
    const vault = temp('vault');
    fs.writeFileSync(path.join(root, 'a.txt'), 'ann@example.com\n');
    protect(path.join(vault, 'b.txt'), 'ben@example.com\nGB82WEST12345698765432\n');
    const appHome = temp('app');
    const audit = service(appHome, { auditRoots: [root] }, [vault]);
    await audit.scan([root]);
    expect(audit.lastScan()).toBeUndefined();
    const report = await audit.scan(undefined);
    await audit.close();
    expect(report.summary.roots).toEqual([root, vault]);
    expect(audit.lastScan()).toEqual(report.summary);
    expect(audit.lastScan()?.findings).toEqual({ email: 2, iban: 1 });
    expect(audit.lastScan()?.findingsUnprotected).toEqual({ email: 1 });
    const stored = fs.readFileSync(path.join(appHome, 'data-audit', 'scans.json'), 'utf8');
    expect(stored).not.toContain('example.com');
    expect(fs.readFileSync(path.join(appHome, 'data-audit', 'cache.json'), 'utf8')).not.toContain(
      'example.com',
    );
  });
});
