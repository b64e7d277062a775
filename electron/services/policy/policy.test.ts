import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCofferError } from '../../../crypto/errors.js';
import { formatKeyId, generateRecoveryKeyPair, recoveryKeyId, type Recipient } from '../../../crypto/keys.js';
import { createPolicyService } from './create.js';
import { ManagedPreferencesSource } from './macos-managed.js';
import { isPackagedRun, policySourceFor } from './platform.js';
import { PolicyService, type PolicyState } from './policy-service.js';
import { loadBackend } from '../../../crypto/sodium.js';
import { encodePublicKey, parsePublicKey } from '../keys/public-key-text.js';
import { parsePolicy, recoveryPublicKeyParser, type PolicyParseContext } from './schema.js';
import {
  FilePolicySource,
  LINUX_POLICY_FILE,
  type CommandResult,
  type PolicySource,
  type RunCommand,
} from './sources.js';
import { parseRegQuery, RegistryPolicySource } from './windows-registry.js';

const sodium = await loadBackend('wasm');
const pairA = generateRecoveryKeyPair(sodium);
const KEY_A = encodePublicKey(sodium, pairA.publicKey); // FORMAT.md §11.2 text, as IT pastes it into policy
const KEY_B = encodePublicKey(sodium, generateRecoveryKeyPair(sodium).publicKey);
const ctx: PolicyParseContext = {
  parseRecoveryPublicKey: recoveryPublicKeyParser(sodium),
  homeDir: '/home/ada',
};
const recovery = (text: string): Recipient => ({ kind: 'recovery', publicKey: parsePublicKey(sodium, text) });
/** One character changed, the way a key is mistyped when copied into a GPO. */
const mistype = (text: string): string =>
  `${text.slice(0, 30)}${text[30] === 'A' ? 'B' : 'A'}${text.slice(31)}`;
const device: Recipient = { kind: 'device', key: new Uint8Array(32) };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isCofferError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

class StaticSource implements PolicySource {
  readonly origin = 'test';
  constructor(public values: unknown) {}
  read() {
    return Promise.resolve(
      this.values === undefined
        ? ({ kind: 'absent', origin: this.origin } as const)
        : ({ kind: 'present', origin: this.origin, values: this.values } as const),
    );
  }
}

async function serviceWith(values: unknown): Promise<PolicyService> {
  const service = new PolicyService({
    ...ctx,
    source: new StaticSource(values),
    caseInsensitivePaths: false,
    pollMs: 0,
  });
  await service.start();
  return service;
}

