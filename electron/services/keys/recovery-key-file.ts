/**
 * The organization recovery private-key file: the X25519 secret key encrypted under a passphrase with
 * Argon2id (FORMAT.md §11.1). It lives with the helpdesk, never on laptops.
 */
import fs from 'node:fs';
import { CofferError } from '../../../crypto/errors.js';
import type { Identity } from '../../../crypto/keys.js';

const MAGIC = Uint8Array.from([0x89, 0x43, 0x46, 0x4b, 0x0d, 0x0a, 0x1a, 0x0a]);
const VERSION = 1;
const SALT_BYTES = 16;
const NONCE_BYTES = 24;
const KEY_BYTES = 32;
const AD_BYTES = 8 + 1 + 4 + 4 + SALT_BYTES + KEY_BYTES; // 65: everything before the nonce
export const KEY_FILE_BYTES = AD_BYTES + NONCE_BYTES + KEY_BYTES + 16; // 137
// §11.1 reader bounds: a hostile file cannot make us spend more than 1 GiB or 16 passes.
const MAX_OPSLIMIT = 16;
const MIN_MEMLIMIT = 8192;
const MAX_MEMLIMIT = 1 << 30;

type Wasm = (typeof import('libsodium-wrappers-sumo'))['default'];

/**
 * libsodium's WASM build (Argon2id), loaded on first use: the CLI imports this module for its key-file
 * commands, and loading the WASM at import cost every `coffer` run ~0.14 s of CPU before its first step.
 */
async function wasm(): Promise<Wasm> {
  const { default: sodium } = await import('libsodium-wrappers-sumo');
  await sodium.ready;
  return sodium;
}

export interface KdfLimits {
  opslimit: number;
  memlimit: number;
}

/**
 * Argon2id limits for new key files: MODERATE (§11.1). COFFER_TEST_INSECURE_KDF=1 selects the minimum,
 * for test suites only; files written that way open anywhere but are weak against guessing. Only honoured
 * when `allowTestKdf` (a run from a checkout, like COFFER_POLICY_FILE): an installed build ignores it, so
 * a stray variable cannot weaken the organization's key file.
 */
export async function keyFileLimits(
  env: Readonly<Record<string, string | undefined>>,
  { allowTestKdf }: { allowTestKdf: boolean },
): Promise<KdfLimits> {
  const sodium = await wasm();
  if (allowTestKdf && env.COFFER_TEST_INSECURE_KDF === '1') {
    return { opslimit: sodium.crypto_pwhash_OPSLIMIT_MIN, memlimit: sodium.crypto_pwhash_MEMLIMIT_MIN };
  }
  return {
    opslimit: sodium.crypto_pwhash_OPSLIMIT_MODERATE,
    memlimit: sodium.crypto_pwhash_MEMLIMIT_MODERATE,
  };
}

function badFile(why: string): CofferError {
  return new CofferError(
    'BAD_KEY_FILE',
    `Not a Coffer recovery key file: ${why}`,
    'Check that you chose the organization recovery key file made by `coffer recovery keygen`, not a .coffer file or a copy cut short.',
  );
}

function deriveKey(sodium: Wasm, passphrase: string, salt: Uint8Array, limits: KdfLimits): Uint8Array {
  return sodium.crypto_pwhash(
    KEY_BYTES,
    passphrase,
    salt,
    limits.opslimit,
    limits.memlimit,
    sodium.crypto_pwhash_ALG_ARGON2ID13,
  );
}

export async function sealRecoveryKeyFile(
  keyPair: { publicKey: Uint8Array; secretKey: Uint8Array },
  passphrase: string,
  limits: KdfLimits,
): Promise<Uint8Array> {
  const sodium = await wasm();
  const out = new Uint8Array(KEY_FILE_BYTES);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[8] = VERSION;
  view.setUint32(9, limits.opslimit, true);
  view.setUint32(13, limits.memlimit, true);
  const salt = sodium.randombytes_buf(SALT_BYTES);
  out.set(salt, 17);
  out.set(keyPair.publicKey, 33);
  const nonce = sodium.randombytes_buf(NONCE_BYTES);
  out.set(nonce, AD_BYTES);
  const wrapKey = deriveKey(sodium, passphrase, salt, limits);
  try {
    const sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      keyPair.secretKey,
      out.subarray(0, AD_BYTES),
      null,
      nonce,
      wrapKey,
    );
    out.set(sealed, AD_BYTES + NONCE_BYTES);
  } finally {
    sodium.memzero(wrapKey);
  }
  return out;
}

