/**
 * Issue 11 item 1 under attack, through the real `coffer` CLI and a real Secret Service: a user who wants to
 * look clean to IT edits what the data audit keeps in app data. The signed report must not carry the edit:
 * the last scan it states comes from the authenticated audit trail, and a cache edited to say "clean" only
 * costs a re-read, never a wrong count; a scan that could not read a file is not stated as a clean one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAGIC } from '../crypto/header.js';
import type { ReportFile } from '../electron/services/report/report-file.js';
import type { ScanReport } from '../electron/services/audit/types.js';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI data-audit attack scenarios: ${NO_KEYRING}`);

interface History {
  format: string;
  scans: Record<string, unknown>[];
}

describe.skipIf(NO_KEYRING !== null)('coffer audit scan: edited app data', { timeout: 300_000 }, () => {
  const work = fs.realpathSync(tempDir('data-audit-attacks'));
  const downloads = path.join(work, 'Downloads');
  const policyFile = path.join(work, 'policy.json');
  const reportFile = path.join(work, 'out', 'report.json');
  const laptop = new Laptop('data-audit-attacks', { COFFER_POLICY_FILE: policyFile });
  const dataAudit = path.join(laptop.home, 'data-audit');

  async function report(): Promise<ReportFile['report']['audit']> {
    const { result, doc } = await laptop.json<{ file: ReportFile }>(['report', '--out', reportFile]);
    expect(result.code, result.stderr).toBe(0);
    return doc.file.report.audit;
  }

  async function scan(): Promise<ScanReport> {
    const { result, doc } = await laptop.json<ScanReport>(['audit', 'scan']);
    expect(result.code, result.stderr).toBe(0);
    return doc;
  }

  beforeAll(() => {
    fs.mkdirSync(downloads, { recursive: true });
    fs.writeFileSync(policyFile, JSON.stringify({ auditRoots: [downloads] }));
    fs.writeFileSync(
      path.join(downloads, 'export.csv'),
      'name,email\nAl,al@example.org\nBo,bo@example.net\n',
    );
  });

  afterAll(() => {
    for (const d of [work, laptop.home]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('an edited scan history does not reach the signed report', async () => {
    const first = await scan();
    expect(first.summary.unprotectedWithFindings).toBe(1);
    expect(await report()).toMatchObject({ state: 'done', filesWithFindingsOutsideProtected: 1 });

    // The user makes the last scan look clean.
    const historyFile = path.join(dataAudit, 'scans.json');
    const history = JSON.parse(fs.readFileSync(historyFile, 'utf8')) as History;
    const last = history.scans.at(-1);
    expect(last).toBeDefined();
    Object.assign(last ?? {}, {
      filesWithFindings: 0,
      unprotectedWithFindings: 0,
      findings: {},
      findingsUnprotected: {},
    });
    fs.writeFileSync(historyFile, JSON.stringify(history));
    const audit = await report();
    expect(audit).toMatchObject({
      state: 'done',
      filesWithFindingsOutsideProtected: 1,
      findingsOutsideProtected: { email: 2 },
    });

    // Removed altogether: the trail still knows.
    fs.rmSync(historyFile);
    expect(await report()).toMatchObject({ state: 'done', filesWithFindingsOutsideProtected: 1 });
  });

  it('a damaged audit trail makes the report say the last audit cannot be told, never clean', async () => {
    const log = path.join(laptop.home, 'audit', 'log.jsonl');
    const original = fs.readFileSync(log, 'utf8');
    try {
      fs.writeFileSync(log, original.replace(/"unprotectedWithFindings":1/g, '"unprotectedWithFindings":0'));
      const audit = await report();
      expect(audit.state).toBe('none');
      expect(audit.state === 'none' && audit.note).toMatch(/audit trail/);
    } finally {
      fs.writeFileSync(log, original);
    }
  });

  it('a cache edited to say "clean" costs a re-read, never a wrong count', async () => {
    const cacheFile = path.join(dataAudit, 'cache.json');
    const text = fs.readFileSync(cacheFile, 'utf8');
    // Whatever the format, the file's counts are the numbers after "email".
    const edited = text.replace(/"email":\d+/g, '"email":0').replace(/\\"email\\":\d+/g, '\\"email\\":0');
    expect(edited).not.toBe(text);
    fs.writeFileSync(cacheFile, edited);
    const again = await scan();
    expect(again.summary.unprotectedWithFindings).toBe(1);
    expect(again.summary.findingsUnprotected).toEqual({ email: 2 });
    expect(again.summary.fromCache).toBe(0);
    // And the next scan trusts the rewritten cache again.
    const third = await scan();
    expect(third.summary.fromCache).toBe(1);
    expect(third.summary.findingsUnprotected).toEqual({ email: 2 });
  });
  it('a file the scan could not read (a fake protected file) makes the report say so, never clean', async () => {
    // The user hides the export from the audit: Coffer's magic in front and a .coffer name, so it is taken
    // for a protected file, which then fails authentication.
    const exported = path.join(downloads, 'export.csv');
    fs.writeFileSync(`${exported}.coffer`, Buffer.concat([MAGIC, fs.readFileSync(exported)]));
    fs.rmSync(exported);
    const { result, doc } = await laptop.json<ScanReport>(['audit', 'scan']);
    expect(result.code).toBe(1);
    expect(doc.summary.skipped.error).toBe(1);
    expect(doc.summary.unprotectedWithFindings).toBe(0);
    const audit = await report();
    expect(audit.state).toBe('none');
    expect(audit.state === 'none' && audit.note).toMatch(/could not read 1 file/);
  });
});
