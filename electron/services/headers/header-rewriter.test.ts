/**
 * HeaderRewriter on real files (FORMAT.md §4.1, §8, §8.1): in place when there is room, a copy that adds
 * room when not, nothing written when nothing changes, and a journal that an attacker cannot use.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCofferError } from '../../../crypto/errors.js';
import { decryptFd, encryptFd, inspectFd, readHeaderFd } from '../../../crypto/file.js';
import { parseHeader } from '../../../crypto/header.js';
import {
  formatKeyId,
  generateDeviceKey,
  generateRecoveryKeyPair,
  keyIdOf,
  type Identity,
  type Recipient,
} from '../../../crypto/keys.js';
import { DecryptSession, EncryptSession } from '../../../crypto/session.js';
import { defaultBackend, type SodiumBackend } from '../../../crypto/sodium.js';
import { HeaderRewriter } from './header-rewriter.js';
import { journalIdentity, writeJournal } from './journal.js';

let sodium: SodiumBackend;
const root = mkdtempSync(join(tmpdir(), 'coffer-rewriter-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

let device: Identity & Recipient & { kind: 'device' };
let orgA: { publicKey: Uint8Array; secretKey: Uint8Array };
let orgB: { publicKey: Uint8Array; secretKey: Uint8Array };
const rec = (k: { publicKey: Uint8Array }): Recipient => ({ kind: 'recovery', publicKey: k.publicKey });

beforeAll(async () => {
  sodium = await defaultBackend();
  device = { kind: 'device', key: generateDeviceKey(sodium) };
  orgA = generateRecoveryKeyPair(sodium);
  orgB = generateRecoveryKeyPair(sodium);
});

let n = 0;
function fresh(): { dir: string; journalDir: string; rewriter: HeaderRewriter } {
  const dir = join(root, `case-${n++}`);
  const journalDir = join(dir, 'journal');
  mkdirSync(journalDir, { recursive: true });
  return { dir, journalDir, rewriter: new HeaderRewriter({ sodium, journalDir }) };
}

/** A real protected file, written as Coffer writes them (with room) or as the first v1 writers did. */
function protectedFile(
  dir: string,
  name: string,
  recipients: Recipient[],
  { room = true, size = 5000 } = {},
): { path: string; plain: Buffer } {
  const plain = randomBytes(size);
  const source = join(dir, `${name}.plain`);
  writeFileSync(source, plain);
  const path = join(dir, `${name}.coffer`);
  if (room) {
    const inFd = openSync(source, 'r');
    const outFd = openSync(path, 'w');
    encryptFd(sodium, inFd, outFd, { recipients, name });
    closeSync(inFd);
    closeSync(outFd);
  } else {
    const session = new EncryptSession(sodium, {
      recipients,
      metadata: { name, size, mode: 0o600, mtimeMs: 1 },
      chunkSize: 4096,
      reserveRoom: false,
    });
    const parts = [Buffer.from(session.start())];
    for (let at = 0; !session.done;) {
      const len = session.nextChunkLength();
      parts.push(Buffer.from(session.push(plain.subarray(at, at + len))));
      at += len;
    }
    writeFileSync(path, Buffer.concat(parts));
  }
  return { path, plain };
}

function opensTo(path: string, identities: Identity[], plain: Buffer): boolean {
  const inFd = openSync(path, 'r');
  const out = `${path}.check`;
  const outFd = openSync(out, 'w');
  try {
    decryptFd(sodium, inFd, outFd, identities);
    return readFileSync(out).equals(plain);
  } catch {
    return false;
  } finally {
    closeSync(inFd);
    closeSync(outFd);
    rmSync(out, { force: true });
  }
}

function keysOf(path: string): string[] {
  const fd = openSync(path, 'r');
  try {
    return inspectFd(fd)
      .stanzas.map((s) => `${s.kind}:${s.keyId}`)
      .sort();
  } finally {
    closeSync(fd);
  }
}

const idOf = (r: Recipient) => `${r.kind}:${formatKeyId(keyIdOf(sodium, r))}`;

