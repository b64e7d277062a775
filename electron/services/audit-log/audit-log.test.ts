/**
 * AuditLog in process with its key in a real Secret Service: the crash windows of an append (between the
 * line and the head; mid-line), a keychain that lost the key, bounded details, and the app's mapping of
 * Activity entries to security events.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend, type SodiumBackend } from '../../../crypto/sodium.js';
import { OsKeyStore } from '../keys/key-store.js';
import { AUDIT_KEY_ACCOUNT, AuditLog } from './audit-log.js';
import { securityEventOf } from './activity-events.js';
import { boundDetails } from './record.js';

const NO_KEYRING =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ?? 'not run under scripts/with-keyring.sh');
if (NO_KEYRING) console.warn(`SKIPPED AuditLog keychain tests: ${NO_KEYRING}`);

describe.skipIf(NO_KEYRING !== null)('AuditLog', { timeout: 60_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-audit-log-'));
  const stores: OsKeyStore[] = [];
  let sodium: SodiumBackend;

  beforeAll(async () => {
    sodium = await defaultBackend();
  });

  afterAll(async () => {
    for (const s of stores) await s.delete(AUDIT_KEY_ACCOUNT).catch(() => false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function logIn(name: string): { log: AuditLog; keyStore: OsKeyStore } {
    const keyStore = new OsKeyStore({ service: `coffer-audit-${name}-${randomBytes(6).toString('hex')}` });
    stores.push(keyStore);
    const home = path.join(dir, name);
    const log = new AuditLog({
      sodium,
      keyStore,
      lockDir: path.join(home, 'locks'),
      dir: path.join(home, 'audit'),
    });
    return { log, keyStore };
  }

  it('a crash between the line and the head: the log one record ahead verifies, and the next append follows it', async () => {
    const { log } = logIn('crash-head');
    await log.append('protect', { files: ['/a'] });
    const head = fs.readFileSync(log.headFile, 'utf8');
    await log.append('protect', { files: ['/b'] });
    fs.writeFileSync(log.headFile, head); // as if the process died before rewriting the head
    expect(await log.verify()).toMatchObject({ ok: true, records: 3 });
    const next = await log.append('unprotect', { folder: '/c' });
    expect(next.seq).toBe(4);
    expect(await log.verify()).toMatchObject({ ok: true, records: 4 });
  });

  it('a torn last line (a crash mid-write) is named; the next record starts on its own line', async () => {
    const { log } = logIn('torn');
    await log.append('protect', { files: ['/a'] });
    fs.appendFileSync(log.logFile, '{"seq":3,"time":"2026-');
    const v = await log.verify();
    expect(v).toMatchObject({ ok: false, firstBad: { line: 3, problem: 'not a well-formed record' } });
    await log.append('protect', { files: ['/b'] });
    const lines = fs.readFileSync(log.logFile, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[3] ?? '')).toMatchObject({ seq: 3, type: 'protect' });
    // Still named: the damage does not disappear because later records verify.
    expect((await log.verify()).firstBad?.line).toBe(3);
  });

  it('the key gone from the keychain while a log exists: no new key is made, appends and verify say why', async () => {
    const { log, keyStore } = logIn('lost-key');
    await log.append('protect', { files: ['/a'] });
    expect(await keyStore.delete(AUDIT_KEY_ACCOUNT)).toBe(true);
    await expect(log.append('protect', { files: ['/b'] })).rejects.toMatchObject({
      code: 'AUDIT_KEY_MISSING',
    });
    expect(await keyStore.get(AUDIT_KEY_ACCOUNT)).toBeNull();
    const v = await log.verify();
    expect(v.ok).toBe(false);
    expect(v.firstBad?.problem).toMatch(/audit key "audit-key" is missing/);
  });

  it('concurrent appends in one process keep call order and one chain (key cached, as in the app)', async () => {
    const { log: uncached, keyStore } = logIn('order');
    const log = new AuditLog({
      sodium,
      keyStore,
      lockDir: path.join(dir, 'order', 'locks'),
      dir: path.join(dir, 'order', 'audit'),
      cacheKey: true,
    });
    expect(uncached.logFile).toBe(log.logFile);
    const started = performance.now();
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append('protect', { files: [`/f${i}`] })));
    const records = log.read();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(records.slice(1).map((r) => r.details.files)).toEqual(
      Array.from({ length: 20 }, (_, i) => [`/f${i}`]),
    );
    expect((await log.verify()).ok).toBe(true);
    console.log(`20 appends with a cached key: ${Math.round(performance.now() - started)} ms`);
    await log.close();
  });
});

describe('details and the app mapping', () => {
  it('bounds long lists and strings, drops undefined', () => {
    const files = Array.from({ length: 150 }, (_, i) => `/f${i}`);
    const d = boundDetails({ files, name: 'x'.repeat(5000), gone: undefined, n: 3 });
    expect((d.files as string[]).length).toBe(100);
    expect(d.filesNotListed).toBe(50);
    expect((d.name as string).length).toBe(4096);
    expect('gone' in d).toBe(false);
    expect(d.n).toBe(3);
  });

  it('maps Activity entries to security events', () => {
    expect(securityEventOf({ action: 'Protect finished', target: 'id1', outcome: 'ok' })?.type).toBe(
      'protect',
    );
    // The start of a run changed nothing yet: its end is what is recorded.
    expect(securityEventOf({ action: 'Protect', target: 'id1', outcome: 'ok' })).toBeNull();
    // A file with customer data deleted from the Audit screen (erasure): on the trail; a refused one is not.
    expect(securityEventOf({ action: 'Delete file (audit)', target: '/h/a.csv', outcome: 'ok' })?.type).toBe(
      'data-deleted',
    );
    expect(
      securityEventOf({
        action: 'Delete file (audit)',
        target: '/h/a.csv',
        outcome: 'error',
        detail: 'X: y',
      }),
    ).toBeNull();
    expect(securityEventOf({ action: 'Change auto-lock', target: '5 min', outcome: 'ok' })).toBeNull();
    expect(
      securityEventOf({ action: 'Verify', target: 'a.coffer', outcome: 'error', detail: 'AUTH_FAILED: x' })
        ?.type,
    ).toBe('auth-failed');
    expect(
      securityEventOf({
        action: 'Make recovery code',
        target: 'this device',
        outcome: 'error',
        detail: 'STATE_TAMPERED: settings',
      })?.type,
    ).toBe('state-tampered');
    // A refused trust changed nothing: not a trust change.
    expect(
      securityEventOf({ action: 'Trust recovery key', target: 'k', outcome: 'error', detail: 'BAD_KEY: x' }),
    ).toBeNull();
  });
});