describe('parsePolicy', () => {
  it('reads every setting from JSON', () => {
    const result = parsePolicy(
      {
        recoveryPublicKeys: [KEY_A, KEY_B, KEY_A],
        requireRecoveryKey: true,
        mandatoryFolders: ['~/Customers', '/srv/shared/../cases/'],
        allowUnprotect: false,
        allowDecryptCopy: true,
        autoLockMinutes: 15,
        updateUrl: 'https://updates.example.com/coffer/',
      },
      ctx,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policy.recoveryPublicKeys?.map((k) => k.text)).toEqual([KEY_A, KEY_B]); // duplicates dropped
    expect(result.policy.mandatoryFolders).toEqual(['/home/ada/Customers', '/srv/cases']);
    expect(result.policy.allowUnprotect).toBe(false);
    expect(result.policy.autoLockMinutes).toBe(15);
  });

  it('reads registry and plist shapes: DWORD flags and lists as JSON strings', () => {
    const result = parsePolicy(
      { allowUnprotect: 0, requireRecoveryKey: 1, recoveryPublicKeys: JSON.stringify([KEY_A]) },
      ctx,
    );
    expect(result).toMatchObject({ ok: true, policy: { allowUnprotect: false, requireRecoveryKey: true } });
  });

  it.each([
    [{ allowUnprotec: false }, '"allowUnprotec" is not a Coffer setting'],
    [{ allowUnprotect: 'no' }, 'allowUnprotect'],
    [{ allowUnprotect: 2 }, 'allowUnprotect'],
    [{ recoveryPublicKeys: ['not a key'] }, 'recoveryPublicKeys.0: Not a Coffer recovery public key'],
    [{ recoveryPublicKeys: [mistype(KEY_A)] }, 'checksum'],
    [{ recoveryPublicKeys: [Buffer.from(pairA.publicKey).toString('base64')] }, 'must start with'],
    [{ recoveryPublicKeys: KEY_A }, 'recoveryPublicKeys'], // a bare string is not a list
    [{ mandatoryFolders: ['Customers'] }, 'mandatoryFolders.0: must be an absolute path'],
    [{ mandatoryFolders: [''] }, 'mandatoryFolders.0'],
    [{ autoLockMinutes: 0 }, 'autoLockMinutes'],
    [{ autoLockMinutes: 2.5 }, 'autoLockMinutes'],
    [{ updateUrl: 'http://updates.example.com/' }, 'https://'],
    [{ updateUrl: 'not a url' }, 'updateUrl'],
    [[], '(policy)'],
    ['{}', '(policy)'],
  ])('rejects %j, naming the problem', (raw, expected) => {
    const result = parsePolicy(raw, ctx);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join('\n')).toContain(expected);
  });

  it('lists every problem at once: a wrong type does not hide a mistyped key or a relative folder', () => {
    const result = parsePolicy(
      {
        allowUnprotect: 'maybe',
        recoveryPublicKeys: [mistype(KEY_A), KEY_B],
        mandatoryFolders: ['Customers', '/srv/ok'],
      },
      ctx,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems).toHaveLength(3);
      expect(result.problems.join('\n')).toMatch(/allowUnprotect/);
      expect(result.problems.join('\n')).toMatch(/recoveryPublicKeys\.0: .*checksum/);
      expect(result.problems.join('\n')).toMatch(/mandatoryFolders\.0: must be an absolute path/);
    }
  });

  it('applies Windows path rules to Windows policies', () => {
    const result = parsePolicy(
      { mandatoryFolders: ['C:\\Data\\Customers', '~\\Documents'] },
      { ...ctx, homeDir: 'C:\\Users\\ada', pathApi: path.win32 },
    );
    expect(result.ok).toBe(true);
    if (result.ok)
      expect(result.policy.mandatoryFolders).toEqual(['C:\\Data\\Customers', 'C:\\Users\\ada\\Documents']);
  });
});

