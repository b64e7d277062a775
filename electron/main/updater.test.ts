import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadBackend } from '../../crypto/sodium.js';
import { PolicyService } from '../services/policy/policy-service.js';
import { recoveryPublicKeyParser } from '../services/policy/schema.js';
import { FilePolicySource } from '../services/policy/sources.js';
import { Updater, type UpdaterEngine } from './updater.js';

const sodium = await loadBackend('wasm');

class FakeEngine implements UpdaterEngine {
  autoDownload = false;
  autoInstallOnAppQuit = false;
  allowDowngrade = true;
  allowPrerelease = true;
  feeds: string[] = [];
  checks = 0;
  setFeedURL(options: { provider: 'generic'; url: string }): void {
    this.feeds.push(options.url);
  }
  checkForUpdates() {
    this.checks += 1;
    return Promise.resolve({ updateInfo: { version: '0.2.0' } });
  }
  on(): this {
    return this;
  }
}

describe('Updater (electron-updater glue, with a fake engine)', () => {
  let dir: string;
  let policyFile: string;
  let policy: PolicyService;
  let loads: number;
  let engine: FakeEngine;
  const logs: string[] = [];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-updater-'));
    policyFile = path.join(dir, 'policy.json');
    // A signed Windows build: electron-builder wrote the publisher name into app-update.yml.
    fs.writeFileSync(
      path.join(dir, 'app-update.yml'),
      'provider: generic\nurl: https://x\npublisherName:\n  - Example Corp\n',
    );
    policy = new PolicyService({
      source: new FilePolicySource(policyFile, { requireAdminOwned: false }),
      parseRecoveryPublicKey: recoveryPublicKeyParser(sodium),
      homeDir: dir,
      caseInsensitivePaths: true,
      pollMs: 0,
    });
    await policy.start();
    loads = 0;
    engine = new FakeEngine();
  });
  afterEach(() => {
    policy.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function updater(builtInUrl?: string): Updater {
    return new Updater({
      platform: 'win32',
      isPackaged: true,
      resourcesPath: dir,
      builtInUrl,
      macCodeSigned: false,
      policy,
      log: { info: (m) => logs.push(m), error: (m) => logs.push(m) },
      loadEngine: () => {
        loads += 1;
        return Promise.resolve(engine);
      },
    });
  }

  it('without a URL never loads electron-updater, so it makes no network call', async () => {
    const u = updater();
    u.start();
    expect(await u.checkNow()).toMatchObject({
      state: 'disabled',
      reason: expect.stringContaining('no update URL') as string,
    });
    expect(loads).toBe(0);
    u.stop();
  });

  it('follows the policy URL, applies changes without restart, and pauses on an invalid policy', async () => {
    fs.writeFileSync(policyFile, JSON.stringify({ updateUrl: 'https://mirror.corp.example/coffer' }));
    await policy.reload();
    const u = updater('https://vendor.example/coffer');
    u.start();
    expect(await u.checkNow()).toMatchObject({ state: 'idle', url: 'https://mirror.corp.example/coffer' });
    expect(loads).toBe(1);
    expect(engine).toMatchObject({
      autoDownload: true,
      autoInstallOnAppQuit: true,
      allowDowngrade: false,
      allowPrerelease: false,
    });
    expect(engine.feeds.at(-1)).toBe('https://mirror.corp.example/coffer');

    fs.writeFileSync(policyFile, JSON.stringify({ updateUrl: 'https://mirror2.corp.example/coffer' }));
    await policy.reload();
    expect(u.current()).toMatchObject({ url: 'https://mirror2.corp.example/coffer' });
    await u.checkNow();
    expect(engine.feeds.at(-1)).toBe('https://mirror2.corp.example/coffer');

    fs.writeFileSync(policyFile, '{ "updateUrl": 42 }');
    await policy.reload();
    const checks = engine.checks;
    expect(await u.checkNow()).toMatchObject({
      state: 'disabled',
      reason: expect.stringContaining('invalid') as string,
    });
    expect(engine.checks).toBe(checks);
    u.stop();
  });

  it('an unsigned Windows build does not update itself, even with a URL', async () => {
    fs.rmSync(path.join(dir, 'app-update.yml'));
    const u = updater('https://vendor.example/coffer');
    u.start();
    expect(await u.checkNow()).toMatchObject({
      state: 'disabled',
      reason: expect.stringContaining('not code-signed') as string,
    });
    expect(loads).toBe(0);
    u.stop();
  });
});
