/**
 * The real OS keychain (a private Secret Service under scripts/with-keyring.sh), and what happens when it
 * is unreachable: a clear KEYCHAIN_UNAVAILABLE within the timeout, never a hang.
 */
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { isCofferError } from '../../../crypto/errors.js';
import { OsKeyStore, keychainService } from './key-store.js';

const noKeyring =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ??
      'not run under scripts/with-keyring.sh (npm run test:unit does that)');
if (noKeyring) console.warn(`SKIPPED real-keychain tests: ${noKeyring}`);

describe.skipIf(noKeyring !== null)('OsKeyStore against the real Secret Service', () => {
  const service = `CofferTest-${randomBytes(4).toString('hex')}`;
  const store = new OsKeyStore({ service });

  afterAll(async () => {
    await store.delete('a');
  });

  it('sets, gets and deletes a secret; a missing one is null', async () => {
    expect(await store.get('a')).toBeNull();
    const secret = new Uint8Array(randomBytes(32));
    await store.set('a', secret);
    expect(await store.get('a')).toEqual(secret);
    // Another service name is another keychain namespace: simulated laptops do not see each other.
    expect(await new OsKeyStore({ service: `${service}-other` }).get('a')).toBeNull();
    expect(await store.delete('a')).toBe(true);
    expect(await store.delete('a')).toBe(false);
    expect(await store.get('a')).toBeNull();
  });

  it('serves many calls from one helper, and never keeps a finished process alive', () => {
    // A separate process: it must exit as soon as its calls are done, not when the idle helper would.
    const script = `
      const { OsKeyStore } = await import(${JSON.stringify(new URL('./key-store.ts', import.meta.url).href)});
      const store = new OsKeyStore({ service: ${JSON.stringify(service + '-many')} });
      const secret = new Uint8Array(32).fill(7);
      await store.set('m', secret);
      const got = await Promise.all(Array.from({ length: 8 }, () => store.get('m')));
      await store.delete('m');
      process.stdout.write(String(got.every((g) => g !== null && g.every((b) => b === 7))));
    `;
    const started = performance.now();
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const ms = performance.now() - started;
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('true');
    // The idle helper lingers 10 s in a long-running app; a CLI run must not wait for it.
    expect(ms).toBeLessThan(9000);
  });
});

describe('OsKeyStore when the keychain is unreachable', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-deadbus-'));
  const socket = path.join(dir, 'bus');
  // A bus that accepts connections and never answers: the worst case, where a naive call hangs forever.
  const silent = net.createServer(() => undefined);
  const listening = new Promise<void>((resolve) => silent.listen(socket, resolve));

  afterAll(() => {
    silent.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function attempt(address: string): Promise<{ code: string; hint: string; ms: number }> {
    const store = new OsKeyStore({
      service: 'CofferTest-dead',
      timeoutMs: 1500,
      platform: 'linux',
      env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address },
    });
    const started = performance.now();
    try {
      await store.get('device-key');
    } catch (error) {
      if (!isCofferError(error)) throw error;
      return { code: error.code, hint: error.hint, ms: performance.now() - started };
    }
    throw new Error('the keychain answered');
  }

  it.skipIf(process.platform !== 'linux')(
    'a bus that never answers: KEYCHAIN_UNAVAILABLE once the timeout passes',
    async () => {
      await listening;
      const result = await attempt(`unix:path=${socket}`);
      expect(result.code).toBe('KEYCHAIN_UNAVAILABLE');
      expect(result.hint).toMatch(/Secret Service/);
      expect(result.ms).toBeGreaterThanOrEqual(1400);
      expect(result.ms).toBeLessThan(5000);
    },
  );

  it.skipIf(process.platform !== 'linux')('no bus at all: KEYCHAIN_UNAVAILABLE at once', async () => {
    const result = await attempt(`unix:path=${path.join(dir, 'nothing-here')}`);
    expect(result.code).toBe('KEYCHAIN_UNAVAILABLE');
    expect(result.ms).toBeLessThan(1400);
  });

  it('the service name can be overridden for tests', () => {
    expect(keychainService({})).toBe('Coffer');
    expect(keychainService({ COFFER_KEYCHAIN_SERVICE: 'CofferTestA' })).toBe('CofferTestA');
  });
});