describe('PolicyService enforcement', () => {
  it('without a policy, allows everything and requires nothing', async () => {
    const service = await serviceWith(undefined);
    expect(service.state.status).toBe('none');
    expect(() => {
      service.requireRecipients([device]);
      service.assertCanUnprotect();
      service.assertCanDecryptCopy();
      service.assertCanRemoveFolder('/home/ada/Customers');
    }).not.toThrow();
    expect(service.recoveryRecipients()).toEqual([]);
    expect(service.managedSettings()).toEqual([]);
  });

  it('refuses to encrypt without the recovery key when the policy requires one', async () => {
    const staged = await serviceWith({ requireRecoveryKey: true });
    expect(
      codeOf(() => {
        staged.requireRecipients([device]);
      }),
    ).toBe('NO_RECOVERY_KEY');

    const deployed = await serviceWith({ requireRecoveryKey: true, recoveryPublicKeys: [KEY_A, KEY_B] });
    expect(
      codeOf(() => {
        deployed.requireRecipients([device]);
      }),
    ).toBe('NO_RECOVERY_KEY');
    expect(
      codeOf(() => {
        deployed.requireRecipients([device, recovery(KEY_A)]);
      }),
    ).toBe('NO_RECOVERY_KEY');
    expect(
      codeOf(() => {
        deployed.requireRecipients([device, ...deployed.recoveryRecipients()]);
      }),
    ).toBe('no error');
  });

  it('deployed keys are required even when requireRecoveryKey is not set', async () => {
    const service = await serviceWith({ recoveryPublicKeys: [KEY_A] });
    expect(
      codeOf(() => {
        service.requireRecipients([device]);
      }),
    ).toBe('NO_RECOVERY_KEY');
    expect(
      codeOf(() => {
        service.requireRecipients([device, recovery(KEY_A)]);
      }),
    ).toBe('no error');
  });

  it('keeps mandatory folders, however the path is spelled', async () => {
    const service = await serviceWith({ mandatoryFolders: ['~/Customers'] });
    expect(
      codeOf(() => {
        service.assertCanRemoveFolder('/home/ada/Customers/');
      }),
    ).toBe('POLICY_FORBIDS');
    expect(
      codeOf(() => {
        service.assertCanRemoveFolder('/home/ada/x/../Customers');
      }),
    ).toBe('POLICY_FORBIDS');
    expect(
      codeOf(() => {
        service.assertCanRemoveFolder('/home/ada/Other');
      }),
    ).toBe('no error');
    expect(service.isMandatoryFolder('/home/ada/customers')).toBe(false);
  });

  it('compares folders case-insensitively where the OS does', async () => {
    const service = new PolicyService({
      ...ctx,
      homeDir: 'C:\\Users\\ada',
      pathApi: path.win32,
      caseInsensitivePaths: true,
      pollMs: 0,
      source: new StaticSource({ mandatoryFolders: ['~\\Customers'] }),
    });
    await service.start();
    expect(
      codeOf(() => {
        service.assertCanRemoveFolder('c:\\users\\ADA\\customers\\');
      }),
    ).toBe('POLICY_FORBIDS');
  });

  it('refuses unprotect and decrypted copies when disallowed, and says what to do', async () => {
    const service = await serviceWith({ allowUnprotect: false, allowDecryptCopy: false });
    expect(
      codeOf(() => {
        service.assertCanUnprotect();
      }),
    ).toBe('POLICY_FORBIDS');
    expect(
      codeOf(() => {
        service.assertCanDecryptCopy();
      }),
    ).toBe('POLICY_FORBIDS');
    try {
      service.assertCanUnprotect();
    } catch (error) {
      expect(isCofferError(error) && error.hint).toMatch(/ask IT/i);
    }
    const allowed = await serviceWith({ allowUnprotect: true });
    expect(
      codeOf(() => {
        allowed.assertCanUnprotect();
      }),
    ).toBe('no error');
  });

  it('an invalid policy is never replaced by defaults: risky operations are refused', async () => {
    const service = await serviceWith({ allowUnprotect: 'sometimes', mandatoryFolders: ['~/Customers'] });
    expect(service.state.status).toBe('invalid');
    for (const operation of [
      () => {
        service.assertCanUnprotect();
      },
      () => {
        service.assertCanDecryptCopy();
      },
      () => {
        service.assertCanRemoveFolder('/anything');
      },
      () => {
        service.requireRecipients([device]);
      },
    ]) {
      expect(codeOf(operation)).toBe('POLICY_INVALID');
    }
    expect(service.recoveryRecipients()).toEqual([]); // for display only; encryption is refused above
    expect(service.updateUrl()).toBeUndefined();
    expect(service.autoLockMinutes(60)).toEqual({ minutes: 5, managed: true });
  });

  it('policy wins over user settings and lists what it manages', async () => {
    const service = await serviceWith({
      autoLockMinutes: 10,
      recoveryPublicKeys: [KEY_A],
      allowDecryptCopy: true,
    });
    expect(service.autoLockMinutes(60)).toEqual({ minutes: 10, managed: true });
    expect(service.managedSettings()).toEqual([
      { key: 'recoveryPublicKeys', value: [KEY_A] },
      { key: 'allowDecryptCopy', value: true },
      { key: 'autoLockMinutes', value: 10 },
    ]);
    const none = await serviceWith(undefined);
    expect(none.autoLockMinutes(60)).toEqual({ minutes: 60, managed: false });
  });
});

