/** The personal recovery code: 128 bits as 8 groups of 6 digits, each a multiple of 11 (FORMAT.md §11.3). */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError } from '../../../crypto/errors.js';

export const CODE_BYTES = 16;
const GROUPS = 8;
const encoder = new TextEncoder();
const CODE_ID_LABEL = encoder.encode('coffer v1 recovery code id');
const CODE_WRAP_LABEL = encoder.encode('coffer v1 recovery code wrap');

export function generateRecoveryCode(sodium: SodiumBackend): Uint8Array {
  return sodium.randomBytes(CODE_BYTES);
}

export function formatRecoveryCode(code: Uint8Array): string {
  if (code.length !== CODE_BYTES) throw new RangeError(`a recovery code has ${CODE_BYTES} bytes`);
  const groups: string[] = [];
  for (let i = 0; i < GROUPS; i++) {
    const value = (code[2 * i] ?? 0) + 256 * (code[2 * i + 1] ?? 0);
    groups.push(String(value * 11).padStart(6, '0'));
  }
  return groups.join('-');
}

function badCode(message: string): CofferError {
  return new CofferError(
    'BAD_RECOVERY_CODE',
    message,
    'Read the code again from where it was written down: 8 groups of 6 digits (spaces and dashes are optional).',
  );
}

/** Tolerates spaces and dashes; names a mistyped group by its number, 1..8 (§11.3). */
export function parseRecoveryCode(text: string): Uint8Array {
  const digits = text.replace(/[\s-]/g, '');
  if (!/^[0-9]*$/.test(digits)) throw badCode('A recovery code has only digits, spaces and dashes');
  if (digits.length !== GROUPS * 6) {
    throw badCode(`A recovery code has 48 digits; this one has ${digits.length}`);
  }
  const code = new Uint8Array(CODE_BYTES);
  const wrong: number[] = [];
  for (let i = 0; i < GROUPS; i++) {
    const group = Number(digits.slice(6 * i, 6 * i + 6));
    const value = group / 11;
    if (group % 11 !== 0 || value > 0xffff) {
      wrong.push(i + 1);
      continue;
    }
    code[2 * i] = value & 0xff;
    code[2 * i + 1] = value >> 8;
  }
  if (wrong.length === 1) throw badCode(`Group ${wrong[0]} of the recovery code is mistyped`);
  if (wrong.length > 1) throw badCode(`Groups ${wrong.join(', ')} of the recovery code are mistyped`);
  return code;
}

/** §11.3: shown with the code and recorded in the escrow record; reveals nothing about the code. */
export function recoveryCodeKeyId(sodium: SodiumBackend, code: Uint8Array): Uint8Array {
  return sodium.hash(32, CODE_ID_LABEL, code).slice(0, 8); // cut like §2.1 key IDs
}

/** §11.3: the key that wraps the device key in the escrow record. */
export function recoveryCodeWrapKey(sodium: SodiumBackend, code: Uint8Array): Uint8Array {
  return sodium.hash(32, CODE_WRAP_LABEL, code);
}
