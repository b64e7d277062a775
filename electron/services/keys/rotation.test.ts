/**
 * RotationService in process over real files, real libsodium and the real HeaderRewriter: what a rotation
 * cannot finish is reported (never a success) and keeps the unfinished-rotation marker; a finished one
 * clears it. The end-to-end attack and crash scenarios are in e2e/cli-rotation.e2e.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDeviceKey, type Identity, type Recipient } from '../../../crypto/keys.js';
import { loadBackend } from '../../../crypto/sodium.js';
import { HeaderRewriter } from '../headers/header-rewriter.js';
import { SafeFiles } from '../safe-file.js';
import { createEscrowRecord, openEscrowWithRecoveryKey, type EscrowRecord } from './escrow.js';
import { generateRecoveryCode } from './recovery-code.js';
import { RotationService, currentRecoveryKeyIds, headerJournalDir, listProtected } from './rotation.js';

const sodium = await loadBackend('wasm');
const tmp = (label: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `coffer-rotation-${label}-`));

function setup(
  options: {
    recordKey?: Uint8Array;
    batchFiles?: number;
    /** Called before each rewrapMany call with the paths of the batch. */
    onBatch?: (paths: readonly string[]) => void;
  } = {},
) {
  const home = tmp('home');
  const folder = tmp('folder');
  const device = generateDeviceKey(sodium);
  const r1 = sodium.boxKeypair();
  const r2 = sodium.boxKeypair();
  let current = [r1.publicKey];
  const safeFiles = new SafeFiles(sodium);
  const write = (name: string, key = device, recovery = current): string => {
    const file = path.join(folder, name);
    fs.writeFileSync(file, `content of ${name}\n`);
    const recipients: Recipient[] = [
      { kind: 'device', key },
      ...recovery.map((publicKey): Recipient => ({ kind: 'recovery', publicKey })),
    ];
    return safeFiles.encryptInPlace(file, { recipients, identities: [{ kind: 'device', key }] }).target;
  };
  let record: EscrowRecord | null = createEscrowRecord(sodium, {
    deviceKey: options.recordKey ?? device,
    code: generateRecoveryCode(sodium),
    recoveryPublicKeys: current,
  });
  const copies: EscrowRecord[] = [];
  const rewriter = new HeaderRewriter({ sodium, journalDir: headerJournalDir(home) });
  const rotation = new RotationService({
    sodium,
    recipients: () =>
      Promise.resolve([
        { kind: 'device', key: device.slice() },
        ...current.map((publicKey): Recipient => ({ kind: 'recovery', publicKey })),
      ]),
    identities: () => Promise.resolve<Identity[]>([{ kind: 'device', key: device.slice() }]),
    recoveryKeyIds: () => currentRecoveryKeyIds(sodium, current, []),
    escrow: {
      currentEscrow: () => record,
      saveEscrow: (r) => {
        record = r;
      },
    },
    copies: {
      refreshAll: (r) => {
        copies.push(r);
        return Promise.resolve();
      },
      stale: (r) => copies.length > 0 && copies.at(-1) !== r,
    },
    folders: () => [folder],
    rewriter: {
      recover: (ids) => rewriter.recover(ids),
      rewrapMany: (paths, ids, recipients, rewrapOptions) => {
        options.onBatch?.(paths);
        return rewriter.rewrapMany(paths, ids, recipients, rewrapOptions);
      },
    },
    stateDir: home,
    ...(options.batchFiles ? { batchFiles: options.batchFiles } : {}),
  });
  return {
    rotation,
    home,
    folder,
    write,
    r1,
    r2,
    device,
    copies,
    record: () => record,
    setKeys: (keys: Uint8Array[]) => {
      current = keys;
    },
  };
}