describe('FilePolicySource and live changes (real files)', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-policy-'));
    file = path.join(dir, 'policy.json');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads absent, present, and broken files', async () => {
    const source = new FilePolicySource(file, { requireAdminOwned: false });
    expect(await source.read()).toEqual({ kind: 'absent', origin: file });
    fs.writeFileSync(file, JSON.stringify({ allowUnprotect: false }));
    expect(await source.read()).toEqual({ kind: 'present', origin: file, values: { allowUnprotect: false } });
    fs.writeFileSync(file, '{ "allowUnprotect": false, }');
    expect(await source.read()).toMatchObject({
      kind: 'unreadable',
      reason: expect.stringContaining('not valid JSON') as string,
    });
    fs.rmSync(file);
    fs.mkdirSync(file);
    expect(await source.read()).toMatchObject({ kind: 'unreadable', reason: 'not a regular file' });
  });

  it('does not trust a machine policy file that users could edit', async () => {
    if (process.getuid?.() !== 0) {
      console.warn('skipped: changing file ownership needs root; this check runs in CI as root');
      return;
    }
    const source = new FilePolicySource(file, { requireAdminOwned: true });
    fs.writeFileSync(file, '{}', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    expect((await source.read()).kind).toBe('present');
    fs.chmodSync(file, 0o664);
    expect(await source.read()).toMatchObject({
      kind: 'unreadable',
      reason: expect.stringContaining('writable') as string,
    });
    fs.chmodSync(file, 0o644);
    fs.chownSync(file, 1000, 1000);
    expect(await source.read()).toMatchObject({
      kind: 'unreadable',
      reason: expect.stringContaining('owned by root') as string,
    });
  });

  it('applies a changed policy without restart, and reports only real changes', async () => {
    fs.writeFileSync(file, JSON.stringify({ allowUnprotect: true }));
    const service = new PolicyService({
      ...ctx,
      source: new FilePolicySource(file, { requireAdminOwned: false }),
      caseInsensitivePaths: false,
      debounceMs: 20,
      pollMs: 0, // only the file watch, so this test proves that it works
    });
    const seen: PolicyState[] = [];
    service.onChange((state) => seen.push(state));
    await service.start();
    try {
      expect(
        codeOf(() => {
          service.assertCanUnprotect();
        }),
      ).toBe('no error');
      const changed = new Promise<void>((resolve) =>
        service.onChange(() => {
          resolve();
        }),
      );
      // Replace by rename, the way editors and config management write files.
      fs.writeFileSync(`${file}.new`, JSON.stringify({ allowUnprotect: false }));
      fs.renameSync(`${file}.new`, file);
      await changed;
      expect(
        codeOf(() => {
          service.assertCanUnprotect();
        }),
      ).toBe('POLICY_FORBIDS');

      const count = seen.length;
      await service.reload(); // same content: no event
      expect(seen.length).toBe(count);

      const invalid = new Promise<void>((resolve) =>
        service.onChange(() => {
          resolve();
        }),
      );
      fs.writeFileSync(file, '{"allowUnprotect": tru');
      await invalid;
      expect(service.state.status).toBe('invalid');
    } finally {
      service.stop();
    }
  });

  it('polling picks up a policy created after start in a folder that did not exist', async () => {
    const later = path.join(dir, 'etc-coffer', 'policy.json');
    const service = new PolicyService({
      ...ctx,
      source: new FilePolicySource(later, { requireAdminOwned: false }),
      caseInsensitivePaths: false,
      pollMs: 25,
    });
    await service.start();
    try {
      expect(service.state.status).toBe('none');
      const changed = new Promise<PolicyState>((resolve) => service.onChange(resolve));
      fs.mkdirSync(path.dirname(later));
      fs.writeFileSync(later, JSON.stringify({ mandatoryFolders: ['/data'] }));
      expect((await changed).status).toBe('active');
      expect(service.isMandatoryFolder('/data')).toBe(true);
    } finally {
      service.stop();
    }
  });
});

// reg.exe's output format (4-space separated name, type, data; REG_MULTI_SZ joined by a literal \0), as the
// ADMX template in build/policy/windows writes the values. Not captured on a Windows machine here: none is
// available; check it against `reg query` on one when the Windows build is set up.
const REG_OUTPUT = [
  '',
  'HKEY_LOCAL_MACHINE\\Software\\Policies\\Coffer',
  `    recoveryPublicKeys    REG_MULTI_SZ    ${KEY_A}\\0${KEY_B}`,
  '    requireRecoveryKey    REG_DWORD    0x1',
  '    mandatoryFolders    REG_SZ    ["C:\\\\Customers","~\\\\Documents\\\\Cases"]',
  '    allowUnprotect    REG_DWORD    0x0',
  '    autoLockMinutes    REG_DWORD    0xf',
  '    updateUrl    REG_SZ    https://updates.example.com/coffer/',
  '',
  'HKEY_LOCAL_MACHINE\\Software\\Policies\\Coffer\\Legacy',
  '',
].join('\r\n');

