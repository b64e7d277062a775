/**
 * Issue 11 item 3 through the real `coffer` CLI, a real Secret Service and a real policy file: `coffer report`
 * attests this laptop with the exact counts `status` knows, `coffer report verify` passes the untouched file
 * and fails each forgery with its own code (docs/REPORT.md §5), policy reportDir receives a report after a
 * protect, and a reportDir that cannot be reached never fails the protect.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signReport, type ReportFile } from '../electron/services/report/report-file.js';
import { signWithSeed } from '../electron/services/report/signing-key.js';
import { reportFileName } from '../electron/services/report/publisher.js';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI report scenarios: ${NO_KEYRING}`);

/** A report file as a forger edits it: any member may go or change. */
interface Editable {
  format: string;
  signature: string;
  signer: Record<string, unknown>;
  report: Record<string, unknown> & {
    folders: Record<string, unknown>[];
    totals: Record<string, unknown>;
  };
}

interface VerifyDoc {
  ok: boolean;
  code?: string;
  problem?: string;
  signerKeyId?: string;
  signerChecked?: boolean;
}

const SECRET_TEXT = 'IBAN DE89370400440532013000 of customer Jane Roe';

describe.skipIf(NO_KEYRING !== null)('coffer report | report verify', { timeout: 300_000 }, () => {
  const work = fs.realpathSync(tempDir('report-work'));
  const share = path.join(work, 'share');
  const folder = path.join(work, 'Customers');
  const policyFile = path.join(work, 'policy.json');
  const laptop = new Laptop('report', { COFFER_POLICY_FILE: policyFile });
  const reportFile = path.join(work, 'out', 'report.json');
  let signerKeyId = '';
  let genuine: ReportFile;
  let fromShare = '';
  /** The report the protect delivered (a later report of the same day replaces the file in the share). */
  let afterProtect: ReportFile;

  async function verify(
    file: string,
    ...args: string[]
  ): Promise<{ code: number | null; doc: VerifyDoc; stderr: string }> {
    const { result, doc } = await laptop.json<VerifyDoc>(['report', 'verify', file, ...args]);
    return { code: result.code, doc, stderr: result.stderr };
  }

  /** Writes an edited copy of the genuine report and returns its path. */
  function edited(name: string, edit: (copy: Editable) => void, dir = path.join(work, 'edits')): string {
    fs.mkdirSync(dir, { recursive: true });
    const copy = JSON.parse(JSON.stringify(genuine)) as Editable;
    edit(copy);
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(copy, null, 2));
    return file;
  }

  /** A forger's report: the genuine body changed, then signed with a fresh key of the forger's own. */
  function forged(edit: (body: ReportFile['report']) => void): Promise<ReportFile> {
    const body = JSON.parse(JSON.stringify(genuine.report)) as ReportFile['report'];
    edit(body);
    const seed = randomBytes(32);
    return signReport(body, (message) => signWithSeed(seed, message));
  }

  beforeAll(() => {
    fs.mkdirSync(share);
    fs.mkdirSync(path.join(folder, 'sub'), { recursive: true });
    fs.writeFileSync(policyFile, JSON.stringify({ reportDir: share }));
    fs.writeFileSync(path.join(folder, 'notes.txt'), SECRET_TEXT);
    fs.writeFileSync(path.join(folder, 'list.csv'), 'name,email\nJane,jane@example.com\n');
    fs.writeFileSync(path.join(folder, 'sub', 'scan.pdf'), randomBytes(5000));
  });

  afterAll(() => {
    for (const d of [work, laptop.home]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('policy reportDir receives a report after a protect, and it verifies', async () => {
    const protect = await laptop.run(['protect', folder]);
    expect(protect.code, protect.stderr).toBe(0);
    expect(protect.stderr).not.toContain('could not be written');
    const names = fs.readdirSync(share);
    const date = new Date().toISOString().slice(0, 10);
    const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');
    expect(names).toEqual([
      `coffer-report-${safe(os.hostname())}-${safe(os.userInfo().username)}-${date}.json`,
    ]);
    fromShare = path.join(share, names[0] ?? '');
    const report = JSON.parse(fs.readFileSync(fromShare, 'utf8')) as ReportFile;
    afterProtect = report;
    expect(report.report.reason).toBe('change');
    expect(report.report.totals).toEqual({
      folders: 1,
      protected: 3,
      inTheClear: 0,
      excluded: 0,
      notRecoverableByIt: 3,
    });
    const v = await verify(fromShare);
    expect(v.code, v.stderr).toBe(0);
    expect(v.doc.ok).toBe(true);
    // The audit trail says where it went.
    const log = await laptop.json<{ records: { type: string; details: Record<string, unknown> }[] }>([
      'audit',
      'log',
    ]);
    const written = log.doc.records.filter((r) => r.type === 'report-written');
    expect(written).toHaveLength(1);
    expect(written[0]?.details.file).toBe(fromShare);
  });

  it('coffer report --out holds the exact counts, the key IDs, the policy and no file name or content', async () => {
    fs.writeFileSync(path.join(folder, 'new-export.txt'), SECRET_TEXT); // a plaintext waiting in the folder
    const { result, doc } = await laptop.json<{ ok: boolean; signerKeyId: string; file: ReportFile }>([
      'report',
      '--out',
      reportFile,
    ]);
    expect(result.code, result.stderr).toBe(0);
    signerKeyId = doc.signerKeyId;
    expect(signerKeyId).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/);
    expect(result.stderr).toContain(`--expect-key ${signerKeyId}`);
    genuine = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as ReportFile;
    expect(genuine).toEqual(doc.file);
    const r = genuine.report;
    const keys = await laptop.json<{ current: { keyId: string } | null }>(['device-keys']);
    expect(r.device).toMatchObject({
      hostname: os.hostname(),
      user: os.userInfo().username,
      platform: process.platform,
      deviceKeyId: keys.doc.current?.keyId,
      deviceKeyState: 'ok',
    });
    expect(r.reason).toBe('manual');
    expect(r.recoveryKeys).toEqual({ current: [], fromPolicy: [], trustedByUser: [] });
    expect(r.folders).toEqual([
      {
        path: folder,
        mandatory: false,
        protected: 3,
        inTheClear: 1,
        inTheClearByReason: { WAITING: 1 },
        excluded: 0,
        excludedByReason: {},
        notRecoverableByIt: 3, // no organization recovery key is deployed
        headersUnreadable: 0,
        retiredKeyStanzas: 0,
        leftovers: 0,
        lastRun: { op: 'protect', at: expect.any(String) as string, outcome: 'ok' },
      },
    ]);
    expect(r.totals).toEqual({
      folders: 1,
      protected: 3,
      inTheClear: 1,
      excluded: 0,
      notRecoverableByIt: 3,
    });
    // The same counts as `coffer status` (clear-state.ts, rotation.ts coverage): one definition.
    const status = await laptop.json<{
      folders: {
        path: string;
        protection: { protectedFiles: number; inTheClearFiles: number; excluded: number };
        recovery: { notRecoverable: number };
      }[];
    }>(['status']);
    expect(
      status.doc.folders.map((f) => ({
        path: f.path,
        protected: f.protection.protectedFiles,
        inTheClear: f.protection.inTheClearFiles,
        excluded: f.protection.excluded,
        notRecoverableByIt: f.recovery.notRecoverable,
      })),
    ).toEqual(
      r.folders.map((f) => ({
        path: f.path,
        protected: f.protected,
        inTheClear: f.inTheClear,
        excluded: f.excluded,
        notRecoverableByIt: f.notRecoverableByIt,
      })),
    );
    expect(r.audit).toEqual({ state: 'none', note: 'no audit run yet' });
    expect(r.auditTrail.verified).toBe(true);
    expect(r.auditTrail.records).toBeGreaterThanOrEqual(3);
    expect(r.policy).toEqual({
      status: 'active',
      origin: policyFile,
      problems: [],
      managed: { reportDir: share },
    });
    const text = fs.readFileSync(reportFile, 'utf8');
    for (const name of ['notes.txt', 'list.csv', 'scan.pdf', 'new-export.txt', 'Jane', 'DE89']) {
      expect(text).not.toContain(name);
    }
    expect(genuine.signer.keyId).toBe(signerKeyId);
  });

  it('verify passes the untouched report, also re-indented, and checks the signer against --expect-key', async () => {
    const plain = await verify(reportFile);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.doc).toMatchObject({ ok: true, signerKeyId, signerChecked: false });
    expect(plain.stderr).toContain('the signer was not checked');
    const expected = await verify(reportFile, '--expect-key', signerKeyId.replace(/-/g, ''));
    expect(expected.code).toBe(0);
    expect(expected.doc).toMatchObject({ ok: true, signerChecked: true });
    // Without --out the report is all of stdout (`coffer report > FILE`), notes on stderr.
    const printed = await laptop.run(['report']);
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stderr).toContain('Report delivered to');
    const piped = path.join(work, 'piped.json');
    fs.writeFileSync(piped, printed.stdout);
    expect((await verify(piped, '--expect-key', signerKeyId)).code).toBe(0);
    const compact = path.join(work, 'compact.json');
    fs.writeFileSync(compact, JSON.stringify(genuine));
    expect((await verify(compact)).code).toBe(0);
  });

  it('each edit fails with its own code (docs/REPORT.md §5)', async () => {
    const cases: [string, string, string[]][] = [
      [
        edited('count.json', (c) => {
          for (const f of c.report.folders) f.inTheClear = 0;
        }),
        'REPORT_SIGNATURE_INVALID',
        [],
      ],
      [edited('total.json', (c) => (c.report.totals.notRecoverableByIt = 0)), 'REPORT_SIGNATURE_INVALID', []],
      [edited('removed.json', (c) => delete c.report.audit), 'REPORT_SIGNATURE_INVALID', []],
      [edited('added.json', (c) => (c.report.note = 'all fine')), 'REPORT_SIGNATURE_INVALID', []],
      [
        edited('swapped.json', (c) => {
          c.signature = afterProtect.signature; // the same key's signature of another report
        }),
        'REPORT_SIGNATURE_INVALID',
        [],
      ],
      [edited('no-key.json', (c) => delete c.signer.publicKey), 'REPORT_MALFORMED', []],
      [edited('float.json', (c) => (c.report.totals.protected = 2.5)), 'REPORT_MALFORMED', []],
      [edited('format.json', (c) => (c.format = 'coffer-report-2')), 'REPORT_MALFORMED', []],
      [edited('key-id.json', (c) => (c.signer.keyId = '0000-0000-0000-0000')), 'REPORT_KEY_MISMATCH', []],
      [path.join(work, 'missing.json'), 'REPORT_UNREADABLE', []],
    ];
    fs.writeFileSync(path.join(work, 'edits', 'junk.json'), '{"format": "coffer-report-1", ');
    cases.push([path.join(work, 'edits', 'junk.json'), 'REPORT_MALFORMED', []]);
    for (const [file, code] of cases) {
      const v = await verify(file);
      expect(v.code, `${path.basename(file)}: ${v.stderr}`).toBe(1);
      expect(v.doc, path.basename(file)).toMatchObject({ ok: false, code });
      expect(v.stderr).toContain(`${file}: ${code}: `);
    }
  });

  it('a report re-signed with a fresh key verifies as a signature, but not as this laptop', async () => {
    const forgery = await forged((body) => {
      for (const f of body.folders) f.inTheClear = 0;
      body.totals.inTheClear = 0;
    });
    fs.mkdirSync(path.join(work, 'forgeries'));
    const file = path.join(work, 'forgeries', 'forged.json');
    fs.writeFileSync(file, JSON.stringify(forgery, null, 2));
    // Alone, with nothing to compare: the signature holds, and the output says the signer was not checked.
    const alone = await verify(file);
    expect(alone.code).toBe(0);
    expect(alone.doc.signerChecked).toBe(false);
    // Against the key IT recorded.
    const expected = await verify(file, '--expect-key', signerKeyId);
    expect(expected.code).toBe(1);
    expect(expected.doc).toMatchObject({
      ok: false,
      code: 'REPORT_UNEXPECTED_SIGNER',
      signerKeyId: forgery.signer.keyId,
    });
    expect(expected.stderr).toContain(`not by the expected ${signerKeyId}`);
    // Dropped into reportDir beside the laptop's genuine reports: the earlier report's key is expected.
    // Under the laptop's own name (a file named for another laptop or day is REPORT_NAME_MISMATCH).
    const planted = path.join(share, reportFileName(forgery.report).replace(/\.json$/, '-forged.json'));
    fs.writeFileSync(planted, JSON.stringify({ ...forgery, report: { ...forgery.report } }, null, 2));
    const inShare = await verify(planted);
    expect(inShare.code).toBe(1);
    expect(inShare.doc).toMatchObject({ ok: false, code: 'REPORT_SIGNER_CHANGED' });
    fs.rmSync(planted);
    // The genuine report in the share is checked against itself only, and passes.
    const genuineInShare = await verify(fromShare, '--expect-key', signerKeyId);
    expect(genuineInShare.code).toBe(0);
    // A usage error for a key ID that is not one.
    const bad = await laptop.run(['report', 'verify', reportFile, '--expect-key', 'nope']);
    expect(bad.code).toBe(2);
  });

  it('an unreachable reportDir does not fail the protect: it is said, recorded, and retried', async () => {
    const away = path.join(work, 'share-not-mounted');
    const policy2 = path.join(work, 'policy2.json');
    fs.writeFileSync(policy2, JSON.stringify({ reportDir: away }));
    const other = new Laptop('report-away', { COFFER_POLICY_FILE: policy2 });
    const dir = path.join(work, 'Other');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'a.txt'), 'a');
    try {
      const protect = await other.run(['protect', dir]);
      expect(protect.code, protect.stderr).toBe(0);
      expect(protect.stderr).toContain(`could not be written to ${away}`);
      expect(fs.existsSync(away)).toBe(false); // never created: a share that is not mounted stays so
      const log = await other.json<{ records: { type: string; details: Record<string, unknown> }[] }>([
        'audit',
        'log',
      ]);
      const failed = log.doc.records.filter((r) => r.type === 'report-failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.details).toMatchObject({ reportDir: away, reason: 'change' });
      expect(String(failed[0]?.details.error)).toContain('ENOENT');
      // The share is back: the next change delivers.
      fs.mkdirSync(away);
      fs.writeFileSync(path.join(dir, 'b.txt'), 'b');
      const again = await other.run(['protect', dir]);
      expect(again.code, again.stderr).toBe(0);
      const names = fs.readdirSync(away);
      expect(names).toHaveLength(1);
      const report = JSON.parse(fs.readFileSync(path.join(away, names[0] ?? ''), 'utf8')) as ReportFile;
      expect(report.report.totals).toMatchObject({ protected: 2, inTheClear: 0 });
    } finally {
      fs.rmSync(other.home, { recursive: true, force: true });
    }
  });
  it('the last data audit is in the report: findings in files in the clear, counts only', async () => {
    const downloads = path.join(work, 'Downloads');
    fs.mkdirSync(downloads);
    fs.writeFileSync(
      path.join(downloads, 'export.csv'),
      'name,email\nAl,al@example.org\nBo,bo@example.net\n',
    );
    fs.writeFileSync(policyFile, JSON.stringify({ reportDir: share, auditRoots: [downloads] }));
    const scan = await laptop.json<{
      summary: {
        unprotectedWithFindings: number;
        findingsUnprotected: Record<string, number>;
        finishedAt: string;
      };
    }>(['audit', 'scan']);
    expect(scan.result.code, scan.result.stderr).toBe(0);
    const { result, doc } = await laptop.json<{ file: ReportFile }>(['report', '--out', reportFile]);
    expect(result.code, result.stderr).toBe(0);
    const audit = doc.file.report.audit;
    expect(audit).toEqual({
      state: 'done',
      at: scan.doc.summary.finishedAt,
      filesScanned: expect.any(Number) as number,
      filesWithFindingsOutsideProtected: scan.doc.summary.unprotectedWithFindings,
      findingsOutsideProtected: scan.doc.summary.findingsUnprotected,
    });
    // The two addresses in Downloads; the one in the protected list.csv is not outside protection.
    expect(audit.state === 'done' && audit.findingsOutsideProtected.email).toBe(2);
    const text = fs.readFileSync(reportFile, 'utf8');
    for (const value of ['al@example.org', 'bo@example.net', 'export.csv']) expect(text).not.toContain(value);
    expect((await verify(reportFile, '--expect-key', signerKeyId)).code).toBe(0);
  });
});
