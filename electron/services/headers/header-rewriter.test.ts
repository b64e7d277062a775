/**
 * HeaderRewriter on real files (FORMAT.md §4.1, §8, §8.1): in place when there is room, a copy that adds
 * room when not, nothing written when nothing changes, and a journal that an attacker cannot use.
 */
import { openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCofferError } from '../../../crypto/errors.js';
import { readHeaderFd } from '../../../crypto/file.js';
import { parseHeader } from '../../../crypto/header.js';
import { type Identity, type Recipient } from '../../../crypto/keys.js';
import { DecryptSession } from '../../../crypto/session.js';
import { entryFor, useRewriterWorld } from '../../../e2e/helpers/rewriter-world.js';
import { HeaderRewriter } from './header-rewriter.js';
import { journalIdentity, writeJournal } from './journal.js';

const world = useRewriterWorld('coffer-rewriter-');
const { rec, fresh, protectedFile, opensTo, keysOf, idOf } = world;

describe('HeaderRewriter', () => {
  it('rewrites a header in place: same size, same payload bytes, the new set opens it', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const { path, plain } = protectedFile(dir, 'a', [world.device, rec(world.orgA)]);
    const before = readFileSync(path);
    const headerLength = parseHeader(before).bytes.length;
    const inode = statSync(path).ino;

    const result = await rewriter.rewrap(
      path,
      [world.device],
      [world.device, rec(world.orgB), rec(world.orgA)],
    );

    expect(result).toEqual({ path, outcome: 'in-place' });
    const after = readFileSync(path);
    expect(after.length).toBe(before.length);
    expect(statSync(path).ino).toBe(inode); // not replaced: written in place
    expect(after.subarray(headerLength).equals(before.subarray(headerLength))).toBe(true);
    expect(keysOf(path)).toEqual([idOf(world.device), idOf(rec(world.orgA)), idOf(rec(world.orgB))].sort());
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgB }], plain)).toBe(true);
    expect(opensTo(path, [world.device], plain)).toBe(true);
    expect(readdirSync(journalDir)).toEqual([]);

    // Retiring A: still in place, and A no longer opens the file.
    expect(await rewriter.rewrap(path, [world.device], [world.device, rec(world.orgB)])).toEqual({
      path,
      outcome: 'in-place',
    });
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgA }], plain)).toBe(false);
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgB }], plain)).toBe(true);
  });

  it('writes nothing when the file already carries exactly the recipients', async () => {
    const { dir, rewriter } = fresh();
    const { path } = protectedFile(dir, 'same', [world.device, rec(world.orgA)]);
    const before = readFileSync(path);
    const stats = statSync(path);
    expect(await rewriter.rewrap(path, [world.device], [rec(world.orgA), world.device])).toEqual({
      path,
      outcome: 'unchanged',
    });
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(statSync(path).mtimeMs).toBe(stats.mtimeMs);
  });

  it('copies a v1 file without room once, adding room, then rewrites it in place', async () => {
    const { dir, rewriter } = fresh();
    const { path, plain } = protectedFile(dir, 'old', [world.device], { room: false });
    const oldLength = parseHeader(readFileSync(path)).bytes.length;
    expect(await rewriter.rewrap(path, [world.device], [world.device, rec(world.orgA)])).toEqual({
      path,
      outcome: 'copied',
    });
    const grown = parseHeader(readFileSync(path)).bytes.length;
    expect(grown).toBeGreaterThan(oldLength);
    expect(grown % 256).toBe(0);
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgA }], plain)).toBe(true);
    expect(
      await rewriter.rewrap(path, [world.device], [world.device, rec(world.orgA), rec(world.orgB)]),
    ).toEqual({
      path,
      outcome: 'in-place',
    });
    expect(opensTo(path, [world.device], plain)).toBe(true);
  });

  it('copies a read-only file (it cannot be written in place) and keeps its mode', async () => {
    const { dir, rewriter } = fresh();
    const { path, plain } = protectedFile(dir, 'ro', [world.device]);
    const { chmodSync } = await import('node:fs');
    chmodSync(path, 0o444);
    const result = await rewriter.rewrap(path, [world.device], [world.device, rec(world.orgA)]);
    // root ignores file modes: then the file is written in place, which is as good
    expect(['copied', 'in-place']).toContain(result.outcome);
    expect(statSync(path).mode & 0o777).toBe(0o444);
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgA }], plain)).toBe(true);
  });

  it('refuses a tampered header and leaves the file untouched', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const { path } = protectedFile(dir, 't', [world.device, rec(world.orgA)]);
    const bytes = readFileSync(path);
    bytes[18 + 83 + 20] = (bytes[18 + 83 + 20] ?? 0) ^ 1; // inside the recovery stanza: the MAC catches it
    writeFileSync(path, bytes);
    const error = await rewriter
      .rewrap(path, [world.device], [world.device, rec(world.orgB)])
      .catch((e: unknown) => e);
    expect(isCofferError(error, 'HEADER_AUTH_FAILED')).toBe(true);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(readdirSync(journalDir)).toEqual([]);
  });

  it('says a header is damaged when the stanza for this device does not open', async () => {
    const { dir, rewriter } = fresh();
    const { path } = protectedFile(dir, 'd', [world.device, rec(world.orgA)]);
    const bytes = readFileSync(path);
    bytes[40] = (bytes[40] ?? 0) ^ 1; // inside the device stanza's wrapped key
    writeFileSync(path, bytes);
    const error = await rewriter.rewrap(path, [world.device], [world.device]).catch((e: unknown) => e);
    expect(isCofferError(error, 'HEADER_AUTH_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/damaged.*device key/);
  });

  it('never follows a link and refuses what is not a .coffer file', async () => {
    const { dir, rewriter } = fresh();
    const { path } = protectedFile(dir, 'target', [world.device]);
    const link = join(dir, 'link.coffer');
    symlinkSync(path, link);
    const before = readFileSync(path);
    const linkError = await rewriter
      .rewrap(link, [world.device], [world.device, rec(world.orgA)])
      .catch((e: unknown) => e);
    expect(isCofferError(linkError, 'SYMLINK')).toBe(true);
    const plain = join(dir, 'target.plain');
    const plainError = await rewriter.rewrap(plain, [world.device], [world.device]).catch((e: unknown) => e);
    expect(isCofferError(plainError, 'NOT_A_FILE')).toBe(true);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('takes a batch larger than the files it holds open at once, and a path named twice', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const files = Array.from({ length: 530 }, (_, i) =>
      protectedFile(dir, `m${i}`, [world.device], { size: 100 }),
    );
    const first = files[0]?.path ?? '';
    const results = await rewriter.rewrapMany(
      [...files.map((f) => f.path), first],
      [world.device],
      [world.device, rec(world.orgB)],
    );
    expect(results).toHaveLength(531);
    expect(new Set(results.map((r) => ('outcome' in r ? r.outcome : r.error.code)))).toEqual(
      new Set(['in-place']),
    );
    for (const f of [files[0], files[529]]) {
      if (f) expect(opensTo(f.path, [{ kind: 'recovery', ...world.orgB }], f.plain)).toBe(true);
    }
    expect(readdirSync(journalDir)).toEqual([]);
  });

  it('writes nothing when the journal cannot be written', async () => {
    const { dir } = fresh();
    const notADir = join(dir, 'journal-is-a-file');
    writeFileSync(notADir, 'x');
    const rewriter = new HeaderRewriter({ sodium: world.sodium, journalDir: notADir });
    const { path } = protectedFile(dir, 'nojournal', [world.device]);
    const before = readFileSync(path);
    const error = await rewriter
      .rewrap(path, [world.device], [world.device, rec(world.orgA)])
      .catch((e: unknown) => e);
    expect(isCofferError(error, 'JOURNAL_WRITE_FAILED')).toBe(true);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('creates its journal folder when it is missing', async () => {
    const { dir } = fresh();
    const journalDir = join(dir, 'not-yet', 'journal');
    const rewriter = new HeaderRewriter({ sodium: world.sodium, journalDir });
    const { path, plain } = protectedFile(dir, 'nj', [world.device]);
    expect(await rewriter.rewrap(path, [world.device], [world.device, rec(world.orgA)])).toEqual({
      path,
      outcome: 'in-place',
    });
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgA }], plain)).toBe(true);
    expect(readdirSync(journalDir)).toEqual([]);
  });

  it('rewraps a batch with one journal, reporting a bad file without stopping the others', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const files = [0, 1, 2, 3].map((i) => protectedFile(dir, `b${i}`, [world.device]));
    const missing = join(dir, 'missing.coffer');
    const results = await rewriter.rewrapMany(
      [...files.map((f) => f.path), missing],
      [world.device],
      [world.device, rec(world.orgA)],
    );
    expect(results.slice(0, 4).map((r) => ('outcome' in r ? r.outcome : r.error.code))).toEqual([
      'in-place',
      'in-place',
      'in-place',
      'in-place',
    ]);
    const last = results[4];
    expect(last && 'error' in last ? last.error.code : null).toBe('NOT_FOUND');
    for (const f of files) expect(opensTo(f.path, [{ kind: 'recovery', ...world.orgA }], f.plain)).toBe(true);
    expect(readdirSync(journalDir)).toEqual([]);
  });
});