function replay(outputs: Record<string, CommandResult>): RunCommand & { calls: string[] } {
  const calls: string[] = [];
  const run = (command: string, args: readonly string[]) => {
    const line = [command, ...args].join(' ');
    calls.push(line);
    const result = outputs[line];
    if (result === undefined) throw new Error(`unexpected command: ${line}`);
    return Promise.resolve(result);
  };
  return Object.assign(run, { calls });
}

describe('Windows registry source (recorded reg.exe output)', () => {
  const env = { SystemRoot: 'C:\\Windows' };
  const query = 'C:\\Windows\\System32\\reg.exe query HKLM\\Software\\Policies\\Coffer /reg:64';
  const parent = 'C:\\Windows\\System32\\reg.exe query HKLM\\Software\\Policies /reg:64';

  it('parses value types into policy values', async () => {
    expect(parseRegQuery(REG_OUTPUT)).toEqual({
      recoveryPublicKeys: [KEY_A, KEY_B],
      requireRecoveryKey: 1,
      mandatoryFolders: '["C:\\\\Customers","~\\\\Documents\\\\Cases"]',
      allowUnprotect: 0,
      autoLockMinutes: 15,
      updateUrl: 'https://updates.example.com/coffer/',
    });
    const source = new RegistryPolicySource(
      replay({ [query]: { exitCode: 0, stdout: REG_OUTPUT, stderr: '' } }),
      env,
    );
    const read = await source.read();
    expect(read.kind).toBe('present');
    if (read.kind !== 'present') return;
    const parsed = parsePolicy(read.values, { ...ctx, homeDir: 'C:\\Users\\ada', pathApi: path.win32 });
    expect(parsed).toMatchObject({
      ok: true,
      policy: {
        requireRecoveryKey: true,
        allowUnprotect: false,
        autoLockMinutes: 15,
        mandatoryFolders: ['C:\\Customers', 'C:\\Users\\ada\\Documents\\Cases'],
      },
    });
  });

  it('tells a missing key (absent) from one it cannot read (invalid)', async () => {
    const missing = {
      exitCode: 1,
      stdout: '',
      stderr: 'ERROR: The system was unable to find the specified registry key or value.',
    };
    const parentWithout = {
      exitCode: 0,
      stdout: '\r\nHKEY_LOCAL_MACHINE\\Software\\Policies\\Microsoft\r\n',
      stderr: '',
    };
    const parentWith = {
      exitCode: 0,
      stdout: '\r\nHKEY_LOCAL_MACHINE\\Software\\Policies\\Coffer\r\n',
      stderr: '',
    };
    const absent = new RegistryPolicySource(replay({ [query]: missing, [parent]: parentWithout }), env);
    expect((await absent.read()).kind).toBe('absent');
    const denied = { exitCode: 1, stdout: '', stderr: 'ERROR: Access is denied.' };
    expect(
      await new RegistryPolicySource(replay({ [query]: denied, [parent]: parentWith }), env).read(),
    ).toMatchObject({
      kind: 'unreadable',
      reason: expect.stringContaining('Access is denied') as string,
    });
  });

  it('reports an unsupported registry type instead of dropping it', () => {
    const values = parseRegQuery('    allowUnprotect    REG_BINARY    00\r\n');
    expect(parsePolicy(values, ctx).ok).toBe(false);
  });
});

