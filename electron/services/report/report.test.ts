/**
 * The report's building blocks on their own (docs/REPORT.md): the canonical JSON (§2), Ed25519 against the
 * RFC 8032 vector and the key ID (§3), and delivery to reportDir (§7) into real folders: a folder that is
 * a file, a retry once the share is back, one report for a burst of changes, the daily check.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCofferError } from '../../../crypto/errors.js';
import { parsePolicy } from '../policy/schema.js';
import type { EventDetails, SecurityEventType, SecurityEvents } from '../audit-log/security-events.js';
import { canonicalJson } from './canonical.js';
import { NO_AUDIT_NOTE, type ReportReason } from './collect.js';
import { ReportPublisher, reportFileName } from './publisher.js';
import { checkReportText, signReport, type ReportBody, type ReportFile } from './report-file.js';
import { ReportSchedule } from './schedule.js';
import { reportKeyId, signWithSeed, verifySignature } from './signing-key.js';
import { nonCanonicalBase64 } from '../../../e2e/helpers/base64.js';

const dirs: string[] = [];
function tmp(label: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `coffer-report-${label}-`));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Records what the publisher reports, in order (the audit log's own tests cover the writing). */
class Recorded implements SecurityEvents {
  readonly records: { type: SecurityEventType; details: EventDetails }[] = [];
  record(type: SecurityEventType, details: EventDetails): Promise<void> {
    this.records.push({ type, details });
    return Promise.resolve();
  }
}

function body(reason: ReportReason, createdAt = '2026-11-29T10:00:00.000Z'): ReportBody {
  return {
    createdAt,
    reason,
    app: { version: '0.1.0' },
    device: {
      hostname: 'ada laptop',
      user: 'ada',
      platform: 'linux',
      deviceKeyId: '0123-4567-89ab-cdef',
      deviceKeyState: 'ok',
      readOnlyDeviceKeyIds: [],
    },
    recoveryKeys: { current: [], fromPolicy: [], trustedByUser: [] },
    folders: [],
    mandatoryNotProtected: [],
    totals: { folders: 0, protected: 0, inTheClear: 0, notRecoverableByIt: 0 },
    audit: { state: 'none', note: NO_AUDIT_NOTE },
    auditTrail: { records: 1, verified: true },
    policy: { status: 'none', origin: 'test', problems: [], managed: {} },
  };
}

const seed = new Uint8Array(32).fill(7);
const sign = (r: ReportBody): Promise<ReportFile> => signReport(r, (m) => signWithSeed(seed, m));

describe('canonical JSON (REPORT.md §2)', () => {
  it('sorts members by UTF-16 order, keeps arrays, no white space, -0 as 0', () => {
    expect(canonicalJson({ b: [3, 1, { z: true, a: null }], a: 'é\n', B: -0, '\u{1F600}': 1, ö: 2 })).toBe(
      '{"B":0,"a":"é\\n","b":[3,1,{"a":null,"z":true}],"ö":2,"\u{1F600}":1}',
    );
  });

  it('refuses any number that is not a safe integer', () => {
    for (const bad of [1.5, 2 ** 53, Infinity, NaN]) {
      try {
        canonicalJson({ n: bad });
        expect.unreachable();
      } catch (error) {
        expect(isCofferError(error, 'REPORT_MALFORMED')).toBe(true);
      }
    }
  });
});

describe('report signing (REPORT.md §3, §5)', () => {
  it('signs as RFC 8032 Ed25519 (test 1) and verifies', () => {
    const rfcSeed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
    const signer = signWithSeed(rfcSeed, new Uint8Array(0));
    expect(Buffer.from(signer.publicKey).toString('hex')).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    expect(Buffer.from(signer.signature).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(verifySignature(new Uint8Array(0), signer.publicKey, signer.signature)).toBe(true);
    expect(verifySignature(new Uint8Array([0]), signer.publicKey, signer.signature)).toBe(false);
    expect(signer.keyId).toBe(reportKeyId(signer.publicKey));
    expect(signer.keyId).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/);
  });

  it('a signed report checks; the same report with one count changed does not', async () => {
    const file = await sign(body('manual'));
    expect(checkReportText('f', JSON.stringify(file))).toMatchObject({
      ok: true,
      signerKeyId: file.signer.keyId,
    });
    const edited = { ...file, report: { ...file.report, totals: { ...file.report.totals, protected: 1 } } };
    expect(checkReportText('f', JSON.stringify(edited))).toMatchObject({
      ok: false,
      code: 'REPORT_SIGNATURE_INVALID',
    });
  });
});

describe('strict reading of the signer fields', () => {
  it('a signature or public key in a second base64 spelling of the same bytes is malformed', async () => {
    const file = await sign(body('manual'));
    for (const changed of [
      { ...file, signature: nonCanonicalBase64(file.signature) },
      { ...file, signer: { ...file.signer, publicKey: nonCanonicalBase64(file.signer.publicKey) } },
    ]) {
      expect(checkReportText('f', JSON.stringify(changed))).toMatchObject({
        ok: false,
        code: 'REPORT_MALFORMED',
      });
    }
  });
});

