/**
 * The key escrow record: the device key wrapped under the personal recovery code and sealed to each trusted
 * organization recovery key (FORMAT.md §11.4).
 */
import { z } from 'zod';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError } from '../../../crypto/errors.js';
import { deviceKeyId, formatKeyId, recoveryKeyId, type Identity } from '../../../crypto/keys.js';
import { recoveryCodeKeyId, recoveryCodeWrapKey } from './recovery-code.js';

const b64 = z.string().regex(/^[A-Za-z0-9_-]*$/);
const keyIdText = z.string().regex(/^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/);

const escrowSchema = z.object({
  type: z.literal('coffer-escrow'),
  version: z.literal(1),
  deviceKeyId: keyIdText,
  createdAt: z.string(),
  code: z.object({ keyId: keyIdText, nonce: b64, wrapped: b64 }),
  recovery: z.array(z.object({ keyId: keyIdText, sealed: b64 })),
});

export type EscrowRecord = z.infer<typeof escrowSchema>;

const AD_LABEL = new TextEncoder().encode('coffer v1 escrow');

function codeAd(deviceId: Uint8Array, codeId: Uint8Array): Uint8Array {
  const ad = new Uint8Array(AD_LABEL.length + 16);
  ad.set(AD_LABEL);
  ad.set(deviceId, AD_LABEL.length);
  ad.set(codeId, AD_LABEL.length + 8);
  return ad;
}

const enc = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const dec = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));

export function createEscrowRecord(
  sodium: SodiumBackend,
  input: { deviceKey: Uint8Array; code: Uint8Array; recoveryPublicKeys: readonly Uint8Array[]; now?: Date },
): EscrowRecord {
  const deviceId = deviceKeyId(sodium, input.deviceKey);
  const codeId = recoveryCodeKeyId(sodium, input.code);
  const wrapKey = recoveryCodeWrapKey(sodium, input.code);
  const nonce = sodium.randomBytes(24);
  const wrapped = sodium.aeadEncrypt(input.deviceKey, codeAd(deviceId, codeId), nonce, wrapKey);
  sodium.zero(wrapKey);
  return {
    type: 'coffer-escrow',
    version: 1,
    deviceKeyId: formatKeyId(deviceId),
    createdAt: (input.now ?? new Date()).toISOString(),
    code: { keyId: formatKeyId(codeId), nonce: enc(nonce), wrapped: enc(wrapped) },
    recovery: input.recoveryPublicKeys.map((publicKey) => ({
      keyId: formatKeyId(recoveryKeyId(sodium, publicKey)),
      sealed: enc(sodium.boxSeal(input.deviceKey, publicKey)),
    })),
  };
}

function badEscrow(why: string): CofferError {
  return new CofferError(
    'BAD_ESCROW',
    `Not a valid Coffer escrow record: ${why}`,
    'Use the escrow file exported with `coffer recovery escrow`, or the escrow.json from the user’s app data or backup.',
  );
}

export function parseEscrowRecord(text: string): EscrowRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw badEscrow('it is not JSON');
  }
  const result = escrowSchema.safeParse(json);
  if (!result.success) throw badEscrow(result.error.issues[0]?.message ?? 'wrong shape');
  return result.data;
}

export function serializeEscrowRecord(record: EscrowRecord): string {
  return JSON.stringify(record, null, 2) + '\n';
}

function checkDeviceKey(sodium: SodiumBackend, record: EscrowRecord, key: Uint8Array): Uint8Array {
  if (key.length !== 32 || formatKeyId(deviceKeyId(sodium, key)) !== record.deviceKeyId) {
    sodium.zero(key);
    throw badEscrow('the key inside does not match its device key ID');
  }
  return key;
}

/** The device key, from the record and the personal recovery code (§11.4). Zero it when done. */
export function openEscrowWithCode(
  sodium: SodiumBackend,
  record: EscrowRecord,
  code: Uint8Array,
): Uint8Array {
  const codeId = recoveryCodeKeyId(sodium, code);
  const wrong = new CofferError(
    'WRONG_RECOVERY_CODE',
    `This recovery code (key ID ${formatKeyId(codeId)}) is not the one for this escrow record (key ID ${record.code.keyId})`,
    'Use the most recent recovery code of this user (codes are replaced after use), or the organization recovery key.',
  );
  if (formatKeyId(codeId) !== record.code.keyId) throw wrong;
  const wrapKey = recoveryCodeWrapKey(sodium, code);
  const deviceId = hexId(record.deviceKeyId);
  const key = sodium.aeadDecrypt(
    dec(record.code.wrapped),
    codeAd(deviceId, codeId),
    dec(record.code.nonce),
    wrapKey,
  );
  sodium.zero(wrapKey);
  if (!key) throw wrong;
  return checkDeviceKey(sodium, record, key);
}

function hexId(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/-/g, ''), 'hex'));
}

/** The device key, from the record and an organization recovery identity (§11.4). Zero it when done. */
export function openEscrowWithRecoveryKey(
  sodium: SodiumBackend,
  record: EscrowRecord,
  identity: Extract<Identity, { kind: 'recovery' }>,
): Uint8Array {
  const id = formatKeyId(recoveryKeyId(sodium, identity.publicKey));
  const noMatch = new CofferError(
    'NO_MATCHING_KEY',
    `This escrow record is not sealed to recovery key ${id}; it is for ${
      record.recovery.map((r) => r.keyId).join(', ') || 'no recovery key'
    }`,
    'Use the organization recovery key whose ID is named, or the user’s personal recovery code.',
  );
  const entry = record.recovery.find((r) => r.keyId === id);
  if (!entry) throw noMatch;
  const key = sodium.boxSealOpen(dec(entry.sealed), identity.publicKey, identity.secretKey);
  if (!key) throw noMatch;
  return checkDeviceKey(sodium, record, key);
}

/**
 * The same record sealed to exactly `recoveryPublicKeys` (a change of the recovery key set, DESIGN.md "A key
 * set change reaches everything it governs"). The `code` part is kept as it is: the device key wrapped under
 * the personal code does not depend on recovery keys, so the user's code keeps working. `deviceKey` must be
 * the key the record holds (checked by its ID); an entry for a key no longer in the set is dropped, so the
 * new record gives a retired key nothing. Returns the record unchanged (same object) when it is already
 * sealed to exactly that set, so callers can skip a write.
 */
export function resealEscrowRecord(
  sodium: SodiumBackend,
  record: EscrowRecord,
  deviceKey: Uint8Array,
  recoveryPublicKeys: readonly Uint8Array[],
): EscrowRecord {
  if (deviceKey.length !== 32 || formatKeyId(deviceKeyId(sodium, deviceKey)) !== record.deviceKeyId) {
    throw new CofferError(
      'STALE_ESCROW',
      `The escrow record is for device key ${record.deviceKeyId}, not for this account's device key`,
      'Run `coffer recovery code` to make a new code and escrow record for the current device key.',
    );
  }
  const seen = new Set<string>();
  const keys = recoveryPublicKeys.filter((publicKey) => {
    const id = formatKeyId(recoveryKeyId(sodium, publicKey));
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  const current = record.recovery.map((r) => r.keyId);
  if (current.length === seen.size && current.every((id) => seen.has(id))) return record;
  return {
    ...record,
    recovery: keys.map((publicKey) => ({
      keyId: formatKeyId(recoveryKeyId(sodium, publicKey)),
      sealed: enc(sodium.boxSeal(deviceKey, publicKey)),
    })),
  };
}
