/**
 * auditForward against a real loopback HTTPS collector (a self-signed certificate made here with openssl)
 * that is down, drops connections before and after reading a batch, and answers errors; the log's key is
 * in a real Secret Service. Every event reaches the collector exactly once after dedupe by seq, nothing is
 * lost while offline, and a spool over its bound says what it dropped, to the collector and in the log.
 */
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend, type SodiumBackend } from '../../../crypto/sodium.js';
import { OsKeyStore } from '../keys/key-store.js';
import { AUDIT_KEY_ACCOUNT, AuditLog } from './audit-log.js';
import { AuditForwarder, FORWARD_DROPPED } from './forwarder.js';
import { Collector, selfSignedLoopbackCert } from '../../../e2e/helpers/https-collector.js';

const NO_KEYRING =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ?? 'not run under scripts/with-keyring.sh');
if (NO_KEYRING) console.warn(`SKIPPED auditForward tests: ${NO_KEYRING}`);

describe.skipIf(NO_KEYRING !== null)('auditForward', { timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-forward-'));
  /** One keychain service per simulated laptop. */
  const stores: OsKeyStore[] = [];
  let sodium: SodiumBackend;
  let tls: { key: string; cert: string };

  beforeAll(async () => {
    sodium = await defaultBackend();
    tls = selfSignedLoopbackCert(dir);
  });

  afterAll(async () => {
    for (const store of stores) await store.delete(AUDIT_KEY_ACCOUNT).catch(() => false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function logIn(name: string): AuditLog {
    const home = path.join(dir, name);
    const keyStore = new OsKeyStore({ service: `coffer-forward-${name}-${randomBytes(6).toString('hex')}` });
    stores.push(keyStore);
    return new AuditLog({
      sodium,
      keyStore,
      lockDir: path.join(home, 'locks'),
      dir: path.join(home, 'audit'),
    });
  }

  it('offline, then dropped connections and errors: every event arrives, exactly once after dedupe', async () => {
    const log = logIn('flaky');
    for (let i = 0; i < 24; i++) await log.append('protect', { files: [`/data/f${i}.csv`] });
    const total = log.read().length; // + the audit-log-started record
    expect(total).toBe(25);

    // A port that nothing listens on yet: offline.
    const collector = new Collector(tls, [
      'drop-before-read',
      'drop-after-read',
      'error',
      'ok',
      'drop-after-read',
      'drop-before-read',
    ]);
    const probe = https.createServer(tls);
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) =>
      probe.close(() => {
        resolve();
      }),
    );
    const forwarder = new AuditForwarder({
      log,
      url: () => `https://127.0.0.1:${port}/ingest`,
      source: 'laptop-1',
      ca: tls.cert,
      batch: 4,
      timeoutMs: 5_000,
    });
    const offline = await forwarder.flush();
    expect(offline).toMatchObject({ sent: 0, pending: total });
    expect(offline.error).toBeDefined();

    await collector.listen(port);
    try {
      const errors: string[] = [];
      for (let attempt = 0; attempt < 50 && forwarder.pending().length > 0; attempt++) {
        const r = await forwarder.flush();
        if (r.error) errors.push(r.error);
      }
      expect(forwarder.pending()).toEqual([]);
      // Every scripted failure was met, and each was a failed flush (nothing acknowledged on it).
      expect(collector.modes.slice(0, 6)).toEqual([
        'drop-before-read',
        'drop-after-read',
        'error',
        'ok',
        'drop-after-read',
        'drop-before-read',
      ]);
      expect(errors).toHaveLength(5);
      const unique = collector.unique();
      expect([...unique.keys()].sort((a, b) => a - b)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
      // Batches the collector stored but whose answer was lost came again: dedupe was needed.
      expect(collector.raw.length).toBeGreaterThan(total);
      expect(collector.raw.every((l) => l.source === 'laptop-1')).toBe(true);
      expect(unique.get(2)).toMatchObject({ type: 'protect' });

      // New events later: only they are sent.
      await log.append('unprotect', { folder: '/data' });
      const before = collector.raw.length;
      expect(await forwarder.flush()).toMatchObject({ sent: 1, pending: 0 });
      expect(collector.raw.slice(before).map((l) => l.seq)).toEqual([total + 1]);
    } finally {
      await collector.close();
    }
  });

  it('a spool over its bound drops the oldest, and says so to the collector and in the log', async () => {
    const log = logIn('bounded');
    for (let i = 0; i < 11; i++) await log.append('protect', { files: [`/data/g${i}.csv`] });
    const collector = new Collector(tls, []);
    await collector.listen();
    try {
      const forwarder = new AuditForwarder({
        log,
        url: () => `https://127.0.0.1:${collector.port}/ingest`,
        source: 'laptop-2',
        ca: tls.cert,
        maxPending: 5,
      });
      const r = await forwarder.flush();
      expect(r).toMatchObject({ sent: 5, dropped: 7, pending: 0 });
      expect(collector.raw[0]).toMatchObject({ type: 'forward-dropped', from: 1, to: 7 });
      expect([...collector.unique().keys()]).toEqual([8, 9, 10, 11, 12]);
      const dropped = log.read().filter((x) => x.type === FORWARD_DROPPED);
      expect(dropped.map((x) => x.details)).toEqual([{ from: 1, to: 7, count: 7 }]);
      // The drop notice itself is an event: sent next time, and the log still verifies.
      expect(await forwarder.flush()).toMatchObject({ sent: 1 });
      expect((await log.verify()).ok).toBe(true);
    } finally {
      await collector.close();
    }
  });

  it('a plain http:// URL is refused (nothing is sent in the clear)', async () => {
    const log = logIn('plain');
    await log.append('protect', { files: ['/data/h.csv'] });
    const forwarder = new AuditForwarder({ log, url: () => 'http://127.0.0.1:9/ingest', source: 'x' });
    const r = await forwarder.flush();
    expect(r.error).toMatch(/https/);
    expect(r.pending).toBe(2);
  });
});
