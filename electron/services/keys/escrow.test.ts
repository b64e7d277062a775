import { describe, expect, it } from 'vitest';
import { loadBackend } from '../../../crypto/sodium.js';
import { isCofferError } from '../../../crypto/errors.js';
import { generateDeviceKey } from '../../../crypto/keys.js';
import {
  createEscrowRecord,
  openEscrowWithCode,
  openEscrowWithRecoveryKey,
  parseEscrowRecord,
  resealEscrowRecord,
  serializeEscrowRecord,
} from './escrow.js';
import { generateRecoveryCode } from './recovery-code.js';

const sodium = await loadBackend('wasm');

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (isCofferError(error)) return error.code;
    throw error;
  }
  return 'ok';
}

describe('key escrow record (FORMAT.md §11.4)', () => {
  const deviceKey = generateDeviceKey(sodium);
  const code = generateRecoveryCode(sodium);
  const org = sodium.boxKeypair();
  const other = sodium.boxKeypair();
  const record = parseEscrowRecord(
    serializeEscrowRecord(
      createEscrowRecord(sodium, { deviceKey, code, recoveryPublicKeys: [org.publicKey] }),
    ),
  );

  it('opens with the code and with the organization key, giving the device key', () => {
    expect(openEscrowWithCode(sodium, record, code)).toEqual(deviceKey);
    expect(openEscrowWithRecoveryKey(sodium, record, { kind: 'recovery', ...org })).toEqual(deviceKey);
  });

  it('refuses another code (WRONG_RECOVERY_CODE) and another organization key (NO_MATCHING_KEY)', () => {
    expect(codeOf(() => openEscrowWithCode(sodium, record, generateRecoveryCode(sodium)))).toBe(
      'WRONG_RECOVERY_CODE',
    );
    expect(codeOf(() => openEscrowWithRecoveryKey(sodium, record, { kind: 'recovery', ...other }))).toBe(
      'NO_MATCHING_KEY',
    );
  });

  it('detects a swapped wrapped key or device key ID', () => {
    const tampered = { ...record, deviceKeyId: '0000-0000-0000-0000' };
    expect(codeOf(() => openEscrowWithCode(sodium, tampered, code))).toBe('WRONG_RECOVERY_CODE'); // the AD binds it
    const otherKey = createEscrowRecord(sodium, {
      deviceKey: generateDeviceKey(sodium),
      code,
      recoveryPublicKeys: [org.publicKey],
    });
    const spliced = { ...record, recovery: otherKey.recovery };
    expect(codeOf(() => openEscrowWithRecoveryKey(sodium, spliced, { kind: 'recovery', ...org }))).toBe(
      'BAD_ESCROW',
    );
  });

  it('rejects text that is not a record', () => {
    expect(codeOf(() => parseEscrowRecord('{'))).toBe('BAD_ESCROW');
    expect(codeOf(() => parseEscrowRecord(JSON.stringify({ ...record, version: 2 })))).toBe('BAD_ESCROW');
  });

  it('re-seals to exactly the new set: the code still opens it, a retired key no longer does', () => {
    const resealed = resealEscrowRecord(sodium, record, deviceKey, [other.publicKey]);
    expect(resealed.code).toEqual(record.code);
    expect(resealed.recovery).toHaveLength(1);
    expect(openEscrowWithCode(sodium, resealed, code)).toEqual(deviceKey);
    expect(openEscrowWithRecoveryKey(sodium, resealed, { kind: 'recovery', ...other })).toEqual(deviceKey);
    expect(codeOf(() => openEscrowWithRecoveryKey(sodium, resealed, { kind: 'recovery', ...org }))).toBe(
      'NO_MATCHING_KEY',
    );
    // Already exactly that set (a key given twice counts once): the same object, nothing to write.
    expect(resealEscrowRecord(sodium, resealed, deviceKey, [other.publicKey, other.publicKey])).toBe(
      resealed,
    );
    // An empty set leaves only the code.
    expect(resealEscrowRecord(sodium, record, deviceKey, []).recovery).toEqual([]);
  });

  it('refuses to re-seal with another device key (STALE_ESCROW): the code part would no longer match', () => {
    expect(
      codeOf(() => resealEscrowRecord(sodium, record, generateDeviceKey(sodium), [other.publicKey])),
    ).toBe('STALE_ESCROW');
  });
});