describe('RotationService', () => {
  it('walks a batch at a time, never listing the whole tree first (issue 10: 1,000,000 files)', async () => {
    const batches: number[] = [];
    let added = false;
    const t = setup({
      batchFiles: 1,
      onBatch: (paths) => {
        batches.push(paths.length);
        if (added) return;
        added = true;
        // While the first batch is re-wrapped, a file lands in each subfolder: the one the walk has not
        // read yet is found too. A rotation that listed the tree before its first batch finds neither.
        for (const sub of ['x', 'y']) {
          fs.copyFileSync(
            path.join(t.folder, sub, 'a.txt.coffer'),
            path.join(t.folder, sub, 'late.txt.coffer'),
          );
        }
      },
    });
    for (const sub of ['x', 'y']) {
      fs.mkdirSync(path.join(t.folder, sub));
      t.write(path.join(sub, 'a.txt'));
    }
    t.setKeys([t.r2.publicKey]);
    const report = await t.rotation.run();
    expect(batches.every((n) => n === 1)).toBe(true);
    // The copy in the folder already read is found by the check after the walk (runLocked's sweeps).
    expect(report).toMatchObject({ filesTotal: 4, failed: [], cancelled: false });
    expect(report.inPlace + report.copied).toBe(4);
  });

  it('a folder swapped for a link mid-walk: nothing outside the folder is re-wrapped, and the run is not complete', async () => {
    const outside = tmp('outside');
    let swapped = false;
    const t = setup({
      batchFiles: 1,
      onBatch: () => {
        if (swapped) return;
        swapped = true;
        // During the first batch, `sub` (listed as a folder, not read yet) becomes a link out of the folder.
        fs.renameSync(path.join(t.folder, 'sub'), path.join(outside, 'moved-sub'));
        fs.symlinkSync(outside, path.join(t.folder, 'sub'));
      },
    });
    t.write('a.txt');
    fs.mkdirSync(path.join(t.folder, 'sub'));
    t.write(path.join('sub', 'b.txt'));
    // A Coffer file of the same device outside the folder, sealed to the old set.
    fs.renameSync(t.write('theirs.txt'), path.join(outside, 'theirs.txt.coffer'));
    const before = fs.readFileSync(path.join(outside, 'theirs.txt.coffer'));
    t.setKeys([t.r2.publicKey]);
    const report = await t.rotation.run();
    expect(swapped).toBe(true);
    expect(fs.readFileSync(path.join(outside, 'theirs.txt.coffer')).equals(before)).toBe(true);
    expect(report.failed.map((f) => f.code)).toContain('OUTSIDE_FOLDER');
    expect(t.rotation.pending()).toBe(true);
  });

  it('a folder swapped for a link after the walk listed it: its batch touches nothing outside', async () => {
    const outside = tmp('outside');
    let swapped = false;
    const t = setup({
      onBatch: () => {
        if (swapped) return;
        swapped = true;
        // The walk has read `sub`; before its files are re-wrapped, `sub` becomes a link to a folder
        // outside holding a Coffer file of the same name.
        fs.renameSync(path.join(t.folder, 'sub'), path.join(t.folder, 'sub-moved'));
        fs.symlinkSync(outside, path.join(t.folder, 'sub'));
      },
    });
    fs.mkdirSync(path.join(t.folder, 'sub'));
    t.write(path.join('sub', 'b.txt'));
    fs.renameSync(t.write('theirs.txt'), path.join(outside, 'b.txt.coffer'));
    const before = fs.readFileSync(path.join(outside, 'b.txt.coffer'));
    t.setKeys([t.r2.publicKey]);
    const report = await t.rotation.run();
    expect(swapped).toBe(true);
    expect(fs.readFileSync(path.join(outside, 'b.txt.coffer')).equals(before)).toBe(true);
    expect(report.failed.map((f) => f.code)).toContain('OUTSIDE_FOLDER');
    expect(t.rotation.pending()).toBe(true);
  });

  it('a file moved mid-walk from a folder not read yet into one already read is re-wrapped too', async () => {
    let moved = false;
    const t = setup({
      batchFiles: 1,
      onBatch: () => {
        if (moved) return;
        moved = true;
        // The folder itself was read (its file is this batch); `sub` was not: its file moves up.
        fs.renameSync(path.join(t.folder, 'sub', 'b.txt.coffer'), path.join(t.folder, 'moved.txt.coffer'));
      },
    });
    t.write('a.txt');
    fs.mkdirSync(path.join(t.folder, 'sub'));
    t.write(path.join('sub', 'b.txt'));
    t.setKeys([t.r2.publicKey]);
    const report = await t.rotation.run();
    expect(moved).toBe(true);
    // Either way honest: every file now under the new set, or the run says it is not done.
    if (report.failed.length === 0) expect(t.rotation.pending()).toBe(false);
    expect(t.rotation.coverage(t.folder)).toMatchObject({
      files: 2,
      retiredKeyStanzas: 0,
      notRecoverable: 0,
    });
  });

  it('coverage and needsRun: a subfolder the walk cannot read is not counted as recoverable', async () => {
    const t = setup();
    t.write('a.txt');
    // A subfolder no walk can read, even as root: its path is longer than PATH_MAX (ENAMETOOLONG), as
    // a folder without read permission is for a user. Built by renames, each path short.
    const build = tmp('deep');
    fs.mkdirSync(path.join(build, 'd0'));
    fs.renameSync(t.write('deep.txt'), path.join(build, 'd0', 'deep.txt.coffer'));
    const long = 'n'.repeat(200);
    for (let i = 1; i <= 25; i++) {
      fs.mkdirSync(path.join(build, `d${i}`));
      fs.renameSync(path.join(build, `d${i - 1}`), path.join(build, `d${i}`, long));
    }
    fs.renameSync(path.join(build, 'd25'), path.join(t.folder, 'deep'));
    t.setKeys([t.r2.publicKey]);
    const report = await t.rotation.run();
    expect(report.failed.map((f) => f.code)).toContain('NAME_TOO_LONG');
    expect(t.rotation.pending()).toBe(true);
    // The marker deleted (see needsRun): the unread folder may hold files sealed to the retired key.
    fs.rmSync(path.join(t.home, 'rotation-pending.json'));
    const coverage = t.rotation.coverage(t.folder);
    expect(coverage.files).toBe(1);
    expect(coverage.notRecoverable + coverage.unreadable).toBeGreaterThan(0);
    expect(t.rotation.needsRun()).toBe(true);
  });

  it('brings the record, the copies and every file to exactly the new set, then clears its marker', async () => {
    const t = setup();
    const files = [t.write('a.txt'), t.write('b.txt')];
    t.setKeys([t.r2.publicKey]);
    expect(t.rotation.coverage(t.folder)).toMatchObject({
      files: 2,
      notRecoverable: 2,
      retiredKeyStanzas: 2,
    });
    const report = await t.rotation.run();
    expect(report).toMatchObject({ escrow: 'resealed', filesTotal: 2, failed: [], cancelled: false });
    expect(report.inPlace + report.copied).toBe(2);
    expect(t.rotation.pending()).toBe(false);
    const record = t.record();
    if (!record) throw new Error('no record');
    expect(t.copies.at(-1)).toBe(record);
    expect(() => openEscrowWithRecoveryKey(sodium, record, { kind: 'recovery', ...t.r1 })).toThrow(
      /not sealed to recovery key/,
    );
    expect(t.rotation.coverage(t.folder)).toMatchObject({
      files: 2,
      notRecoverable: 0,
      retiredKeyStanzas: 0,
    });
    expect(files).toHaveLength(2);
    // Nothing left to do: no write, the record object unchanged.
    const again = await t.rotation.run();
    expect(again).toMatchObject({ escrow: 'unchanged', unchanged: 2, inPlace: 0, copied: 0 });
    expect(t.record()).toBe(record);
  });

  it('a file this device cannot open, a stale record and a cancel are reported and keep the marker', async () => {
    const t = setup({ recordKey: generateDeviceKey(sodium) });
    t.write('mine.txt');
    const foreign = t.write('foreign.txt', generateDeviceKey(sodium));
    t.setKeys([t.r2.publicKey]);
    const report = await t.rotation.run();
    expect(report.escrow).toBe('failed');
    expect(report.failed.map((f) => [f.path, f.code]).sort()).toEqual(
      [
        ['escrow record', 'STALE_ESCROW'],
        [foreign, 'NO_MATCHING_KEY'],
      ].sort(),
    );
    expect(report.inPlace + report.copied).toBe(1);
    expect(t.rotation.pending()).toBe(true);
    // The foreign file still counts as not recoverable by IT under the new set.
    expect(t.rotation.coverage(t.folder).notRecoverable).toBe(1);

    const cancelled = setup();
    cancelled.write('x.txt');
    cancelled.setKeys([cancelled.r2.publicKey]);
    const controller = new AbortController();
    controller.abort();
    const stopped = await cancelled.rotation.run({ signal: controller.signal });
    expect(stopped).toMatchObject({ cancelled: true, inPlace: 0, copied: 0 });
    expect(cancelled.rotation.pending()).toBe(true);
    expect((await cancelled.rotation.run()).cancelled).toBe(false);
    expect(cancelled.rotation.pending()).toBe(false);
  });

  it('settle: a file written for the old set after the rotation listed its folder is re-wrapped', async () => {
    const t = setup();
    t.write('early.txt');
    const used: Recipient[] = [
      { kind: 'device', key: t.device },
      { kind: 'recovery', publicKey: t.r1.publicKey },
    ];
    // The writer took its recipients (R1); then R1 is retired and the rotation runs to the end.
    t.setKeys([t.r2.publicKey]);
    expect((await t.rotation.run()).failed).toEqual([]);
    expect(t.rotation.pending()).toBe(false);
    // Only now does the writer's file land: it carries R1, and no rotation is left to find it.
    const late = t.write('late.txt', t.device, [t.r1.publicKey]);
    expect(t.rotation.coverage(t.folder).retiredKeyStanzas).toBe(1);
    expect(await t.rotation.settle([late], used)).toEqual([]);
    expect(t.rotation.coverage(t.folder)).toMatchObject({ retiredKeyStanzas: 0, notRecoverable: 0 });
    expect(t.rotation.pending()).toBe(false);
    // Written for the current set: nothing to do, nothing written.
    const mtime = fs.statSync(late).mtimeMs;
    const current: Recipient[] = [
      { kind: 'device', key: t.device },
      { kind: 'recovery', publicKey: t.r2.publicKey },
    ];
    expect(await t.rotation.settle([late], current)).toEqual([]);
    expect(fs.statSync(late).mtimeMs).toBe(mtime);
  });

  it('a run over some paths leaves no marker of its own, and keeps one a full run left', async () => {
    const t = setup();
    const file = t.write('a.txt');
    t.setKeys([t.r2.publicKey]);
    expect((await t.rotation.run({ paths: [file] })).failed).toEqual([]);
    expect(t.rotation.pending()).toBe(false);
    const controller = new AbortController();
    controller.abort();
    t.setKeys([t.r1.publicKey]);
    expect((await t.rotation.run({ signal: controller.signal })).cancelled).toBe(true);
    expect((await t.rotation.run({ paths: [file] })).failed).toEqual([]);
    expect(t.rotation.pending()).toBe(true);
  });

  it('needsRun: an escrow record or a copy sealed to another set needs a run, with no marker', async () => {
    const t = setup();
    t.write('a.txt');
    expect(t.rotation.needsRun()).toBe(false);
    // The policy changed while nothing ran: no marker, but the record is sealed to R1 only.
    t.setKeys([t.r2.publicKey]);
    expect(t.rotation.pending()).toBe(false);
    expect(t.rotation.needsRun()).toBe(true);
    await t.rotation.run();
    expect(t.rotation.needsRun()).toBe(false);
    // A copy beside a folder that is not the record (a run died before it; the marker was deleted).
    const record = t.record();
    if (!record) throw new Error('no record');
    t.copies.push({ ...record, recovery: [] });
    expect(t.rotation.needsRun()).toBe(true);
    await t.rotation.run();
    expect(t.rotation.needsRun()).toBe(false);
    // A run killed among the files whose marker was deleted: the record and copies are current, a file is not.
    t.write('old.txt', t.device, [t.r1.publicKey]);
    expect(t.rotation.pending()).toBe(false);
    expect(t.rotation.needsRun()).toBe(true);
    await t.rotation.run();
    expect(t.rotation.needsRun()).toBe(false);
  });

  it('a .coffer file whose name an ignore pattern matches is re-wrapped; a hard-linked plain file fails nothing', async () => {
    // The pattern came after the file was protected: the walk counts the name as litter, yet it is a
    // Coffer file that still carries the retired key.
    const t = setup();
    const draft = t.write('draft-1.txt');
    fs.mkdirSync(path.join(t.folder, '.hidden'));
    const hidden = t.write('.hidden/kept.txt');
    // The walk with the user's patterns (as protect walks) skips it as litter: the rotation must not.
    expect(listProtected([t.folder], ['draft*']).files.map((f) => f.path)).not.toContain(draft);
    t.write('a.txt');
    fs.writeFileSync(path.join(t.folder, 'plain.txt'), 'in the clear\n');
    fs.linkSync(path.join(t.folder, 'plain.txt'), path.join(t.folder, 'other-name.txt'));
    t.setKeys([t.r2.publicKey]);
    const report = await t.rotation.run();
    expect(report.failed).toEqual([]);
    expect(report.filesTotal).toBe(3);
    expect(t.rotation.pending()).toBe(false);
    // A hidden folder (left alone by protect) is walked too: its old Coffer files carry the old key.
    expect(t.rotation.coverage(t.folder)).toMatchObject({ files: 3, retiredKeyStanzas: 0 });
    expect(fs.existsSync(draft) && fs.existsSync(hidden)).toBe(true);
  });
});