describe('macOS managed preferences source (recorded plutil output)', () => {
  const machine = '/Library/Managed Preferences/com.coffer.desktop.plist';
  // The shape `plutil -convert json -o - <file>` prints for the profile in build/policy/macos/ once installed
  // (not captured on a Mac here: none is available).
  const PLUTIL_JSON = JSON.stringify({
    PayloadUUID: '4C8E3D2A-0000-4000-8000-000000000001',
    recoveryPublicKeys: [KEY_A],
    requireRecoveryKey: true,
    allowDecryptCopy: false,
    mandatoryFolders: ['~/Customers'],
  });

  it('reads the machine profile and drops MDM bookkeeping keys', async () => {
    const run = replay({
      [`/usr/bin/plutil -convert json -o - ${machine}`]: { exitCode: 0, stdout: PLUTIL_JSON, stderr: '' },
    });
    const source = new ManagedPreferencesSource({
      bundleId: 'com.coffer.desktop',
      userName: 'ada',
      run,
      fileExists: (f) => f === machine,
    });
    const read = await source.read();
    expect(read).toMatchObject({ kind: 'present', origin: machine });
    if (read.kind === 'present') {
      expect(parsePolicy(read.values, { ...ctx, homeDir: '/Users/ada' })).toMatchObject({
        ok: true,
        policy: { allowDecryptCopy: false, mandatoryFolders: ['/Users/ada/Customers'] },
      });
    }
  });

  it('falls back to the user channel, and reports a plist it cannot convert', async () => {
    const user = '/Library/Managed Preferences/ada/com.coffer.desktop.plist';
    const run = replay({
      [`/usr/bin/plutil -convert json -o - ${user}`]: {
        exitCode: 1,
        stdout: '',
        stderr: 'invalid object in plist for destination format',
      },
    });
    const source = new ManagedPreferencesSource({
      bundleId: 'com.coffer.desktop',
      userName: 'ada',
      run,
      fileExists: (f) => f === user,
    });
    expect(await source.read()).toMatchObject({ kind: 'unreadable', origin: user });
    const none = new ManagedPreferencesSource({
      bundleId: 'com.coffer.desktop',
      userName: 'ada',
      run,
      fileExists: () => false,
    });
    expect((await none.read()).kind).toBe('absent');
    expect(run.calls).toHaveLength(1);
  });
});

describe('policySourceFor', () => {
  const run = replay({});
  it('picks the store of each OS, and honours COFFER_POLICY_FILE only in development builds', () => {
    const base = { env: {}, userName: 'ada', run, allowEnvOverride: false };
    expect(policySourceFor({ ...base, platform: 'linux' }).origin).toBe(LINUX_POLICY_FILE);
    expect(policySourceFor({ ...base, platform: 'win32' }).origin).toBe('HKLM\\Software\\Policies\\Coffer');
    expect(policySourceFor({ ...base, platform: 'darwin' }).origin).toBe(
      'managed preferences for com.coffer.desktop',
    );
    const env = { COFFER_POLICY_FILE: '/tmp/p.json' };
    expect(policySourceFor({ ...base, env, platform: 'win32' }).origin).toBe(
      'HKLM\\Software\\Policies\\Coffer',
    );
    expect(policySourceFor({ ...base, env, platform: 'win32', allowEnvOverride: true }).origin).toBe(
      '/tmp/p.json',
    );
  });

  it('knows an installed build by its app.asar', () => {
    expect(isPackagedRun('file:///opt/Coffer/resources/app.asar/dist/cli/main.js')).toBe(true);
    expect(isPackagedRun('file:///work/main/dist/cli/main.js')).toBe(false);
  });
});

describe('createPolicyService', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-policy-create-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads COFFER_POLICY_FILE in development runs and names recovery keys by key ID', async () => {
    const file = path.join(dir, 'policy.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ recoveryPublicKeys: [KEY_A], mandatoryFolders: ['~/Customers'] }),
    );
    const service = createPolicyService({
      sodium,
      allowEnvOverride: true,
      env: { COFFER_POLICY_FILE: file },
      platform: 'linux',
      homeDir: '/home/ada',
    });
    expect((await service.reload()).status).toBe('active');
    expect(service.managedSettings()[0]).toEqual({
      key: 'recoveryPublicKeys',
      value: [formatKeyId(recoveryKeyId(sodium, pairA.publicKey))],
    });
    expect(service.isMandatoryFolder('/home/ada/Customers')).toBe(true);
  });
});
