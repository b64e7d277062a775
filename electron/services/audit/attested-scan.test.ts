/**
 * lastAttestedScan on a real AuditLog (real Secret Service key): the facts come from the very records the
 * verification checked. A hostile local process that swaps log.jsonl for a forged copy right after the
 * verification pass (a race it can run in a loop) must not get the forged counts into the report.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend, type SodiumBackend } from '../../../crypto/sodium.js';
import { OsKeyStore } from '../keys/key-store.js';
import { AUDIT_KEY_ACCOUNT, AuditLog } from '../audit-log/audit-log.js';
import { lastAttestedScan, type TrailReader } from './attested-scan.js';

const NO_KEYRING =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ?? 'not run under scripts/with-keyring.sh');
if (NO_KEYRING) console.warn(`SKIPPED lastAttestedScan keychain tests: ${NO_KEYRING}`);

const SCAN = {
  scope: 'policy',
  roots: ['/home/u/Downloads'],
  filesScanned: 10,
  filesWithFindings: 1,
  unprotectedWithFindings: 1,
  protectedWithFindings: 0,
  findings: ['email=2'],
  findingsUnprotected: ['email=2'],
  finishedAt: '2026-11-29T10:00:00.000Z',
  staleWithFindings: 0,
  skippedErrors: 0,
  cancelled: false,
};

describe.skipIf(NO_KEYRING !== null)('lastAttestedScan', { timeout: 60_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-attested-'));
  let sodium: SodiumBackend;
  let keyStore: OsKeyStore;
  let log: AuditLog;

  beforeAll(async () => {
    sodium = await defaultBackend();
    keyStore = new OsKeyStore({ service: `coffer-attested-${randomBytes(6).toString('hex')}` });
    log = new AuditLog({ sodium, keyStore, lockDir: path.join(dir, 'locks'), dir: path.join(dir, 'audit') });
  });

  afterAll(async () => {
    await keyStore.delete(AUDIT_KEY_ACCOUNT).catch(() => false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('states the last complete policy scan of a trail that verifies', async () => {
    expect(await lastAttestedScan(log)).toBeUndefined();
    await log.append('data-audit', SCAN);
    await log.append('data-audit', { ...SCAN, scope: 'paths', unprotectedWithFindings: 0 });
    await log.append('data-audit', { ...SCAN, cancelled: true, unprotectedWithFindings: 0 });
    expect(await lastAttestedScan(log)).toEqual({
      at: SCAN.finishedAt,
      filesScanned: 10,
      filesWithFindingsOutsideProtected: 1,
      findingsOutsideProtected: { email: 2 },
    });
  });

  it('a log swapped for a forged copy right after the verification does not reach the report', async () => {
    const genuine = fs.readFileSync(log.logFile, 'utf8');
    const forged = genuine.replace(/"unprotectedWithFindings":1/g, '"unprotectedWithFindings":0');
    expect(forged).not.toBe(genuine);
    // The swap lands between the verification pass and anything read after it.
    const racing: TrailReader = {
      verify: async (options) => {
        const verification = await log.verify(options);
        fs.writeFileSync(log.logFile, forged);
        return verification;
      },
    };
    try {
      expect(await lastAttestedScan(racing)).toMatchObject({ filesWithFindingsOutsideProtected: 1 });
      // Checked now, the forged log does not verify at all.
      const now = await lastAttestedScan(log);
      expect(now !== undefined && 'note' in now && now.note).toMatch(/does not verify/);
    } finally {
      fs.writeFileSync(log.logFile, genuine);
    }
  });
  it('a policy scan that did not cover the roots the policy asks for now (HOME pointed elsewhere) is not stated', async () => {
    await log.append('data-audit', { ...SCAN, roots: ['/tmp/empty/Desktop'], unprotectedWithFindings: 0 });
    const stated = await lastAttestedScan(log, ['/home/u/Downloads', '/home/u/Documents']);
    expect(stated !== undefined && 'note' in stated && stated.note).toMatch(
      /did not cover \/home\/u\/Downloads, \/home\/u\/Documents/,
    );
    await log.append('data-audit', { ...SCAN, roots: ['/home/u/Documents', '/home/u/Downloads', '/srv/x'] });
    expect(await lastAttestedScan(log, ['/home/u/Downloads', '/home/u/Documents'])).toMatchObject({
      filesWithFindingsOutsideProtected: 1,
    });
  });
});
