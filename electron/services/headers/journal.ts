/**
 * The header-rewrite journal (docs/FORMAT.md §8.1): before headers are overwritten in place, the new
 * header (and the old one) of every file of a batch is written to one journal file in app data
 * and made durable, so
 * that a crash at any moment can be finished by `HeaderRewriter.recover`.
 *
 * The journal lives in app data, which an attacker may be able to write (a roaming profile, a restore
 * agent). It is therefore MACed under a key derived from a key the user holds (the device key, from the
 * keychain), and recovery re-checks each entry against the file itself before writing anything.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Identity, Recipient } from '../../../crypto/keys.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { fsyncDir } from '../safe-file/durable.js';
import { NOFOLLOW } from '../safe-file/open.js';

export interface JournalEntry {
  readonly path: string;
  /** Decimal strings: inode numbers may exceed 2^53. */
  readonly dev: string;
  readonly ino: string;
  readonly size: number;
  /**
   * The header the file had when the entry was made (same length as newHeader: in place). Kept whole, not
   * as a hash, so that recovery can tell a write torn between these two headers from a file torn by
   * another rewrite (§8.1 rule 6): a replayed older journal must not roll such a file back.
   */
  readonly oldHeader: Uint8Array;
  readonly newHeader: Uint8Array;
}

interface EntryJson {
  path: string;
  dev: string;
  ino: string;
  size: number;
  oldHeader: string;
  newHeader: string;
}

const JOURNAL_NAME = /^rewrap-[0-9a-f]{24}\.journal$/;
const TEMP_NAME = /^rewrap-[0-9a-f]{24}\.journal\.tmp$/;
/** A batch of 5,000 files with 64 KiB headers stays far below this; a larger file is not ours. */
const MAX_JOURNAL_BYTES = 256 * 1024 * 1024;
const JOURNAL_CONTEXT = new TextEncoder().encode('coffer v1 header journal');

/** The journal MAC key of one identity: a keyed hash of its secret, so only its holder can make one. */
function journalKey(sodium: SodiumBackend, identity: Identity): Uint8Array {
  return sodium.hash(32, JOURNAL_CONTEXT, identity.kind === 'device' ? identity.key : identity.secretKey);
}

/**
 * The identity a journal is MACed with: this device's key wherever the call has it, as an identity or as
 * a recipient (a helpdesk rekey opens files with an org key but writes them for this device), so that
 * recovery at start-up, which holds the device key, can verify it. Else the first identity.
 */
export function journalIdentity(
  identities: readonly Identity[],
  recipients: readonly Recipient[] = [],
): Identity | undefined {
  const device = identities.find((i) => i.kind === 'device') ?? recipients.find((r) => r.kind === 'device');
  return device?.kind === 'device' ? { kind: 'device', key: device.key } : identities[0];
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** Writes a journal durably (temp file, fsync, rename, folder fsync) and returns its path. */
export function writeJournal(
  sodium: SodiumBackend,
  dir: string,
  identity: Identity,
  entries: readonly JournalEntry[],
): string {
  const body = JSON.stringify(
    entries.map((e): EntryJson => ({
      path: e.path,
      dev: e.dev,
      ino: e.ino,
      size: e.size,
      oldHeader: b64(e.oldHeader),
      newHeader: b64(e.newHeader),
    })),
  );
  const key = journalKey(sodium, identity);
  const mac = sodium.hash(32, new TextEncoder().encode(body), key);
  sodium.zero(key);
  const text = JSON.stringify({ type: 'coffer-header-journal', version: 1, mac: b64(mac), body });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = `rewrap-${randomBytes(12).toString('hex')}.journal`;
  const final = join(dir, name);
  const temp = `${final}.tmp`;
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
  try {
    writeAll(fd, new TextEncoder().encode(text));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, final);
  fsyncDir(dir);
  return final;
}

export function removeJournal(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // a journal left behind is finished again by recover: rewriting the same header is harmless
  }
}

export type ReadJournal =
  | { readonly ok: true; readonly entries: readonly JournalEntry[] }
  | { readonly ok: false; readonly reason: string };

/** Reads a journal and checks its MAC under any of `identities`; never trusts an unauthenticated one. */
export function readJournal(
  sodium: SodiumBackend,
  path: string,
  identities: readonly Identity[],
): ReadJournal {
  let text: string;
  try {
    const stats = lstatSync(path);
    if (!stats.isFile()) return { ok: false, reason: 'not a regular file' };
    if (stats.size > MAX_JOURNAL_BYTES) return { ok: false, reason: 'too large to be a journal' };
    const fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
    try {
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    return { ok: false, reason: `cannot be read (${(error as Error).message})` };
  }
  let outer: unknown;
  try {
    outer = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'is not JSON' };
  }
  if (
    typeof outer !== 'object' ||
    outer === null ||
    !('type' in outer) ||
    outer.type !== 'coffer-header-journal' ||
    !('version' in outer) ||
    outer.version !== 1 ||
    !('mac' in outer) ||
    typeof outer.mac !== 'string' ||
    !('body' in outer) ||
    typeof outer.body !== 'string'
  ) {
    return { ok: false, reason: 'is not a Coffer header journal' };
  }
  const mac = unb64(outer.mac);
  const body = new TextEncoder().encode(outer.body);
  const authentic = identities.some((identity) => {
    const key = journalKey(sodium, identity);
    const expected = sodium.hash(32, body, key);
    sodium.zero(key);
    return mac.length === expected.length && sodium.equal(mac, expected);
  });
  if (!authentic) return { ok: false, reason: 'is not authenticated by any key held (forged or foreign)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(outer.body);
  } catch {
    return { ok: false, reason: 'has a body that is not JSON' };
  }
  if (!Array.isArray(parsed)) return { ok: false, reason: 'has no entries' };
  const entries: JournalEntry[] = [];
  for (const raw of parsed as unknown[]) {
    const e = raw as Partial<EntryJson>;
    if (
      typeof e.path !== 'string' ||
      typeof e.dev !== 'string' ||
      typeof e.ino !== 'string' ||
      typeof e.size !== 'number' ||
      typeof e.oldHeader !== 'string' ||
      typeof e.newHeader !== 'string'
    ) {
      return { ok: false, reason: 'has a malformed entry' };
    }
    entries.push({
      path: e.path,
      dev: e.dev,
      ino: e.ino,
      size: e.size,
      oldHeader: unb64(e.oldHeader),
      newHeader: unb64(e.newHeader),
    });
  }
  return { ok: true, entries };
}

/** Journals in `dir`, oldest first; leftover temp files (never acted on) are removed. */
export function listJournals(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  for (const name of names) if (TEMP_NAME.test(name)) removeJournal(join(dir, name));
  return names
    .filter((n) => JOURNAL_NAME.test(n))
    .map((n) => join(dir, n))
    .map((p) => ({ p, t: lstatSync(p).mtimeMs }))
    .sort((a, b) => a.t - b.t)
    .map((x) => x.p);
}
