/**
 * restore-device and rotate-device-key at the service level, with real files and real libsodium: a keychain
 * failing at any step (a fake keychain on purpose: no real one fails at an exact call) leaves every file
 * opening; once they complete, only a fresh key writes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBackend } from '../../../crypto/sodium.js';
import { encryptFd } from '../../../crypto/file.js';
import { deviceKeyId, formatKeyId, generateDeviceKey, type Identity } from '../../../crypto/keys.js';
import { FailingKeyStore } from '../../../e2e/helpers/failing-key-store.js';
import { opens as opensWith } from '../../../e2e/helpers/opens.js';
import { JsonSettingsStore } from '../settings.js';
import { DeviceKeyService } from './device-key.js';
import { createEscrowRecord, serializeEscrowRecord } from './escrow.js';
import { MemoryKeyStore, type KeyStore } from './key-store.js';
import { generateRecoveryCode, parseRecoveryCode } from './recovery-code.js';
import { RecoveryService, type RewrapSummary } from './recovery-service.js';
import { TrustedRecoveryKeys } from './trusted-keys.js';

const sodium = await loadBackend('wasm');
const idOf = (key: Uint8Array): string => formatKeyId(deviceKeyId(sodium, key));

function world() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-restore-'));
  const inner = new MemoryKeyStore();
  const settings = new JsonSettingsStore(path.join(dir, 'settings.json'));
  const trustedKeys = new TrustedRecoveryKeys(sodium, settings);
  const services = (keyStore: KeyStore = inner) => {
    const deviceKeys = new DeviceKeyService({
      sodium,
      keyStore,
      settings,
      trustedKeys,
      lockDir: path.join(dir, 'locks'),
    });
    const recovery = new RecoveryService({
      sodium,
      deviceKeys,
      trustedKeys,
      settings,
      escrowFile: path.join(dir, 'escrow.json'),
    });
    return { deviceKeys, recovery };
  };
  /** A real encrypted file, written for `key` only. */
  const encryptFor = (key: Uint8Array, name: string): string => {
    const plain = path.join(dir, name);
    fs.writeFileSync(plain, `content of ${name}\n`);
    const out = `${plain}.coffer`;
    const input = fs.openSync(plain, 'r');
    const output = fs.openSync(out, 'w');
    try {
      encryptFd(sodium, input, output, { recipients: [{ kind: 'device', key }], name });
    } finally {
      fs.closeSync(input);
      fs.closeSync(output);
    }
    return out;
  };
  const opens = (file: string, identities: Identity[]): boolean => opensWith(sodium, file, identities);
  return { dir, inner, settings, services, encryptFor, opens };
}

