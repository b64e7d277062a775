/**
 * Issue 12 item 3: the About panel's facts come from what runs — the package version, the process's own
 * versions, the libsodium build that does the crypto — and the policy source.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { aboutInfo, appVersion, libsodiumVersion } from './about.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('About', () => {
  it("reads Coffer's version from its package.json (a checkout, or dist/ of an install)", () => {
    expect(appVersion()).toBe(pkg.version);
    expect(appVersion(path.join(ROOT, 'dist/electron/main'))).toBe(pkg.version);
  });

  it('names the libsodium build in use, with its version', async () => {
    expect(await libsodiumVersion('wasm')).toMatch(/^libsodium 1\.0\.\d+ \(WebAssembly\)$/);
    expect(await libsodiumVersion('native')).toMatch(/^sodium-native \d+\.\d+\.\d+ \(native libsodium\)$/);
  });

  it('reports Electron and Chromium from the process, and says when there is no Electron', () => {
    const inElectron = aboutInfo({
      app: '1.2.3',
      versions: { electron: '45.5.0', chrome: '156.0.8078.109', node: '24.9.0' },
      libsodium: 'x',
      policy: { status: 'active', origin: '/etc/coffer/policy.json' },
    });
    expect(inElectron).toEqual({
      app: '1.2.3',
      electron: '45.5.0',
      chromium: '156.0.8078.109',
      node: '24.9.0',
      libsodium: 'x',
      policy: { status: 'active', origin: '/etc/coffer/policy.json' },
    });
    const inNode = aboutInfo({
      app: '1',
      versions: process.versions,
      libsodium: 'x',
      policy: inElectron.policy,
    });
    expect(inNode.electron).toBeNull();
    expect(inNode.node).toBe(process.versions.node);
  });
});