describe('HeaderRewriter.recover', () => {
  /** The journal a crash leaves: written, and the header overwritten only partly (a torn write). */
  function interrupted(torn: boolean) {
    const { dir, journalDir, rewriter } = fresh();
    const { path, plain } = protectedFile(dir, 'crash', [world.device, rec(world.orgA)]);
    const oldHeader = readHeaderFd(openSync(path, 'r'));
    const file = readFileSync(path);
    const session = new DecryptSession(world.sodium, oldHeader, [world.device]);
    expect(session.header.bytes.length).toBe(oldHeader.length);
    return { dir, journalDir, rewriter, path, plain, oldHeader, file, torn };
  }

  async function newHeaderFor(path: string, recipients: Recipient[]): Promise<Uint8Array> {
    // Make the new header with a rewriter on a copy, so the real file stays as the crash left it.
    const copy = `${path.slice(0, -'.coffer'.length)}-copy.coffer`;
    writeFileSync(copy, readFileSync(path));
    const side = fresh();
    await side.rewriter.rewrap(copy, [world.device], recipients);
    const header = readHeaderFd(openSync(copy, 'r'));
    rmSync(copy);
    return header;
  }

  it('finishes a rewrite torn by a crash', async () => {
    const { journalDir, rewriter, path, plain, oldHeader, file } = interrupted(true);
    const newHeader = await newHeaderFor(path, [world.device, rec(world.orgB)]);
    writeJournal(world.sodium, journalDir, world.device, [entryFor(path, oldHeader, newHeader)]);
    // The crash tore the header write: the first 300 bytes are new, the rest old.
    const torn = Buffer.from(file);
    torn.set(newHeader.subarray(0, 300), 0);
    writeFileSync(path, torn);

    const report = await rewriter.recover([world.device]);

    expect(report).toEqual({ completed: [path], alreadyDone: [], refused: [] });
    expect(keysOf(path)).toEqual([idOf(world.device), idOf(rec(world.orgB))].sort());
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgB }], plain)).toBe(true);
    expect(readdirSync(journalDir)).toEqual([]);
  });

  it('a helpdesk rekey (opened with an org key) is journalled under this device key: start-up recovery finishes it', async () => {
    const { journalDir, rewriter, path, plain, oldHeader, file } = interrupted(true);
    const orgIdentity: Identity = { kind: 'recovery', ...world.orgA };
    const recipients = [world.device, rec(world.orgB)];
    const signer = journalIdentity([orgIdentity], recipients);
    expect(signer).toEqual({ kind: 'device', key: world.device.key });
    const newHeader = await newHeaderFor(path, recipients);
    writeJournal(world.sodium, journalDir, signer ?? orgIdentity, [entryFor(path, oldHeader, newHeader)]);
    const torn = Buffer.from(file);
    torn.set(newHeader.subarray(0, 100), 0);
    writeFileSync(path, torn);
    expect((await rewriter.recover([world.device])).completed).toEqual([path]);
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgB }], plain)).toBe(true);
  });

  it('refuses a forged journal (not MACed by a key held): nothing written, the journal left', async () => {
    const { journalDir, rewriter, path, oldHeader, file } = interrupted(false);
    // The attacker holds a retired org key and an old header of this file that still names it.
    const newHeader = await newHeaderFor(path, [world.device, rec(world.orgB)]);
    const attacker: Identity = { kind: 'recovery', ...world.orgB };
    writeJournal(world.sodium, journalDir, attacker, [entryFor(path, oldHeader, newHeader)]);
    const report = await rewriter.recover([world.device]);
    expect(report.completed).toEqual([]);
    expect(report.refused).toHaveLength(1);
    expect(report.refused[0]?.reason).toMatch(/not authenticated/);
    expect(readFileSync(path).equals(file)).toBe(true);
    expect(readdirSync(journalDir)).toHaveLength(1);
  });

  it('refuses an authentic entry whose header belongs to another file, or to a file changed since', async () => {
    const { dir, journalDir, rewriter, path, oldHeader, file } = interrupted(false);
    const other = protectedFile(dir, 'other', [world.device, rec(world.orgA)]);
    const otherHeader = await newHeaderFor(other.path, [world.device, rec(world.orgB)]);
    const staleNew = await newHeaderFor(path, [world.device, rec(world.orgB)]);
    const notOld = await newHeaderFor(path, [world.device]); // "old" header the file never had
    writeJournal(world.sodium, journalDir, world.device, [
      entryFor(path, oldHeader, otherHeader), // another file's key: does not open this payload
      entryFor(path, notOld, staleNew), // the file holds neither header of the entry
    ]);
    const report = await rewriter.recover([world.device]);
    expect(report.completed).toEqual([]);
    expect(report.refused.map((r) => r.reason)).toEqual([
      expect.stringMatching(/stream header|neither|payload/),
      expect.stringMatching(/neither/),
    ]);
    expect(readFileSync(path).equals(file)).toBe(true);
  });

  it('refuses an entry whose new header is not authentic under the keys held', async () => {
    const { journalDir, rewriter, path, oldHeader, file } = interrupted(false);
    const forged = Buffer.from(await newHeaderFor(path, [world.device, rec(world.orgB)]));
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 1; // MAC flipped
    writeJournal(world.sodium, journalDir, world.device, [entryFor(path, oldHeader, forged)]);
    const report = await rewriter.recover([world.device]);
    expect(report.refused[0]?.reason).toMatch(/refused/);
    expect(readFileSync(path).equals(file)).toBe(true);
  });
});
