/**
 * Issue 12 item 2: the `runAsNode` fuse is off in every installer, and the keychain helper no longer needs
 * it (a utilityProcess in the app, a plain Node child in the CLI run by Node).
 * - the fuse settings of electron-builder.ts, flipped by electron-builder's own code (generateFuseConfig →
 *   @electron/fuses) into a binary carrying Electron's fuse wire, then read back;
 * - which launcher starts the keychain helper where, and that a Node child of an Electron binary is refused;
 * - the request handler the utilityProcess runs, against the real Secret Service.
 * A real utilityProcess needs the Electron binary, which these machines cannot download: that test reports
 * itself skipped with the reason.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cofferBuildConfig } from '../../electron-builder.js';
import { isCofferError } from '../../crypto/errors.js';
import { OsKeyStore } from '../services/keys/key-store.js';
import { NodeChildLauncher } from '../services/keys/keychain-helper.js';
import { answer } from '../services/keys/keychain-helper-process.js';
import { CLI_FLAG, cliArgv } from './cli-flag.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);

interface FusesModule {
  FuseV1Options: Record<string, number>;
  flipFuses(binary: string, config: unknown): Promise<number>;
  getCurrentFuseWire(binary: string): Promise<Record<number, number>>;
}
const fuses = require('@electron/fuses') as FusesModule;
const { SENTINEL, FuseState } = require('@electron/fuses/dist/constants.js') as {
  SENTINEL: string;
  FuseState: { ENABLE: number };
};
interface PackagerProto {
  generateFuseConfig(this: unknown, fuses: unknown): Promise<unknown>;
}
const { PlatformPackager } = require('app-builder-lib') as {
  PlatformPackager: { prototype: PackagerProto };
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-fuses-'));
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** A binary carrying Electron's V1 fuse wire with Electron's defaults (runAsNode on, as shipped). */
function standInBinary(): string {
  const file = path.join(work, `electron-${randomBytes(3).toString('hex')}`);
  // Order: RunAsNode, CookieEncryption, NodeOptions, NodeCliInspect, AsarIntegrity, OnlyLoadAppFromAsar,
  // BrowserV8Snapshot, GrantFileProtocolExtraPrivileges (FuseV1Options in @electron/fuses).
  const wire = Buffer.from('10110001', 'ascii');
  fs.writeFileSync(
    file,
    Buffer.concat([
      randomBytes(64),
      Buffer.from(SENTINEL),
      Buffer.from([1, wire.length]),
      wire,
      randomBytes(64),
    ]),
  );
  return file;
}

async function flipAndRead(binary: string): Promise<Record<string, boolean>> {
  const config = cofferBuildConfig({}).electronFuses;
  const fuseConfig = await PlatformPackager.prototype.generateFuseConfig.call({}, config);
  expect(await fuses.flipFuses(binary, fuseConfig)).toBe(1);
  const wire = await fuses.getCurrentFuseWire(binary);
  const on = (option: string): boolean => {
    const index = fuses.FuseV1Options[option];
    if (index === undefined) throw new Error(`no fuse ${option}`);
    return wire[index] === FuseState.ENABLE;
  };
  return Object.fromEntries(
    [
      'RunAsNode',
      'EnableCookieEncryption',
      'EnableNodeOptionsEnvironmentVariable',
      'EnableNodeCliInspectArguments',
      'EnableEmbeddedAsarIntegrityValidation',
      'OnlyLoadAppFromAsar',
      'GrantFileProtocolExtraPrivileges',
    ].map((option) => [option, on(option)]),
  );
}

const HARDENED = {
  RunAsNode: false,
  EnableCookieEncryption: true,
  EnableNodeOptionsEnvironmentVariable: false,
  EnableNodeCliInspectArguments: false,
  EnableEmbeddedAsarIntegrityValidation: true,
  OnlyLoadAppFromAsar: true,
  GrantFileProtocolExtraPrivileges: false,
};

