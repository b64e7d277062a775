import { describe, expect, it } from 'vitest';
import type { PolicyState } from '../policy/policy-service.js';
import { decideUpdates, publisherNamesFromAppUpdateYml, type UpdateContext } from './update-decision.js';

// app-update.yml as electron-builder 26 writes it for a signed Windows build with a generic provider.
const SIGNED_WIN_YML = [
  'provider: generic',
  'url: https://updates.example.com/coffer',
  'publisherName:',
  '  - Example Corp Ltd',
  "  - 'O''Brien Software'",
  'updaterCacheDirName: coffer-updater',
  '',
].join('\n');

const none: PolicyState = { status: 'none', origin: '/etc/coffer/policy.json' };
const withUrl = (updateUrl: string): PolicyState => ({
  status: 'active',
  origin: 'HKLM',
  policy: { updateUrl },
});
const base: UpdateContext = {
  platform: 'win32',
  isPackaged: true,
  policy: none,
  builtInUrl: undefined,
  appUpdateYml: SIGNED_WIN_YML,
  macCodeSigned: false,
};

describe('decideUpdates', () => {
  it('makes no call at all without a URL', () => {
    expect(decideUpdates(base)).toMatchObject({
      enabled: false,
      reason: expect.stringContaining('no update URL') as string,
    });
    expect(decideUpdates({ ...base, builtInUrl: '  ' }).enabled).toBe(false);
  });

  it('uses the policy URL over the built-in one', () => {
    const decision = decideUpdates({
      ...base,
      builtInUrl: 'https://vendor.example/coffer',
      policy: withUrl('https://mirror.corp.example/coffer'),
    });
    expect(decision).toEqual({
      enabled: true,
      url: 'https://mirror.corp.example/coffer',
      source: 'policy',
      publisherNames: ['Example Corp Ltd', "O'Brien Software"],
    });
    expect(decideUpdates({ ...base, builtInUrl: 'https://vendor.example/coffer' })).toMatchObject({
      enabled: true,
      source: 'build',
    });
  });

  it('refuses unsigned channels on every OS', () => {
    const url = { builtInUrl: 'https://vendor.example/coffer' };
    expect(decideUpdates({ ...base, ...url, appUpdateYml: null })).toMatchObject({
      enabled: false,
      reason: expect.stringContaining('not code-signed') as string,
    });
    expect(
      decideUpdates({ ...base, ...url, appUpdateYml: 'provider: generic\nurl: https://x\n' }).enabled,
    ).toBe(false);
    expect(decideUpdates({ ...base, ...url, platform: 'darwin' }).enabled).toBe(false);
    expect(decideUpdates({ ...base, ...url, platform: 'darwin', macCodeSigned: true })).toMatchObject({
      enabled: true,
      publisherNames: [],
    });
    expect(decideUpdates({ ...base, ...url, platform: 'linux', macCodeSigned: true })).toMatchObject({
      enabled: false,
      reason: expect.stringContaining('package manager') as string,
    });
  });

  it('pauses with an invalid policy instead of falling back to the built-in URL', () => {
    const invalid: PolicyState = {
      status: 'invalid',
      origin: 'HKLM',
      problems: ['updateUrl: must be an https:// URL'],
    };
    expect(
      decideUpdates({ ...base, builtInUrl: 'https://vendor.example/coffer', policy: invalid }),
    ).toMatchObject({
      enabled: false,
      reason: expect.stringContaining('policy') as string,
    });
  });

  it('never updates development runs or over plain http', () => {
    expect(
      decideUpdates({ ...base, builtInUrl: 'https://vendor.example/coffer', isPackaged: false }).enabled,
    ).toBe(false);
    expect(decideUpdates({ ...base, builtInUrl: 'http://vendor.example/coffer' }).enabled).toBe(false);
  });
});

describe('publisherNamesFromAppUpdateYml', () => {
  it('reads a scalar, a list, or nothing', () => {
    expect(publisherNamesFromAppUpdateYml('publisherName: "Example Corp"\nprovider: generic\n')).toEqual([
      'Example Corp',
    ]);
    expect(publisherNamesFromAppUpdateYml(SIGNED_WIN_YML)).toEqual(['Example Corp Ltd', "O'Brien Software"]);
    expect(publisherNamesFromAppUpdateYml('provider: generic\n')).toEqual([]);
  });
});
