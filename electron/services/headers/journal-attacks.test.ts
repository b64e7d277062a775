/**
 * R7 review of the in-place rewrite (FORMAT.md §8.1): the journal is attacker-writable app data. A planted
 * or replayed journal that this device once wrote must never make `recover` put back an older header (one
 * that names a retired recovery key, or lacks a current one), whatever the file holds now; a real torn
 * write, at any byte, must still be finished. Real files, real journals, the real rewriter.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Recipient } from '../../../crypto/keys.js';
import { entryFor, useRewriterWorld } from '../../../e2e/helpers/rewriter-world.js';
import { writeJournal } from './journal.js';

const world = useRewriterWorld('coffer-journal-attacks-');
const { rec, fresh, protectedFile, opensTo, keysOf, idOf, headerOf } = world;

/**
 * A genuine journal as the rewriter writes it before going from the file's header to one for
 * `recipients`, and that header, made on a copy so that the file itself is left as it is.
 */
async function genuineJournalFor(
  path: string,
  recipients: Recipient[],
): Promise<{ text: string; newHeader: Uint8Array }> {
  const side = fresh();
  const copy = join(side.dir, 'copy.coffer');
  writeFileSync(copy, readFileSync(path));
  await side.rewriter.rewrap(copy, [world.device], recipients);
  const newHeader = headerOf(copy);
  const journal = writeJournal(world.sodium, side.journalDir, world.device, [
    entryFor(path, headerOf(path), newHeader),
  ]);
  return { text: readFileSync(journal, 'utf8'), newHeader };
}

const plant = (
  journalDir: string,
  text: string,
  name = `rewrap-${randomBytes(12).toString('hex')}.journal`,
) => {
  writeFileSync(join(journalDir, name), text);
};

describe('recover against replayed journals', () => {
  it('a journal of an earlier rewrite, replayed after a later one, writes nothing (held)', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const { path, plain } = protectedFile(dir, 'replay', [world.device, rec(world.orgA)]);
    // Rotation 1 adds B (journalled; the attacker keeps a copy), rotation 2 retires A.
    const first = await genuineJournalFor(path, [world.device, rec(world.orgA), rec(world.orgB)]);
    expect(
      (await rewriter.rewrap(path, [world.device], [world.device, rec(world.orgA), rec(world.orgB)])).outcome,
    ).toBe('in-place');
    expect((await rewriter.rewrap(path, [world.device], [world.device, rec(world.orgB)])).outcome).toBe(
      'in-place',
    );
    const now = readFileSync(path);
    plant(journalDir, first.text);

    const report = await rewriter.recover([world.device]);

    expect(report.completed).toEqual([]);
    expect(report.refused).toHaveLength(1);
    expect(readFileSync(path).equals(now)).toBe(true);
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgA }], plain)).toBe(false);
  });

  it('a replayed journal over a file torn by a crash (its own journal deleted) does not bring back a retired key or drop a current one', async () => {
    const { dir, journalDir, rewriter } = fresh();
    // The file is written before any org key; rotation 1 adds A (journal kept by the attacker).
    const { path, plain } = protectedFile(dir, 'torn-replay', [world.device]);
    const first = await genuineJournalFor(path, [world.device, rec(world.orgA)]);
    expect((await rewriter.rewrap(path, [world.device], [world.device, rec(world.orgA)])).outcome).toBe(
      'in-place',
    );
    // Rotation 2 (A retired, B deployed) is cut by a crash half-way through the header write ...
    const second = await genuineJournalFor(path, [world.device, rec(world.orgB)]);
    const torn = readFileSync(path);
    torn.set(second.newHeader.subarray(0, 200), 0);
    writeFileSync(path, torn);
    // ... and, before the next start, the attacker swaps rotation 2's journal for rotation 1's.
    plant(journalDir, first.text);

    const report = await rewriter.recover([world.device]);

    expect(report.completed).toEqual([]);
    expect(readFileSync(path).equals(torn)).toBe(true); // left for the genuine journal, never rolled back
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgA }], plain)).toBe(false);
    // With rotation 2's own journal back, recovery finishes it.
    plant(journalDir, second.text);
    const again = await rewriter.recover([world.device]);
    expect(again.completed).toEqual([path]);
    expect(keysOf(path)).toEqual([idOf(world.device), idOf(rec(world.orgB))].sort());
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgB }], plain)).toBe(true);
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgA }], plain)).toBe(false);
  });

  it('an entry for a file since replaced by another .coffer with the same inode number writes nothing (held)', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const { path } = protectedFile(dir, 'reused', [world.device, rec(world.orgA)]);
    const first = await genuineJournalFor(path, [world.device, rec(world.orgB)]);
    const oldIno = statSync(path).ino;
    unlinkSync(path);
    // A new protected file at the same path, with the same size; ext4 usually hands out the inode just
    // freed. The journal names device, inode and size, so only the header check stands between them.
    const other = protectedFile(dir, 'reused', [world.device, rec(world.orgA)]);
    const reused = statSync(path).ino === oldIno;
    const text = reused
      ? first.text
      : readFileSync(
          writeJournal(world.sodium, fresh().journalDir, world.device, [
            entryFor(path, headerOf(path), first.newHeader),
          ]),
          'utf8',
        );
    if (!reused) console.log('inode not reused by the file system: the entry is made to name the new file');
    const before = readFileSync(path);
    plant(journalDir, text);

    const report = await rewriter.recover([world.device]);

    expect(report.completed).toEqual([]);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(opensTo(path, [world.device], other.plain)).toBe(true);
  });
});