describe('the fuses of every installer', () => {
  it('electron-builder.ts turns runAsNode off (and keeps the other hardening)', () => {
    expect(cofferBuildConfig({}).electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it("electron-builder's fuse step writes them into a binary with Electron's fuse wire", async () => {
    expect(await flipAndRead(standInBinary())).toEqual(HARDENED);
  });

  const real = path.join(ROOT, 'node_modules/electron/dist/electron');
  const noBinary = fs.existsSync(real)
    ? null
    : 'the Electron binary is not downloaded (node_modules/electron/dist); GitHub is unreachable here';
  if (noBinary) console.warn(`[fuses] real-binary fuse test skipped: ${noBinary}`);
  it.skipIf(noBinary !== null)('… and into a copy of the real Electron binary', async () => {
    const copy = path.join(work, 'electron-real');
    fs.copyFileSync(real, copy);
    expect(await flipAndRead(copy)).toEqual(HARDENED);
  });
});

describe('where the keychain helper runs', () => {
  it('the CLI, run by Node, starts it as a plain Node child', () => {
    expect(new OsKeyStore({ service: 'CofferTest-launcher' }).launcher.kind).toBe('node-child');
  });

  it('the app passes the utilityProcess launcher to the composition root; the installed CLI uses it too', () => {
    // main.ts and cli-mode.ts import electron, which loads only inside the Electron binary: read, not run.
    const main = fs.readFileSync(path.join(ROOT, 'electron/main/main.ts'), 'utf8');
    expect(main).toMatch(/buildApp\(\{[\s\S]*keychainLauncher: new UtilityProcessLauncher\(\)/);
    const cliMode = fs.readFileSync(path.join(ROOT, 'electron/main/cli-mode.ts'), 'utf8');
    expect(cliMode).toContain('useKeychainLauncher(new UtilityProcessLauncher())');
    const launcher = fs.readFileSync(path.join(ROOT, 'electron/main/keychain-utility.ts'), 'utf8');
    expect(launcher).toContain('utilityProcess.fork(HELPER_MODULE');
    expect(launcher).not.toMatch(/ELECTRON_RUN_AS_NODE\s*[=:]/);
  });

  it('a Node child of the Electron binary is refused, not started as a second app', async () => {
    // A stand-in "Electron binary" that would leave a mark if it were ever started.
    const mark = path.join(work, 'started');
    const binary = path.join(work, 'fake-electron.sh');
    fs.writeFileSync(binary, `#!/bin/sh\ntouch '${mark}'\n`, { mode: 0o755 });
    const launcher = new NodeChildLauncher(undefined, {
      execPath: binary,
      versions: { electron: '45.5.0' },
    });
    const store = new OsKeyStore({ service: 'CofferTest-fuse', launcher });
    const error: unknown = await store.get('device-key').catch((e: unknown) => e);
    expect(isCofferError(error) && error.code).toBe('KEYCHAIN_UNAVAILABLE');
    expect(String(error)).toMatch(/runAsNode fuse is off/);
    expect(fs.existsSync(mark)).toBe(false);
  });

  it('nothing in the shipped code or the `coffer` wrappers sets ELECTRON_RUN_AS_NODE', () => {
    for (const file of [
      'electron/services/keys/keychain-helper.ts',
      'electron/services/keys/key-store.ts',
      'build/cli/coffer',
      'build/cli/coffer.cmd',
    ]) {
      expect(fs.readFileSync(path.join(ROOT, file), 'utf8'), file).not.toMatch(/ELECTRON_RUN_AS_NODE\s*[=:]/);
    }
    expect(fs.readFileSync(path.join(ROOT, 'build/cli/coffer'), 'utf8')).toContain(`${CLI_FLAG} "$@"`);
    expect(fs.readFileSync(path.join(ROOT, 'build/cli/coffer.cmd'), 'utf8')).toContain(`${CLI_FLAG} %*`);
  });

  it('the installed CLI gets its own arguments, after the flag', () => {
    expect(
      cliArgv(['/opt/Coffer/coffer-app', '--ozone-platform=headless', CLI_FLAG, '--json', 'status']),
    ).toEqual(['coffer', 'coffer', '--json', 'status']);
  });

  // No test starts the helper as a real utilityProcess yet (it needs the Electron binary and a driven app);
  // the handler below runs in plain Node against the real Secret Service. Said on every run, not hidden:
  console.warn(
    '[fuses] the keychain helper has not been started as a real utilityProcess by any test (needs the Electron binary)',
  );
});

const noKeyring =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ?? 'not run under scripts/with-keyring.sh');
if (noKeyring) console.warn(`[fuses] utilityProcess handler test skipped: ${noKeyring}`);

describe.skipIf(noKeyring !== null)(
  'the utilityProcess helper’s handler, against the real Secret Service',
  () => {
    const { AsyncEntry } = require('@napi-rs/keyring') as { AsyncEntry: Parameters<typeof answer>[1] };
    const service = `CofferTest-utility-${randomBytes(4).toString('hex')}`;
    const ask = async (request: object): Promise<unknown> =>
      JSON.parse(await answer(JSON.stringify({ service, account: 'a', ...request }), AsyncEntry)) as unknown;

    it('sets, gets and deletes; a missing entry is null; garbage is a reply, not a crash', async () => {
      expect(await ask({ id: 1, op: 'get' })).toEqual({ id: 1, ok: true, value: null });
      expect(await ask({ id: 2, op: 'set', secret: 'c2VjcmV0' })).toEqual({ id: 2, ok: true, value: null });
      expect(await ask({ id: 3, op: 'get' })).toEqual({ id: 3, ok: true, value: 'c2VjcmV0' });
      expect(await ask({ id: 4, op: 'delete' })).toEqual({ id: 4, ok: true, value: true });
      expect(await ask({ id: 5, op: 'get' })).toEqual({ id: 5, ok: true, value: null });
      expect(JSON.parse(await answer('not json', AsyncEntry))).toMatchObject({ id: 0, ok: false });
    });
  },
);