describe('delivery to reportDir (REPORT.md §7)', () => {
  function publisher(reportDir: string | undefined, events: SecurityEvents, now = () => new Date()) {
    const made: ReportReason[] = [];
    const p = new ReportPublisher({
      reportDir: () => reportDir,
      make: (reason) => {
        made.push(reason);
        return sign(body(reason, now().toISOString()));
      },
      events,
      stateDir: tmp('state'),
      now,
    });
    return { p, made };
  }

  it('writes one file per host, user and day, atomically, and records it', async () => {
    const share = tmp('share');
    const events = new Recorded();
    const { p } = publisher(share, events);
    const result = await p.publish('change');
    expect(result.status).toBe('written');
    const names = fs.readdirSync(share);
    expect(names).toEqual([reportFileName(body('change', new Date().toISOString()))]);
    expect(names[0]).toMatch(/^coffer-report-ada_laptop-ada-\d{4}-\d{2}-\d{2}\.json$/);
    expect(events.records.map((r) => r.type)).toEqual(['report-written']);
    expect(p.due()).toBe(false);
  });

  it('a reportDir that is a file, or missing, fails with a clear error, is recorded, and makes the report due', async () => {
    const base = tmp('not-a-share');
    const file = path.join(base, 'share');
    fs.writeFileSync(file, 'x');
    for (const [dir, says] of [
      [file, 'is not a folder'],
      [path.join(base, 'missing'), 'ENOENT'],
    ] as const) {
      const events = new Recorded();
      const { p } = publisher(dir, events);
      const result = await p.publish('change');
      expect(result).toMatchObject({ status: 'failed', reportDir: dir });
      expect(result.status === 'failed' && result.error).toContain(says);
      expect(events.records).toEqual([
        {
          type: 'report-failed',
          details: { reportDir: dir, reason: 'change', error: expect.stringContaining(says) as string },
        },
      ]);
      expect(p.due()).toBe(true);
      expect(fs.existsSync(path.join(base, 'missing'))).toBe(false);
    }
    expect(fs.readdirSync(base)).toEqual(['share']); // no temp file left behind
  });

  it('a link planted under the report name is replaced, never written through; a folder there fails clearly', async () => {
    const share = tmp('share-planted');
    const outside = tmp('outside');
    const victim = path.join(outside, 'victim.txt');
    fs.writeFileSync(victim, 'not yours');
    const name = reportFileName(body('change', new Date().toISOString()));
    fs.symlinkSync(victim, path.join(share, name));
    const events = new Recorded();
    const { p } = publisher(share, events);
    expect((await p.publish('change')).status).toBe('written');
    expect(fs.readFileSync(victim, 'utf8')).toBe('not yours');
    expect(fs.lstatSync(path.join(share, name)).isFile()).toBe(true);
    expect(checkReportText(name, fs.readFileSync(path.join(share, name), 'utf8')).ok).toBe(true);
    // A folder with the report's name: the delivery fails, is recorded, and leaves no temp file.
    fs.rmSync(path.join(share, name));
    fs.mkdirSync(path.join(share, name, 'inside'), { recursive: true });
    const failed = await p.publish('change');
    expect(failed.status).toBe('failed');
    expect(events.records.map((r) => r.type)).toEqual(['report-written', 'report-failed']);
    expect(fs.readdirSync(share)).toEqual([name]);
  });

  it('is off without reportDir: nothing is made', async () => {
    const { p, made } = publisher(undefined, new Recorded());
    expect(await p.publish('daily')).toEqual({ status: 'off' });
    expect(made).toEqual([]);
  });

  it('is due again a day after the last report', async () => {
    let now = new Date('2026-11-29T10:00:00Z');
    const { p } = publisher(tmp('share'), new Recorded(), () => now);
    expect(p.due()).toBe(true);
    await p.publish('daily');
    now = new Date('2026-11-30T09:59:00Z');
    expect(p.due()).toBe(false);
    now = new Date('2026-11-30T10:00:00Z');
    expect(p.due()).toBe(true);
  });

  it('the app: a burst of changes gives one report; the check at start sends the daily one', async () => {
    const share = tmp('share');
    const { p, made } = publisher(share, new Recorded());
    const schedule = new ReportSchedule(p, { changeDelayMs: 50, checkEveryMs: 60_000, log: () => undefined });
    schedule.start();
    for (let i = 0; i < 5; i++) schedule.noteChange();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await schedule.stop();
    expect(made).toEqual(['daily', 'change']);
    expect(fs.readdirSync(share)).toHaveLength(1);
  });
});

describe('policy reportDir', () => {
  const ctx = {
    parseRecoveryPublicKey: (): Uint8Array => {
      throw new Error('no keys in these policies');
    },
    homeDir: '/home/ada',
  };

  it('takes an absolute local or network folder, and refuses a relative one', () => {
    for (const dir of ['/mnt/it-share/coffer-reports', '\\\\server\\coffer-reports', 'C:\\Reports']) {
      expect(parsePolicy({ reportDir: dir }, ctx)).toEqual({ ok: true, policy: { reportDir: dir } });
    }
    expect(parsePolicy({ reportDir: 'reports' }, ctx)).toEqual({
      ok: false,
      problems: ['reportDir: must be an absolute path (a local or network folder)'],
    });
  });
});