describe('recover after a torn header write', () => {
  it('finishes a write torn at every byte, new bytes first or last', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const { path, plain } = protectedFile(dir, 'every-byte', [world.device, rec(world.orgA)]);
    const original = readFileSync(path);
    const { text, newHeader } = await genuineJournalFor(path, [world.device, rec(world.orgB)]);
    const failures: string[] = [];
    for (let k = 0; k <= newHeader.length; k++) {
      for (const newFirst of [true, false]) {
        const torn = Buffer.from(original);
        if (newFirst) torn.set(newHeader.subarray(0, k), 0);
        else torn.set(newHeader.subarray(k), k);
        writeFileSync(path, torn);
        plant(journalDir, text, 'rewrap-000000000000000000000000.journal');
        const report = await rewriter.recover([world.device]);
        const ok =
          report.refused.length === 0 &&
          readdirSync(journalDir).length === 0 &&
          Buffer.from(headerOf(path)).equals(newHeader);
        if (!ok) failures.push(`${newFirst ? 'new first' : 'new last'} k=${k}: ${JSON.stringify(report)}`);
      }
    }
    expect(failures.slice(0, 3)).toEqual([]);
    expect(opensTo(path, [{ kind: 'recovery', ...world.orgB }], plain)).toBe(true);
  });
});

describe('hard links', () => {
  it('an in-place rewrite re-wraps every link of the file (one inode, one header): the retired key opens none', async () => {
    const { dir, rewriter } = fresh();
    const { path, plain } = protectedFile(dir, 'linked', [world.device, rec(world.orgA)]);
    const other = join(dir, 'elsewhere.coffer');
    linkSync(path, other);
    expect((await rewriter.rewrap(path, [world.device], [world.device, rec(world.orgB)])).outcome).toBe(
      'in-place',
    );
    expect(statSync(other).nlink).toBe(2);
    for (const p of [path, other]) {
      expect(keysOf(p)).toEqual([idOf(world.device), idOf(rec(world.orgB))].sort());
      expect(opensTo(p, [{ kind: 'recovery', ...world.orgA }], plain)).toBe(false);
      expect(opensTo(p, [world.device], plain)).toBe(true);
    }
  });
});

describe('recover while a batch of the same rewriter runs', () => {
  it('leaves the journals of chunks written but not yet flushed alone (they are not a crash’s)', async () => {
    const { dir, journalDir, rewriter } = fresh();
    const paths = Array.from(
      { length: 600 },
      (_, i) => protectedFile(dir, `f${i}`, [world.device, rec(world.orgA)]).path,
    );
    // rewrapMany returns to the caller after its first chunk of 512: written, journalled, flush deferred.
    const running = rewriter.rewrapMany(paths, [world.device], [world.device, rec(world.orgB)]);
    const journals = readdirSync(journalDir);
    expect(journals).toHaveLength(1);
    const report = await rewriter.recover([world.device]);
    expect(report).toEqual({ completed: [], alreadyDone: [], refused: [] });
    expect(readdirSync(journalDir)).toEqual(journals);
    expect(rewriter.pending()).toBe(false);
    const results = await running;
    expect(results.every((r) => 'outcome' in r && r.outcome === 'in-place')).toBe(true);
    expect(readdirSync(journalDir)).toEqual([]);
    expect(rewriter.pending()).toBe(false);
  });
});