function checkHead(bytes: Uint8Array): void {
  if (bytes.length !== KEY_FILE_BYTES) throw badFile(`it has ${bytes.length} bytes, not ${KEY_FILE_BYTES}`);
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw badFile('its first bytes are wrong');
  if (bytes[8] !== VERSION) throw badFile(`version ${bytes[8]} is not supported`);
}

/**
 * The public key of a key file, without its passphrase (§11.1: it is in the clear, bytes 33..65), so a
 * command can check that the file is the one it needs before asking for the passphrase.
 */
export function readRecoveryKeyFilePublicKey(file: string): Uint8Array {
  const bytes = readKeyFileBytes(file);
  checkHead(bytes);
  return bytes.slice(33, 65);
}

/** FORMAT.md §11.1 reader. The returned identity holds the secret key: zero it when done. */
export async function openRecoveryKeyFile(
  bytes: Uint8Array,
  passphrase: string,
): Promise<Extract<Identity, { kind: 'recovery' }>> {
  const sodium = await wasm();
  checkHead(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const limits = { opslimit: view.getUint32(9, true), memlimit: view.getUint32(13, true) };
  if (limits.opslimit < 1 || limits.opslimit > MAX_OPSLIMIT) throw badFile('its opslimit is out of range');
  if (limits.memlimit < MIN_MEMLIMIT || limits.memlimit > MAX_MEMLIMIT)
    throw badFile('its memlimit is out of range');
  const salt = bytes.slice(17, 33);
  const publicKey = bytes.slice(33, 65);
  const nonce = bytes.slice(AD_BYTES, AD_BYTES + NONCE_BYTES);
  const wrapKey = deriveKey(sodium, passphrase, salt, limits);
  let secretKey: Uint8Array;
  try {
    secretKey = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      bytes.subarray(AD_BYTES + NONCE_BYTES),
      bytes.subarray(0, AD_BYTES),
      nonce,
      wrapKey,
    );
  } catch {
    throw new CofferError(
      'BAD_PASSPHRASE',
      'The passphrase does not open this recovery key file',
      'Type the passphrase again (it is case-sensitive), or check that this is the right key file.',
    );
  } finally {
    sodium.memzero(wrapKey);
  }
  const derived = sodium.crypto_scalarmult_base(secretKey);
  if (!sodium.memcmp(derived, publicKey)) {
    sodium.memzero(secretKey);
    throw badFile('its secret key does not match its public key');
  }
  return { kind: 'recovery', publicKey, secretKey };
}

export async function readRecoveryKeyFile(
  file: string,
  passphrase: string,
): Promise<Extract<Identity, { kind: 'recovery' }>> {
  return openRecoveryKeyFile(readKeyFileBytes(file), passphrase);
}

function readKeyFileBytes(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file)); // a plain copy: Buffer.slice would share memory
  } catch (error) {
    throw new CofferError(
      'KEY_FILE_UNREADABLE',
      `Cannot read the recovery key file ${file}: ${(error as Error).message}`,
      'Check the path and that you may read the file.',
      { cause: error },
    );
  }
}

/** Writes a new key file with mode 0600, never over an existing file (a lost private key loses files). */
export function writeRecoveryKeyFile(file: string, bytes: Uint8Array): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CofferError(
        'FILE_EXISTS',
        `${file} already exists`,
        'Choose another --out path; Coffer never overwrites a recovery key file.',
      );
    }
    throw error;
  }
  try {
    fs.writeFileSync(fd, bytes);
    fs.fchmodSync(fd, 0o600); // the umask may have narrowed nothing, but be explicit
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
