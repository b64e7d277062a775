/**
 * The authenticated envelope around each state file in app data (settings, folder registry, escrow record):
 *
 *   { "format": "coffer-state-1", "kind": "settings", "generation": 3, "body": "<exact JSON text>", "mac": "…" }
 *
 * `mac` is keyed BLAKE2b-256 under the state key (kept in the OS keychain, never in app data) over a domain
 * label, the kind, the generation and the exact body text, each length-prefixed so no two inputs encode
 * alike. Binding `kind` stops one signed file from being swapped in for another; MACing the body *text*
 * (not a re-serialization) means what was checked is byte for byte what is parsed.
 */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError } from '../../../crypto/errors.js';
import { decodeStrictBase64 } from '../strict-base64.js';

export const STATE_FORMAT = 'coffer-state-1';
export const STATE_KEY_BYTES = 32;
const MAC_BYTES = 32;
const DOMAIN = new TextEncoder().encode('coffer state mac v1\0');

export const STATE_KINDS = ['settings', 'folders', 'escrow'] as const;
export type StateKind = (typeof STATE_KINDS)[number];

export interface Envelope {
  format: typeof STATE_FORMAT;
  kind: StateKind;
  generation: number;
  body: string;
  mac: string;
}

/** Why a state file does not verify; `body` is its unverified content when it can be told, for review. */
export type Problem =
  | 'not-signed' // plain JSON (or anything that is not an envelope) where a signed file must be
  | 'malformed' // looks like an envelope, but a field is missing or of the wrong type
  | 'wrong-kind' // a valid-looking envelope of another state file
  | 'bad-mac' // the content or the MAC was changed
  | 'no-key' // the file is signed, but the state key is missing from the keychain
  | 'rolled-back' // a genuine but older copy (its generation is below the one recorded in the keychain)
  | 'removed'; // the file is gone, but the keychain records that it existed

export type Verdict =
  | { ok: true; generation: number; body: string }
  | { ok: false; problem: Problem; detail: string; generation?: number; body?: string };

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function macInput(kind: string, generation: number, body: string): Uint8Array {
  const kindBytes = new TextEncoder().encode(kind);
  const bodyBytes = new TextEncoder().encode(body);
  const parts = [DOMAIN, u32(kindBytes.length), kindBytes, u64(generation), u32(bodyBytes.length), bodyBytes];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function stateMac(
  sodium: SodiumBackend,
  key: Uint8Array,
  kind: string,
  generation: number,
  body: string,
): Uint8Array {
  return sodium.hash(MAC_BYTES, macInput(kind, generation, body), key);
}

/** The envelope's text, ready to be written. */
export function sealEnvelope(
  sodium: SodiumBackend,
  key: Uint8Array,
  kind: StateKind,
  generation: number,
  body: string,
): string {
  const mac = Buffer.from(stateMac(sodium, key, kind, generation, body)).toString('base64');
  const envelope: Envelope = { format: STATE_FORMAT, kind, generation, body, mac };
  return JSON.stringify(envelope, null, 2) + '\n';
}

/** True when `text` claims to be an envelope (whether or not it verifies). */
export function looksSigned(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && 'format' in parsed && 'mac' in parsed;
  } catch {
    return false;
  }
}

/** Checks `text` as the state file of `kind`; `key` null means the keychain holds no state key. */
export function verifyEnvelope(
  sodium: SodiumBackend,
  key: Uint8Array | null,
  kind: StateKind,
  text: string,
): Verdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not-signed', detail: 'it is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || !('format' in parsed)) {
    return {
      ok: false,
      problem: 'not-signed',
      detail: 'it is plain JSON without a signature (written by hand or by another program)',
      body: text,
    };
  }
  const e = parsed as Partial<Record<keyof Envelope, unknown>>;
  if (
    e.format !== STATE_FORMAT ||
    typeof e.kind !== 'string' ||
    typeof e.generation !== 'number' ||
    !Number.isSafeInteger(e.generation) ||
    e.generation < 1 ||
    typeof e.body !== 'string' ||
    typeof e.mac !== 'string'
  ) {
    return { ok: false, problem: 'malformed', detail: 'its signature fields are missing or damaged' };
  }
  const unverified = { generation: e.generation, body: e.body };
  if (key === null) {
    return {
      ok: false,
      problem: 'no-key',
      detail: 'it is signed, but the state key is missing from the OS keychain',
      ...unverified,
    };
  }
  const expected = stateMac(sodium, key, e.kind, e.generation, e.body);
  const given = decodeStrictBase64(e.mac, expected.length);
  if (given === null || !sodium.equal(expected, given)) {
    return {
      ok: false,
      problem: 'bad-mac',
      detail: 'its content does not match its signature',
      ...unverified,
    };
  }
  // Checked after the MAC: a genuine envelope of another kind is a swap, not damage.
  if (e.kind !== kind) {
    return {
      ok: false,
      problem: 'wrong-kind',
      detail: `it is the signed ${e.kind} file, not the ${kind} file`,
      ...unverified,
    };
  }
  return { ok: true, generation: e.generation, body: e.body };
}

/** STATE_TAMPERED: what (the file and its role), what is wrong, and what to do. */
export function stateTampered(file: string, kind: StateKind, detail: string): CofferError {
  const role: Record<StateKind, string> = {
    settings: 'settings (trusted recovery keys, device key ID)',
    folders: 'list of protected folders',
    escrow: 'key escrow record',
  };
  return new CofferError(
    'STATE_TAMPERED',
    `The ${role[kind]} file ${file} cannot be trusted: ${detail}. Coffer will not use it.`,
    'Run `coffer state show` to see what it holds (or open Coffer: Overview shows it), then `coffer state confirm` if it is what you or IT set; otherwise restore it from a backup.',
  );
}
