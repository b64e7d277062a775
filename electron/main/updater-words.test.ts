/**
 * Review of issue 12 item 6 (plain language everywhere): a failed update check showed electron-updater's
 * raw error on the Settings page ("The last check failed: getaddrinfo ENOTFOUND updates.corp.example", or a
 * 404's many lines with the request's headers). The status now says it in words; the log keeps the raw text.
 * The DNS failure is a real one (Node's resolver on a name that cannot exist, RFC 6761 .invalid); the
 * engine around it is updater.test.ts's kind of stand-in, as electron-updater needs Electron.
 */
import dns from 'node:dns/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBackend } from '../../crypto/sodium.js';
import { PolicyService } from '../services/policy/policy-service.js';
import { recoveryPublicKeyParser } from '../services/policy/schema.js';
import { FilePolicySource } from '../services/policy/sources.js';
import { Updater, type UpdaterEngine } from './updater.js';

const sodium = await loadBackend('wasm');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-updater-words-'));
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** An engine whose check fails as `fail` does. */
function engineFailing(fail: () => Promise<never>): UpdaterEngine {
  return {
    autoDownload: false,
    autoInstallOnAppQuit: false,
    allowDowngrade: true,
    allowPrerelease: true,
    setFeedURL: () => undefined,
    checkForUpdates: fail,
    on() {
      return this;
    },
  };
}

async function statusAfter(fail: () => Promise<never>): Promise<{ message: string; logged: string[] }> {
  const policyFile = path.join(dir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({ updateUrl: 'https://updates.corp.invalid/coffer' }));
  fs.writeFileSync(
    path.join(dir, 'app-update.yml'),
    'provider: generic\nurl: https://x\npublisherName:\n  - Example Corp\n',
  );
  const policy = new PolicyService({
    source: new FilePolicySource(policyFile, { requireAdminOwned: false }),
    parseRecoveryPublicKey: recoveryPublicKeyParser(sodium),
    homeDir: dir,
    caseInsensitivePaths: true,
    pollMs: 0,
  });
  await policy.start();
  const logged: string[] = [];
  const u = new Updater({
    platform: 'win32',
    isPackaged: true,
    resourcesPath: dir,
    builtInUrl: undefined,
    macCodeSigned: false,
    policy,
    log: { info: (m) => logged.push(m), error: (m) => logged.push(m) },
    loadEngine: () => Promise.resolve(engineFailing(fail)),
  });
  try {
    u.start();
    const status = await u.checkNow();
    if (status.state !== 'error') throw new Error(`expected an error, got ${status.state}`);
    return { message: status.message, logged };
  } finally {
    u.stop();
    policy.stop();
  }
}

describe('a failed update check, on the Settings page', () => {
  it('says a server that cannot be found in words, and logs the raw error', async () => {
    const { message, logged } = await statusAfter(() =>
      dns.lookup('updates.corp.invalid').then(() => {
        throw new Error('resolved a .invalid name');
      }),
    );
    expect(logged.join('\n')).toMatch(/ENOTFOUND/);
    expect(message).not.toMatch(/\bE[A-Z]{3,}\b|getaddrinfo|net::/);
    expect(message).toMatch(/update server could not be found/);
  });

  it('says a 404 in one line, without the request and its headers', async () => {
    const raw =
      'Cannot find channel "latest.yml" update info: HttpError: 404 \n"method: GET url: https://updates.corp.invalid/coffer/latest.yml?noCache=1\n\nPlease double check that your authentication token is correct. Due to security reasons, actual status maybe not reported, but 404.\n"\nHeaders: {\n  "content-type": "text/html"\n}';
    const { message } = await statusAfter(() => Promise.reject(new Error(raw)));
    expect(message).not.toContain('\n');
    expect(message).not.toMatch(/Headers|HttpError|latest\.yml|token/);
    expect(message).toMatch(/no Coffer update/);
  });
});
