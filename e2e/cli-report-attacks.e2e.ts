/**
 * Attacks on `coffer report verify` (issue 11 item 3, docs/REPORT.md §2 and §5), through the real CLI with a
 * real keychain and a real reportDir: someone who can write the share but holds no key of the laptop plants
 * files beside its reports, and a forger edits the text of a genuine report so that people or other JSON
 * tools read something else than what was signed. Each must end in a REPORT_* failure, never in "verified".
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signReport, type ReportFile } from '../electron/services/report/report-file.js';
import { signWithSeed } from '../electron/services/report/signing-key.js';
import { reportFilePrefix, reportText } from '../electron/services/report/publisher.js';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI report attack scenarios: ${NO_KEYRING}`);

interface VerifyDoc {
  ok: boolean;
  code?: string;
  problem?: string;
  signerKeyId?: string;
  signerChecked?: boolean;
}

describe.skipIf(NO_KEYRING !== null)('coffer report verify under attack', { timeout: 300_000 }, () => {
  const work = fs.realpathSync(tempDir('report-attacks'));
  const share = path.join(work, 'share');
  const folder = path.join(work, 'Customers');
  const policyFile = path.join(work, 'policy.json');
  const laptop = new Laptop('report-attacks', { COFFER_POLICY_FILE: policyFile });
  let genuineFile = '';
  let genuine: ReportFile;
  let genuineText = '';
  let keyId = '';
  let prefix = '';
  /** One forger's key for all forgeries: what a thief without the laptop's keychain would make. */
  const forgerSeed = randomBytes(32);

  async function verify(file: string, ...args: string[]): Promise<{ code: number | null; doc: VerifyDoc }> {
    const { result, doc } = await laptop.json<VerifyDoc>(['report', 'verify', file, ...args]);
    return { code: result.code, doc };
  }

  function forge(edit: (body: ReportFile['report']) => void): Promise<ReportFile> {
    const body = structuredClone(genuine.report);
    edit(body);
    return signReport(body, (message) => signWithSeed(forgerSeed, message));
  }

  /** Removes what a test planted in the share, keeping the genuine report. */
  function cleanShare(): void {
    for (const name of fs.readdirSync(share)) {
      if (path.join(share, name) !== genuineFile) fs.rmSync(path.join(share, name), { force: true });
    }
  }

  beforeAll(async () => {
    fs.mkdirSync(share);
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'customers.csv'), 'name,iban\nJane,DE89370400440532013000\n');
    fs.writeFileSync(policyFile, JSON.stringify({ reportDir: share }));
    const protect = await laptop.run(['protect', folder]);
    expect(protect.code, protect.stderr).toBe(0);
    // A file dropped into the protected folder afterwards: the next report says 1 in the clear.
    fs.writeFileSync(path.join(folder, 'export.csv'), 'name\nJohn\n');
    const report = await laptop.run(['report']);
    expect(report.code, report.stderr).toBe(0);
    const names = fs.readdirSync(share);
    expect(names).toHaveLength(1);
    genuineFile = path.join(share, names[0] ?? '');
    genuineText = fs.readFileSync(genuineFile, 'utf8');
    genuine = JSON.parse(genuineText) as ReportFile;
    keyId = genuine.signer.keyId;
    prefix = reportFilePrefix(genuine.report);
    expect(genuine.report.totals.inTheClear).toBe(1);
    const ok = await verify(genuineFile);
    expect(ok.doc).toMatchObject({ ok: true, signerKeyId: keyId });
  });

  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(laptop.home, { recursive: true, force: true });
  });

  it('an older-dated report planted under the laptop name with another key does not vouch for a forgery', async () => {
    // The forger backdates a report of their own key (createdAt is whatever the signer says)…
    const seedReport = await forge((body) => {
      body.createdAt = '2020-01-01T00:00:00.000Z';
    });
    fs.writeFileSync(path.join(share, `${prefix}2020-01-01.json`), reportText(seedReport));
    // …then a "nothing in the clear" report for tomorrow, signed with the same key.
    const forgery = await forge((body) => {
      body.createdAt = '2099-01-01T00:00:00.000Z';
      for (const f of body.folders) f.inTheClear = 0;
      body.totals.inTheClear = 0;
    });
    const forged = path.join(share, `${prefix}2099-01-01.json`);
    fs.writeFileSync(forged, reportText(forgery));
    try {
      const v = await verify(forged);
      expect(v.code).toBe(1);
      expect(v.doc).toMatchObject({ ok: false, code: 'REPORT_SIGNER_CHANGED' });
      // Two keys for one laptop in the folder: no report of it is vouched for by the others any more.
      const g = await verify(genuineFile);
      expect(g.doc).toMatchObject({ ok: false, code: 'REPORT_SIGNER_CHANGED' });
      // IT's recorded key still tells them apart.
      expect((await verify(genuineFile, '--expect-key', keyId)).doc).toMatchObject({ ok: true });
    } finally {
      cleanShare();
    }
  });

  it('a host and user name that differ only in case are the same laptop (Windows names ignore case)', async () => {
    const forgery = await forge((body) => {
      body.device.hostname = body.device.hostname.toUpperCase();
      body.device.user = body.device.user.toUpperCase();
      body.createdAt = '2099-01-01T00:00:00.000Z';
      body.totals.inTheClear = 0;
    });
    expect(reportFilePrefix(forgery.report)).not.toBe(prefix);
    const forged = path.join(share, `${reportFilePrefix(forgery.report)}2099-01-01.json`);
    fs.writeFileSync(forged, reportText(forgery));
    try {
      const v = await verify(forged);
      expect(v.code).toBe(1);
      expect(v.doc).toMatchObject({ ok: false, code: 'REPORT_SIGNER_CHANGED' });
    } finally {
      cleanShare();
    }
  });

  it("a report whose host or user is not the one its file name says fails (it would take the laptop's slot)", async () => {
    const forgery = await forge((body) => {
      body.device.hostname = `${body.device.hostname}\u200b`; // zero-width space: invisible on screen
      body.totals.inTheClear = 0;
    });
    // Saved under the genuine laptop's own name for tomorrow: IT would pick it as the newest.
    const forged = path.join(share, `${prefix}2099-01-01.json`);
    fs.writeFileSync(forged, reportText(forgery));
    try {
      const v = await verify(forged);
      expect(v.code).toBe(1);
      expect(v.doc).toMatchObject({ ok: false, code: 'REPORT_NAME_MISMATCH' });
      // A genuine report replayed under a later day's name (to hide what the real later one says).
      fs.rmSync(forged);
      fs.copyFileSync(genuineFile, forged);
      const replay = await verify(forged, '--expect-key', keyId);
      expect(replay.code).toBe(1);
      expect(replay.doc).toMatchObject({ ok: false, code: 'REPORT_NAME_MISMATCH' });
    } finally {
      cleanShare();
    }
  });

  it('the text must say what was signed: duplicate members and non-integer number forms are malformed', async () => {
    const dir = path.join(work, 'edits');
    fs.mkdirSync(dir, { recursive: true });
    const totals = /"totals": \{\n(\s+)"folders": (\d+),\n\s+"protected": (\d+),\n\s+"inTheClear": 1,/;
    expect(genuineText).toMatch(totals);
    const edits: [string, string][] = [
      // A first-wins reader (or a person reading down the file) sees 0; JSON.parse keeps the signed 1.
      ['duplicate', genuineText.replace('"totals": {\n', '"totals": {\n    "inTheClear": 0,\n')],
      // The same number to JSON.parse, another to a person or a decimal parser.
      ['fraction', genuineText.replace(/("totals": \{[^}]*"inTheClear": )1,/, '$10.99999999999999999,')],
      ['exponent', genuineText.replace(/("totals": \{[^}]*"inTheClear": )1,/, '$10.1e1,')],
      ['duplicate-top', genuineText.replace('{\n', '{\n  "signature": "AAAA",\n')],
    ];
    for (const [label, text] of edits) {
      expect(text, label).not.toBe(genuineText);
      const file = path.join(dir, `${label}.json`);
      fs.writeFileSync(file, text);
      // Today's JSON.parse reads each as the signed report.
      expect((JSON.parse(text) as ReportFile).report.totals.inTheClear, label).toBe(1);
      const v = await verify(file, '--expect-key', keyId);
      expect(v.code, label).toBe(1);
      expect(v.doc, label).toMatchObject({ ok: false, code: 'REPORT_MALFORMED' });
    }
    // Re-indented, it still verifies (white space is not signed, §2).
    const compact = path.join(dir, 'compact.json');
    fs.writeFileSync(compact, JSON.stringify(genuine));
    expect((await verify(compact, '--expect-key', keyId)).doc).toMatchObject({ ok: true });
  });

  it('a pipe or a huge file planted under the laptop name does not hang or exhaust verify', async () => {
    const fifo = path.join(share, `${prefix}2020-01-01.json`);
    execFileSync('mkfifo', [fifo]);
    const huge = path.join(share, `${prefix}2020-01-02.json`);
    fs.writeFileSync(huge, Buffer.alloc(64 * 1024 * 1024, 0x20));
    try {
      const child = laptop.spawn(['--json', 'report', 'verify', genuineFile]);
      let stdout = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, 30_000);
        child.on('close', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code, 'verify hung on a pipe in the share').toBe(0);
      // Neither planted file is a report to compare with: the genuine one stands alone.
      expect(JSON.parse(stdout)).toMatchObject({ ok: true, signerKeyId: keyId, signerChecked: false });
      // The huge file itself is refused without being read whole.
      const v = await verify(huge);
      expect(v.doc).toMatchObject({ ok: false, code: 'REPORT_MALFORMED' });
    } finally {
      cleanShare();
    }
  });
  it("a forged host name cannot print lines of verify's own (a line break in it stays visible)", async () => {
    const forgery = await forge((body) => {
      body.device.hostname = 'x\n  signer checked against --expect-key';
    });
    const dir = path.join(work, 'lines');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'last.json');
    fs.writeFileSync(file, reportText(forgery));
    const run = await laptop.run(['report', 'verify', file]);
    expect(run.code).toBe(0); // a signature of some key, not checked: said on stderr
    expect(run.stderr).toContain('the signer was not checked');
    expect(run.stdout.split('\n').filter((l) => l.startsWith('  signer checked'))).toEqual([]);
  });

  it('the report does not copy credentials of policy URLs to the share (auditForward authenticates by them)', async () => {
    const secretPolicy = path.join(work, 'policy-secret.json');
    fs.writeFileSync(
      secretPolicy,
      JSON.stringify({
        reportDir: share,
        auditForward: 'https://coffer:s3cr3t-pass@collector.invalid/ingest?token=t0ken-value',
        updateUrl: 'https://updates.invalid/coffer?key=upd4te-key',
      }),
    );
    const run = await laptop.run(['report'], { COFFER_POLICY_FILE: secretPolicy });
    expect(run.code, run.stderr).toBe(0);
    const text = run.stdout;
    const report = JSON.parse(text) as ReportFile;
    for (const secret of ['s3cr3t-pass', 't0ken-value', 'upd4te-key']) {
      expect(text).not.toContain(secret);
      expect(fs.readFileSync(genuineFile, 'utf8')).not.toContain(secret);
      expect(run.stderr).not.toContain(secret);
    }
    // Still says where events go, and that the URL carries a credential.
    expect(report.report.policy.managed.auditForward).toMatch(/^https:\/\/.*collector\.invalid\/ingest/);
  });
  it('plain files a rule leaves out (an unprotected subfolder, a hidden file) are not hidden behind "0 in the clear"', async () => {
    const dir = path.join(work, 'Clients');
    fs.mkdirSync(path.join(dir, 'Roe'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.csv'), 'name\nJane\n');
    for (const n of [1, 2, 3]) fs.writeFileSync(path.join(dir, 'Roe', `c${n}.csv`), 'Jane Roe\n');
    fs.writeFileSync(path.join(dir, '.customers.csv'), 'Jane Roe\n');
    const other = new Laptop('report-excluded', { COFFER_POLICY_FILE: path.join(work, 'no-policy.json') });
    try {
      expect((await other.run(['protect', dir])).code).toBe(0);
      const unprotect = await other.run(['unprotect', path.join(dir, 'Roe')]);
      expect(unprotect.code, unprotect.stderr).toBe(0);
      const run = await other.run(['report', '--out', path.join(dir, '..', 'excluded-report.json')]);
      expect(run.code, run.stderr).toBe(0);
      const file = JSON.parse(fs.readFileSync(path.join(work, 'excluded-report.json'), 'utf8')) as ReportFile;
      const facts = file.report.folders[0] as ReportFile['report']['folders'][number] & {
        excludedByReason?: Record<string, number>;
      };
      expect(facts.inTheClear).toBe(0);
      // What is on disk in the clear by rule is stated, by reason, and in the totals IT reads first.
      expect(facts.excludedByReason).toEqual({ EXCLUDED: 1, HIDDEN: 1 });
      expect((file.report.totals as Record<string, number>).excluded).toBe(2);
      const verified = await other.run(['report', 'verify', path.join(work, 'excluded-report.json')]);
      expect(verified.stdout).toMatch(/0 in the clear, 2 left out by rule/);
    } finally {
      fs.rmSync(other.home, { recursive: true, force: true });
    }
  });
  it('--out naming a folder, or a file in a folder that cannot be written, is a clear error, not a Coffer bug', async () => {
    const dir = path.join(work, 'out-folder');
    fs.mkdirSync(path.join(dir, 'kept'), { recursive: true });
    const intoFolder = await laptop.run(['report', '--out', dir]);
    expect(intoFolder.code).toBe(1);
    expect(intoFolder.stderr).not.toContain('INTERNAL');
    expect(intoFolder.stderr).toContain('REPORT_OUT_FAILED');
    expect(fs.readdirSync(dir)).toEqual(['kept']);
    expect(fs.readdirSync(work).filter((n) => n.includes('.tmp-'))).toEqual([]);
    // A file where the folder should be.
    const blocked = path.join(work, 'out-folder', 'kept', 'x.json');
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    const notAFolder = await laptop.run(['report', '--out', path.join(dir, 'file', 'r.json')]);
    expect(notAFolder.code).toBe(1);
    expect(notAFolder.stderr).not.toContain('INTERNAL');
    expect(notAFolder.stderr).toContain('REPORT_OUT_FAILED');
    expect(fs.existsSync(blocked)).toBe(false);
  });
});
