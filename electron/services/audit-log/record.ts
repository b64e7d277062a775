/**
 * One record of the audit trail and its two checks (issue 11 item 2):
 * - a hash chain: hash(n) = BLAKE2b-256(hash(n-1) ‖ canonical text of record n), so a removed, inserted or
 *   reordered record breaks the chain at that point;
 * - a MAC: keyed BLAKE2b-256 of hash(n) under the audit key (keychain), so an edited or forged record,
 *   or a chain rebuilt by someone without the key, does not verify.
 * Details hold file names, paths and key IDs only, never contents or secrets (callers' duty; bounded here).
 */
import type { SodiumBackend } from '../../../crypto/sodium.js';

export const AUDIT_KEY_BYTES = 32;
const HASH_BYTES = 32;
export const GENESIS_HASH = '0'.repeat(HASH_BYTES * 2);

export type DetailValue = string | number | boolean | readonly string[];
export type Details = Readonly<Record<string, DetailValue>>;

export interface AuditRecord {
  readonly seq: number;
  /** ISO 8601, UTC. */
  readonly time: string;
  readonly type: string;
  readonly details: Details;
  /** Hex hash of the record before (GENESIS_HASH for the first). */
  readonly prev: string;
  /** Hex keyed BLAKE2b of this record's hash. */
  readonly mac: string;
}

/** Where the chain ends: the last record's seq and hash (seq 0 and GENESIS_HASH for an empty log). */
export interface Tip {
  readonly seq: number;
  readonly hash: string;
}

const MAX_STRING = 4096;
const MAX_LIST = 100;

/** Bounds what a caller passes (a protect of 100 000 files must not write a 10 MB record). */
export function boundDetails(details: Readonly<Record<string, DetailValue | undefined>>): Details {
  const out: Record<string, DetailValue> = {};
  for (const [key, value] of Object.entries(details)) {
    if (value === undefined) continue;
    if (typeof value === 'string') out[key] = value.slice(0, MAX_STRING);
    else if (typeof value === 'number') out[key] = Number.isFinite(value) ? value : String(value);
    else if (typeof value === 'boolean') out[key] = value;
    else {
      out[key] = value.slice(0, MAX_LIST).map((s) => s.slice(0, MAX_STRING));
      if (value.length > MAX_LIST) out[`${key}NotListed`] = value.length - MAX_LIST;
    }
  }
  return out;
}

/** JSON with object keys sorted at every depth: the same record always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const enc = new TextEncoder();
const RECORD_CONTEXT = enc.encode('coffer-audit-record-v1');
const HEAD_CONTEXT = enc.encode('coffer-audit-head-v1');

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function fromHex(text: string): Uint8Array | null {
  return /^[0-9a-f]{64}$/.test(text) ? Uint8Array.from(Buffer.from(text, 'hex')) : null;
}

export class RecordCodec {
  constructor(private readonly sodium: SodiumBackend) {}

  /** hash(n) = BLAKE2b(prev ‖ canonical {seq, time, type, details, prev}). */
  hash(record: Omit<AuditRecord, 'mac'>): string {
    const prev = fromHex(record.prev) ?? new Uint8Array(HASH_BYTES);
    const body = canonicalJson({
      seq: record.seq,
      time: record.time,
      type: record.type,
      details: record.details,
      prev: record.prev,
    });
    return hex(this.sodium.hash(HASH_BYTES, concat(prev, enc.encode(body))));
  }

  mac(key: Uint8Array, hash: string): string {
    return hex(this.sodium.hash(HASH_BYTES, concat(RECORD_CONTEXT, enc.encode(hash)), key));
  }

  make(key: Uint8Array, tip: Tip, type: string, details: Details, time: Date): AuditRecord {
    const body = { seq: tip.seq + 1, time: time.toISOString(), type, details, prev: tip.hash };
    return { ...body, mac: this.mac(key, this.hash(body)) };
  }

  /** The record's hash when its MAC verifies under `key`, else null. */
  check(key: Uint8Array, record: AuditRecord): string | null {
    const hash = this.hash(record);
    const want = fromHex(this.mac(key, hash));
    const got = fromHex(record.mac);
    return want !== null && got !== null && this.sodium.equal(want, got) ? hash : null;
  }

  headMac(key: Uint8Array, tip: Tip): string {
    return hex(this.sodium.hash(HASH_BYTES, concat(HEAD_CONTEXT, enc.encode(canonicalJson(tip))), key));
  }

  checkHead(key: Uint8Array, tip: Tip, mac: string): boolean {
    const want = fromHex(this.headMac(key, tip));
    const got = fromHex(mac);
    return want !== null && got !== null && this.sodium.equal(want, got);
  }
}

function isDetails(value: unknown): value is Details {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.values(value as Record<string, unknown>).every(
    (v) =>
      typeof v === 'string' ||
      typeof v === 'number' ||
      typeof v === 'boolean' ||
      (Array.isArray(v) && v.every((s) => typeof s === 'string')),
  );
}

/** A line of log.jsonl as a record, or null when it does not have a record's shape. */
export function parseRecord(line: string): AuditRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  const r = value as Record<string, unknown>;
  if (
    !Number.isSafeInteger(r.seq) ||
    typeof r.time !== 'string' ||
    typeof r.type !== 'string' ||
    !isDetails(r.details) ||
    typeof r.prev !== 'string' ||
    typeof r.mac !== 'string'
  ) {
    return null;
  }
  return {
    seq: r.seq as number,
    time: r.time,
    type: r.type,
    details: r.details,
    prev: r.prev,
    mac: r.mac,
  };
}