describe('HeaderRewriter', () => {
  it('rewrites a header in place: same size, same payload bytes, the new set opens it', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const { path, plain } = protectedFile(dir, 'a', [device, rec(orgA)]);
    const before = readFileSync(path);
    const headerLength = parseHeader(before).bytes.length;
    const inode = statSync(path).ino;

    const result = await rewriter.rewrap(path, [device], [device, rec(orgB), rec(orgA)]);

    expect(result).toEqual({ path, outcome: 'in-place' });
    const after = readFileSync(path);
    expect(after.length).toBe(before.length);
    expect(statSync(path).ino).toBe(inode); // not replaced: written in place
    expect(after.subarray(headerLength).equals(before.subarray(headerLength))).toBe(true);
    expect(keysOf(path)).toEqual([idOf(device), idOf(rec(orgA)), idOf(rec(orgB))].sort());
    expect(opensTo(path, [{ kind: 'recovery', ...orgB }], plain)).toBe(true);
    expect(opensTo(path, [device], plain)).toBe(true);
    expect(readdirSync(journalDir)).toEqual([]);

    // Retiring A: still in place, and A no longer opens the file.
    expect(await rewriter.rewrap(path, [device], [device, rec(orgB)])).toEqual({ path, outcome: 'in-place' });
    expect(opensTo(path, [{ kind: 'recovery', ...orgA }], plain)).toBe(false);
    expect(opensTo(path, [{ kind: 'recovery', ...orgB }], plain)).toBe(true);
  });

  it('writes nothing when the file already carries exactly the recipients', async () => {
    const { dir, rewriter } = fresh();
    const { path } = protectedFile(dir, 'same', [device, rec(orgA)]);
    const before = readFileSync(path);
    const stats = statSync(path);
    expect(await rewriter.rewrap(path, [device], [rec(orgA), device])).toEqual({
      path,
      outcome: 'unchanged',
    });
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(statSync(path).mtimeMs).toBe(stats.mtimeMs);
  });

  it('copies a v1 file without room once, adding room, then rewrites it in place', async () => {
    const { dir, rewriter } = fresh();
    const { path, plain } = protectedFile(dir, 'old', [device], { room: false });
    const oldLength = parseHeader(readFileSync(path)).bytes.length;
    expect(await rewriter.rewrap(path, [device], [device, rec(orgA)])).toEqual({ path, outcome: 'copied' });
    const grown = parseHeader(readFileSync(path)).bytes.length;
    expect(grown).toBeGreaterThan(oldLength);
    expect(grown % 256).toBe(0);
    expect(opensTo(path, [{ kind: 'recovery', ...orgA }], plain)).toBe(true);
    expect(await rewriter.rewrap(path, [device], [device, rec(orgA), rec(orgB)])).toEqual({
      path,
      outcome: 'in-place',
    });
    expect(opensTo(path, [device], plain)).toBe(true);
  });

  it('copies a read-only file (it cannot be written in place) and keeps its mode', async () => {
    const { dir, rewriter } = fresh();
    const { path, plain } = protectedFile(dir, 'ro', [device]);
    const { chmodSync } = await import('node:fs');
    chmodSync(path, 0o444);
    const result = await rewriter.rewrap(path, [device], [device, rec(orgA)]);
    // root ignores file modes: then the file is written in place, which is as good
    expect(['copied', 'in-place']).toContain(result.outcome);
    expect(statSync(path).mode & 0o777).toBe(0o444);
    expect(opensTo(path, [{ kind: 'recovery', ...orgA }], plain)).toBe(true);
  });

  it('refuses a tampered header and leaves the file untouched', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const { path } = protectedFile(dir, 't', [device, rec(orgA)]);
    const bytes = readFileSync(path);
    bytes[18 + 83 + 20] = (bytes[18 + 83 + 20] ?? 0) ^ 1; // inside the recovery stanza: the MAC catches it
    writeFileSync(path, bytes);
    const error = await rewriter.rewrap(path, [device], [device, rec(orgB)]).catch((e: unknown) => e);
    expect(isCofferError(error, 'HEADER_AUTH_FAILED')).toBe(true);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readdirSync(journalDir)).toEqual([]);
  });

  it('says a header is damaged when the stanza for this device does not open', async () => {
    const { dir, rewriter } = fresh();
    const { path } = protectedFile(dir, 'd', [device, rec(orgA)]);
    const bytes = readFileSync(path);
    bytes[40] = (bytes[40] ?? 0) ^ 1; // inside the device stanza's wrapped key
    writeFileSync(path, bytes);
    const error = await rewriter.rewrap(path, [device], [device]).catch((e: unknown) => e);
    expect(isCofferError(error, 'HEADER_AUTH_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/damaged.*device key/);
  });

  it('never follows a link and refuses what is not a .coffer file', async () => {
    const { dir, rewriter } = fresh();
    const { path } = protectedFile(dir, 'target', [device]);
    const link = join(dir, 'link.coffer');
    symlinkSync(path, link);
    const before = readFileSync(path);
    const linkError = await rewriter.rewrap(link, [device], [device, rec(orgA)]).catch((e: unknown) => e);
    expect(isCofferError(linkError, 'SYMLINK')).toBe(true);
    const plain = join(dir, 'target.plain');
    const plainError = await rewriter.rewrap(plain, [device], [device]).catch((e: unknown) => e);
    expect(isCofferError(plainError, 'NOT_A_FILE')).toBe(true);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('takes a batch larger than the files it holds open at once, and a path named twice', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const files = Array.from({ length: 530 }, (_, i) => protectedFile(dir, `m${i}`, [device], { size: 100 }));
    const first = files[0]?.path ?? '';
    const results = await rewriter.rewrapMany(
      [...files.map((f) => f.path), first],
      [device],
      [device, rec(orgB)],
    );
    expect(results).toHaveLength(531);
    expect(new Set(results.map((r) => ('outcome' in r ? r.outcome : r.error.code)))).toEqual(
      new Set(['in-place']),
    );
    for (const f of [files[0], files[529]]) {
      if (f) expect(opensTo(f.path, [{ kind: 'recovery', ...orgB }], f.plain)).toBe(true);
    }
    expect(readdirSync(journalDir)).toEqual([]);
  });

  it('writes nothing when the journal cannot be written', async () => {
    const { dir } = fresh();
    const notADir = join(dir, 'journal-is-a-file');
    writeFileSync(notADir, 'x');
    const rewriter = new HeaderRewriter({ sodium, journalDir: notADir });
    const { path } = protectedFile(dir, 'nojournal', [device]);
    const before = readFileSync(path);
    const error = await rewriter.rewrap(path, [device], [device, rec(orgA)]).catch((e: unknown) => e);
    expect(isCofferError(error, 'JOURNAL_WRITE_FAILED')).toBe(true);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('creates its journal folder when it is missing', async () => {
    const { dir } = fresh();
    const journalDir = join(dir, 'not-yet', 'journal');
    const rewriter = new HeaderRewriter({ sodium, journalDir });
    const { path, plain } = protectedFile(dir, 'nj', [device]);
    expect(await rewriter.rewrap(path, [device], [device, rec(orgA)])).toEqual({ path, outcome: 'in-place' });
    expect(opensTo(path, [{ kind: 'recovery', ...orgA }], plain)).toBe(true);
    expect(readdirSync(journalDir)).toEqual([]);
  });

  it('rewraps a batch with one journal, reporting a bad file without stopping the others', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const files = [0, 1, 2, 3].map((i) => protectedFile(dir, `b${i}`, [device]));
    const missing = join(dir, 'missing.coffer');
    const results = await rewriter.rewrapMany(
      [...files.map((f) => f.path), missing],
      [device],
      [device, rec(orgA)],
    );
    expect(results.slice(0, 4).map((r) => ('outcome' in r ? r.outcome : r.error.code))).toEqual([
      'in-place',
      'in-place',
      'in-place',
      'in-place',
    ]);
    const last = results[4];
    expect(last && 'error' in last ? last.error.code : null).toBe('NOT_FOUND');
    for (const f of files) expect(opensTo(f.path, [{ kind: 'recovery', ...orgA }], f.plain)).toBe(true);
    expect(readdirSync(journalDir)).toEqual([]);
  });
});

describe('HeaderRewriter.recover', () => {
  /** The journal a crash leaves: written, and the header overwritten only partly (a torn write). */
  function interrupted(torn: boolean) {
    const { dir, journalDir, rewriter } = fresh();
    const { path, plain } = protectedFile(dir, 'crash', [device, rec(orgA)]);
    const oldHeader = readHeaderFd(openSync(path, 'r'));
    const file = readFileSync(path);
    const session = new DecryptSession(sodium, oldHeader, [device]);
    expect(session.header.bytes.length).toBe(oldHeader.length);
    return { dir, journalDir, rewriter, path, plain, oldHeader, file, torn };
  }

  async function newHeaderFor(path: string, recipients: Recipient[]): Promise<Uint8Array> {
    // Make the new header with a rewriter on a copy, so the real file stays as the crash left it.
    const copy = `${path.slice(0, -'.coffer'.length)}-copy.coffer`;
    writeFileSync(copy, readFileSync(path));
    const side = fresh();
    await side.rewriter.rewrap(copy, [device], recipients);
    const header = readHeaderFd(openSync(copy, 'r'));
    rmSync(copy);
    return header;
  }

  const entryFor = (path: string, oldHeader: Uint8Array, newHeader: Uint8Array) => {
    const s = statSync(path, { bigint: true });
    return {
      path,
      dev: s.dev.toString(),
      ino: s.ino.toString(),
      size: Number(s.size),
      oldHeader,
      newHeader,
    };
  };

  it('finishes a rewrite torn by a crash', async () => {
    const { journalDir, rewriter, path, plain, oldHeader, file } = interrupted(true);
    const newHeader = await newHeaderFor(path, [device, rec(orgB)]);
    writeJournal(sodium, journalDir, device, [entryFor(path, oldHeader, newHeader)]);
    // The crash tore the header write: the first 300 bytes are new, the rest old.
    const torn = Buffer.from(file);
    torn.set(newHeader.subarray(0, 300), 0);
    writeFileSync(path, torn);

    const report = await rewriter.recover([device]);

    expect(report).toEqual({ completed: [path], alreadyDone: [], refused: [] });
    expect(keysOf(path)).toEqual([idOf(device), idOf(rec(orgB))].sort());
    expect(opensTo(path, [{ kind: 'recovery', ...orgB }], plain)).toBe(true);
    expect(readdirSync(journalDir)).toEqual([]);
  });

  it('a helpdesk rekey (opened with an org key) is journalled under this device key: start-up recovery finishes it', async () => {
    const { journalDir, rewriter, path, plain, oldHeader, file } = interrupted(true);
    const orgIdentity: Identity = { kind: 'recovery', ...orgA };
    const recipients = [device, rec(orgB)];
    const signer = journalIdentity([orgIdentity], recipients);
    expect(signer).toEqual({ kind: 'device', key: device.key });
    const newHeader = await newHeaderFor(path, recipients);
    writeJournal(sodium, journalDir, signer ?? orgIdentity, [entryFor(path, oldHeader, newHeader)]);
    const torn = Buffer.from(file);
    torn.set(newHeader.subarray(0, 100), 0);
    writeFileSync(path, torn);
    expect((await rewriter.recover([device])).completed).toEqual([path]);
    expect(opensTo(path, [{ kind: 'recovery', ...orgB }], plain)).toBe(true);
  });

  it('refuses a forged journal (not MACed by a key held): nothing written, the journal left', async () => {
    const { journalDir, rewriter, path, oldHeader, file } = interrupted(false);
    // The attacker holds a retired org key and an old header of this file that still names it.
    const newHeader = await newHeaderFor(path, [device, rec(orgB)]);
    const attacker: Identity = { kind: 'recovery', ...orgB };
    writeJournal(sodium, journalDir, attacker, [entryFor(path, oldHeader, newHeader)]);
    const report = await rewriter.recover([device]);
    expect(report.completed).toEqual([]);
    expect(report.refused).toHaveLength(1);
    expect(report.refused[0]?.reason).toMatch(/not authenticated/);
    expect(readFileSync(path).equals(file)).toBe(true);
    expect(readdirSync(journalDir)).toHaveLength(1);
  });

  it('refuses an authentic entry whose header belongs to another file, or to a file changed since', async () => {
    const { dir, journalDir, rewriter, path, oldHeader, file } = interrupted(false);
    const other = protectedFile(dir, 'other', [device, rec(orgA)]);
    const otherHeader = await newHeaderFor(other.path, [device, rec(orgB)]);
    const staleNew = await newHeaderFor(path, [device, rec(orgB)]);
    const notOld = await newHeaderFor(path, [device]); // "old" header the file never had
    writeJournal(sodium, journalDir, device, [
      entryFor(path, oldHeader, otherHeader), // another file's key: does not open this payload
      entryFor(path, notOld, staleNew), // the file holds neither header of the entry
    ]);
    const report = await rewriter.recover([device]);
    expect(report.completed).toEqual([]);
    expect(report.refused.map((r) => r.reason)).toEqual([
      expect.stringMatching(/stream header|neither|payload/),
      expect.stringMatching(/neither/),
    ]);
    expect(readFileSync(path).equals(file)).toBe(true);
  });

  it('refuses an entry whose new header is not authentic under the keys held', async () => {
    const { journalDir, rewriter, path, oldHeader, file } = interrupted(false);
    const forged = Buffer.from(await newHeaderFor(path, [device, rec(orgB)]));
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 1; // MAC flipped
    writeJournal(sodium, journalDir, device, [entryFor(path, oldHeader, forged)]);
    const report = await rewriter.recover([device]);
    expect(report.refused[0]?.reason).toMatch(/refused/);
    expect(readFileSync(path).equals(file)).toBe(true);
  });
});