describe('restore-device at the service level', () => {
  for (const mode of ['before', 'after'] as const) {
    it(`--replace with the keychain failing ${mode} its Nth call, for every N: every file still opens`, async () => {
      let completed = false;
      for (let n = 1; !completed; n++) {
        expect(n, 'the restore never completed').toBeLessThan(60);
        const w = world();
        const current = await w.services().deviceKeys.getOrCreateDeviceKey();
        const mine = w.encryptFor(current, 'mine.txt');
        const org = sodium.boxKeypair();
        const restored = generateDeviceKey(sodium);
        const theirs = w.encryptFor(restored, 'theirs.txt');
        const record = path.join(w.dir, 'record.json');
        fs.writeFileSync(
          record,
          serializeEscrowRecord(
            createEscrowRecord(sodium, {
              deviceKey: restored,
              code: generateRecoveryCode(sodium),
              recoveryPublicKeys: [org.publicKey],
            }),
          ),
        );
        const failing = new FailingKeyStore(w.inner, n, mode);
        let rewraps = 0;
        const rewrapRegistered = (): Promise<RewrapSummary> => {
          rewraps++;
          return Promise.resolve({ filesTotal: 0, inPlace: 0, copied: 0, unchanged: 0, failed: [] });
        };
        let result;
        try {
          result = await w
            .services(failing)
            .recovery.restoreDevice(
              record,
              { kind: 'recovery', identity: { kind: 'recovery', ...org } },
              { replace: true, rewrapRegistered },
            );
          completed = true;
        } catch (error) {
          expect(String(error)).toMatch(/keychain failed|KEYCHAIN_UNAVAILABLE|did not keep/);
        }
        const after = w.services();
        const identities = await after.deviceKeys.identities();
        expect(w.opens(mine, identities), `mine, failure at call ${n} (${mode})`).toBe(true);
        if (!completed) continue;
        expect(w.opens(theirs, identities)).toBe(true);
        expect(rewraps).toBe(1);
        // The restored key and the replaced one only read; a fresh key writes, and the new code is for it.
        const writer = (await after.deviceKeys.recipients()).find((r) => r.kind === 'device');
        if (writer?.kind !== 'device') throw new Error('no device recipient');
        expect([idOf(current), idOf(restored)]).not.toContain(idOf(writer.key));
        expect(result?.deviceKeyId).toBe(idOf(writer.key));
        expect(result?.replacedKeyId).toBe(idOf(current));
        expect(result?.restoredKeyId).toBe(idOf(restored));
        expect(result?.newCode?.deviceKeyId).toBe(idOf(writer.key));
      }
    });
  }

  it('a record for a code already used, or sealed to another key, is refused before anything changes', async () => {
    const w = world();
    const { recovery, deviceKeys } = w.services();
    const org = sodium.boxKeypair();
    const record = path.join(w.dir, 'record.json');
    fs.writeFileSync(
      record,
      serializeEscrowRecord(
        createEscrowRecord(sodium, {
          deviceKey: generateDeviceKey(sodium),
          code: generateRecoveryCode(sodium),
          recoveryPublicKeys: [org.publicKey],
        }),
      ),
    );
    const other = formatKeyId(new Uint8Array(8).fill(9));
    await expect(recovery.checkRestore(record, { kind: 'recovery', keyId: other })).rejects.toMatchObject({
      code: 'NO_MATCHING_KEY',
    });
    await expect(recovery.checkRestore(record, { kind: 'code', codeKeyId: other })).rejects.toMatchObject({
      code: 'WRONG_RECOVERY_CODE',
    });
    w.settings.update((s) => ({ ...s, usedRecoveryCodeIds: [other] }));
    await expect(recovery.checkRestore(record, { kind: 'code', codeKeyId: other })).rejects.toMatchObject({
      code: 'RECOVERY_CODE_USED',
    });
    expect(await deviceKeys.list()).toEqual({ current: null, readOnly: [] });
  });
});

describe('rotateDeviceKey', () => {
  it('a fresh key writes, the old one reads, the escrow record is for the new key', async () => {
    const w = world();
    const { recovery, deviceKeys } = w.services();
    const old = await deviceKeys.getOrCreateDeviceKey();
    const file = w.encryptFor(old, 'old.txt');
    const result = await recovery.rotateDeviceKey();
    expect(result.previousKeyId).toBe(idOf(old));
    expect(result.deviceKeyId).not.toBe(idOf(old));
    expect(recovery.currentEscrow()?.deviceKeyId).toBe(result.deviceKeyId);
    const fresh = w.services();
    expect(w.opens(file, await fresh.deviceKeys.identities())).toBe(true);
    expect(await fresh.deviceKeys.deviceKeyId()).toBe(result.deviceKeyId);
    expect(result.rewrap).toBeNull();
  });

  it('R5: a code made by a process that cached the key before a rotation elsewhere is for the key that writes', async () => {
    const w = world();
    const app = w.services(); // the app, running since before the rotation
    await app.deviceKeys.getOrCreateDeviceKey();
    const cli = w.services(); // `coffer rotate-device-key` in a terminal
    const rotated = await cli.recovery.rotateDeviceKey();
    // The user then makes a new code in the app: it must restore the key that writes, and must not
    // replace the rotation's record with one for the read-only key.
    const issued = await app.recovery.issueCode();
    expect(issued.deviceKeyId).toBe(rotated.deviceKeyId);
    expect(cli.recovery.currentEscrow()?.deviceKeyId).toBe(rotated.deviceKeyId);
    expect(await app.recovery.confirmCode(parseRecoveryCode(issued.code))).toMatchObject({
      deviceKeyId: rotated.deviceKeyId,
    });
  });

  it('without a device key: NO_DEVICE_KEY, and no key is made', async () => {
    const w = world();
    const { recovery, deviceKeys } = w.services();
    await expect(recovery.rotateDeviceKey()).rejects.toMatchObject({ code: 'NO_DEVICE_KEY' });
    expect(await deviceKeys.list()).toEqual({ current: null, readOnly: [] });
  });
});
