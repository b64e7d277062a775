/**
 * The folders adapter over the real FolderService (real files, real worker pool, real libsodium): progress
 * reaches the RunTracker, cancel goes through it, and paths never leave the folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CofferError } from '../../../crypto/errors.js';
import { generateDeviceKey, type Identity, type Recipient } from '../../../crypto/keys.js';
import { defaultBackend } from '../../../crypto/sodium.js';
import { FolderService, lockDirIn } from '../../services/folders/folder-service.js';
import { WorkerPool } from '../../services/folders/pool.js';
import { FolderRegistry } from '../../services/folders/registry.js';
import type { Progress } from '../../shared/contract.js';
import { createEscrowRecord, type EscrowRecord } from '../../services/keys/escrow.js';
import { ESCROW_COPY_NAME, FolderEscrowCopies } from '../../services/keys/folder-escrow.js';
import { generateRecoveryCode } from '../../services/keys/recovery-code.js';
import { RunTracker } from '../runs.js';
import { FoldersAdapter } from './folders.js';

let pool: WorkerPool;
let key: Uint8Array;
let root: string;
let data: string;
let runs: RunTracker;
let adapter: FoldersAdapter;
let mandatory: string[];
let keysBroken: boolean;
let removeFails: boolean;
let record: EscrowRecord;

beforeAll(async () => {
  const sodium = await defaultBackend();
  key = generateDeviceKey(sodium);
  record = createEscrowRecord(sodium, {
    deviceKey: key,
    code: generateRecoveryCode(sodium),
    recoveryPublicKeys: [],
  });
  pool = new WorkerPool({ backend: 'wasm', size: 2 });
});
afterAll(async () => {
  await pool.close();
});
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-adapter-'));
  data = path.join(root, 'data');
  fs.mkdirSync(data);
  mandatory = [];
  keysBroken = false;
  const keys = {
    recipients: (): Promise<Recipient[]> =>
      keysBroken
        ? Promise.reject(new CofferError('KEYCHAIN_UNAVAILABLE', 'no keychain'))
        : Promise.resolve([{ kind: 'device', key }]),
    identities: (): Promise<Identity[]> => Promise.resolve([{ kind: 'device', key }]),
  };
  const registry = FolderRegistry.inHome(path.join(root, 'home'));
  const policy = {
    isMandatoryFolder: (f: string) => mandatory.includes(f),
    assertCanUnprotect: () => undefined,
    assertCanRemoveFolder: (f: string) => {
      if (mandatory.includes(f)) throw new CofferError('POLICY_FORBIDS', 'required');
    },
    requireRecipients: () => undefined,
  };
  runs = new RunTracker();
  removeFails = false;
  const copies = new FolderEscrowCopies({ records: { currentEscrow: () => record }, folders: () => [] });
  const escrow = {
    writeBeside: (f: string) => copies.writeBeside(f),
    removeBeside: (f: string) =>
      removeFails ? Promise.reject(new Error('read-only file system')) : copies.removeBeside(f),
  };
  adapter = new FoldersAdapter({
    service: new FolderService({
      registry,
      keys,
      pool: () => pool,
      lockDir: lockDirIn(path.join(root, 'home')),
      policy,
      escrow,
    }),
    runs,
    keys,
    policy,
    ignorePatterns: () => registry.ignorePatterns(),
    escrow,
  });
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('FoldersAdapter', () => {
  it('adds without protecting, then protects with progress into the tracker', async () => {
    for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(data, `f${i}`), Buffer.alloc(200_000, i));
    const view = await adapter.add(data);
    expect(view).toMatchObject({ plaintextFiles: 6, protectedFiles: 0, lastRun: null, runningRunId: null });
    await expect(adapter.add(data)).rejects.toMatchObject({ code: 'ALREADY_PROTECTED' });

    const seen: Progress[] = [];
    runs.onProgress((p) => seen.push(p));
    const { runId } = await adapter.protect(view.id);
    expect((await adapter.list())[0]?.runningRunId).toBe(runId);
    const end = await runs.settled(runId);
    expect(end).toMatchObject({
      state: 'done',
      filesDone: 6,
      filesTotal: 6,
      bytesDone: 1_200_000,
      errors: [],
    });
    expect(seen.some((p) => p.state === 'running' && p.bytesTotal === 1_200_000)).toBe(true);
    const after = (await adapter.list())[0];
    expect(after).toMatchObject({ protectedFiles: 6, plaintextFiles: 0, runningRunId: null });
    expect(after?.lastRun?.outcome).toBe('ok');
  });

  it('cancels a run through the tracker: exactly one copy of every file, outcome cancelled', async () => {
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(data, `f${i}`), Buffer.alloc(512 * 1024, i));
    const view = await adapter.add(data);
    runs.onProgress((p) => {
      if (p.state === 'running' && p.bytesDone > 0) adapter.cancel(p.runId);
    });
    const { runId } = await adapter.protect(view.id);
    const end = await runs.settled(runId);
    expect(end.state).toBe('cancelled');
    expect(end.filesDone).toBeLessThan(40);
    const names = fs.readdirSync(data);
    expect(names.filter((n) => n.includes('.tmp-'))).toEqual([]);
    for (let i = 0; i < 40; i++)
      expect(names.includes(`f${i}`) !== names.includes(`f${i}.coffer`)).toBe(true);
    expect((await adapter.list())[0]?.lastRun?.outcome).toBe('cancelled');
  });

  it('fails the request itself when the keys cannot be loaded, before any run starts', async () => {
    fs.writeFileSync(path.join(data, 'a'), 'x');
    const view = await adapter.add(data);
    keysBroken = true;
    await expect(adapter.protect(view.id)).rejects.toMatchObject({ code: 'KEYCHAIN_UNAVAILABLE' });
    expect(runs.list()).toEqual([]);
    expect(fs.readdirSync(data)).toEqual(['a']);
  });

  it('refuses to remove or unprotect a mandatory folder, and removes others leaving files encrypted', async () => {
    fs.writeFileSync(path.join(data, 'a'), 'x');
    const view = await adapter.add(data);
    await runs.settled((await adapter.protect(view.id)).runId);
    mandatory = [view.path];
    expect((await adapter.list())[0]?.mandatory).toBe(true);
    await expect(adapter.remove(view.id)).rejects.toMatchObject({ code: 'POLICY_FORBIDS' });
    // Unprotect is refused by FolderService itself (the handler asks first, so this is the second line).
    const refused = await runs.settled((await adapter.unprotect(view.id)).runId);
    expect(refused).toMatchObject({
      state: 'failed',
      errors: [expect.objectContaining({ code: 'POLICY_FORBIDS' })],
    });
    expect(fs.readdirSync(data).sort()).toEqual([ESCROW_COPY_NAME, 'a.coffer']);
    mandatory = [];
    await adapter.remove(view.id);
    expect(await adapter.list()).toEqual([]);
    // The files stay encrypted, so the escrow copy that restores their key stays with them.
    expect(fs.readdirSync(data).sort()).toEqual([ESCROW_COPY_NAME, 'a.coffer']);
  });

  it('removes the escrow copy beside a folder once it is unprotected, as the CLI does', async () => {
    fs.writeFileSync(path.join(data, 'a'), 'alpha');
    const view = await adapter.add(data);
    await runs.settled((await adapter.protect(view.id)).runId);
    expect(fs.readdirSync(data).sort()).toEqual([ESCROW_COPY_NAME, 'a.coffer']);
    const end = await runs.settled((await adapter.unprotect(view.id)).runId);
    expect(end).toMatchObject({ state: 'done', errors: [] });
    expect(fs.readdirSync(data)).toEqual(['a']);
    expect(await adapter.list()).toEqual([]);
  });

  it('reports an escrow copy it could not remove with the run, and a cancelled unprotect keeps it', async () => {
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(data, `f${i}`), Buffer.alloc(512 * 1024, i));
    const view = await adapter.add(data);
    await runs.settled((await adapter.protect(view.id)).runId);
    // Cancelled half-way: the folder stays in Coffer, so its copy stays too.
    const off = runs.onProgress((p) => {
      if (p.kind === 'unprotect' && p.state === 'running' && p.bytesDone > 0) adapter.cancel(p.runId);
    });
    const cancelled = await runs.settled((await adapter.unprotect(view.id)).runId);
    off();
    expect(cancelled.state).toBe('cancelled');
    expect(fs.existsSync(path.join(data, ESCROW_COPY_NAME))).toBe(true);

    removeFails = true;
    const end = await runs.settled((await adapter.unprotect(view.id)).runId);
    expect(end.errors).toEqual([
      expect.objectContaining({ path: ESCROW_COPY_NAME, code: 'ESCROW_COPY_LEFT' }),
    ]);
    expect(await adapter.list()).toEqual([]);
    expect(fs.existsSync(path.join(data, ESCROW_COPY_NAME))).toBe(true);
  });

  it('counts a hard-linked file in the clear with its reason; "all protected" only once it is true', async () => {
    fs.writeFileSync(path.join(data, 'a.txt'), 'alpha');
    fs.writeFileSync(path.join(data, 'linked.txt'), 'readable through another name');
    const otherName = path.join(root, 'elsewhere.txt');
    fs.linkSync(path.join(data, 'linked.txt'), otherName);
    const view = await adapter.add(data);
    const end = await runs.settled((await adapter.protect(view.id)).runId);
    // The run tells the user, as the CLI does (exit 1): the same definition (clear-state.ts).
    expect(end.errors).toEqual([expect.objectContaining({ path: 'linked.txt', code: 'HARD_LINK' })]);
    const after = (await adapter.list())[0];
    expect(after).toMatchObject({ protectedFiles: 1, plaintextFiles: 0, inTheClearFiles: 1 });
    expect(after?.inTheClear).toEqual([expect.objectContaining({ path: 'linked.txt', code: 'HARD_LINK' })]);
    expect(after?.lastRun?.outcome).toBe('partial');
    expect(fs.readdirSync(data).sort()).toEqual([ESCROW_COPY_NAME, 'a.txt.coffer', 'linked.txt']);

    fs.unlinkSync(otherName);
    const again = await runs.settled((await adapter.protect(view.id)).runId);
    expect(again.errors).toEqual([]);
    expect((await adapter.list())[0]).toMatchObject({ inTheClearFiles: 0, inTheClear: [] });
  });

  it('lock files match whole names: an unrelated `~$` file keeps nothing in the clear, an exact fresh one is IN_USE', async () => {
    for (const name of ['Report.docx', 'Export.docx', '~$port.docx', 'Budget.xlsx', '~$Budget.xlsx'])
      fs.writeFileSync(path.join(data, name), name);
    const view = await adapter.add(data);
    const end = await runs.settled((await adapter.protect(view.id)).runId);
    expect(end.errors).toEqual([expect.objectContaining({ path: 'Budget.xlsx', code: 'IN_USE' })]);
    expect(fs.readdirSync(data).sort()).toEqual([
      ESCROW_COPY_NAME,
      'Budget.xlsx',
      'Export.docx.coffer',
      'Report.docx.coffer',
      '~$Budget.xlsx',
      '~$port.docx.coffer',
    ]);
    const listed = (await adapter.list())[0];
    // Excluded on purpose: the lock file of the open document, and the escrow copy.
    expect(listed).toMatchObject({ inTheClearFiles: 1, excludedFiles: 2 });
    expect(listed?.inTheClear.map((f) => [f.path, f.code])).toEqual([['Budget.xlsx', 'IN_USE']]);
  });

  it("a `.coffer` name without Coffer's magic is in the clear (BAD_MAGIC) and listed as plaintext, as the CLI says", async () => {
    fs.writeFileSync(path.join(data, 'a.txt'), 'alpha');
    fs.writeFileSync(path.join(data, 'export.csv.coffer'), 'name,iban\nAda,DE00\n');
    const view = await adapter.add(data);
    const end = await runs.settled((await adapter.protect(view.id)).runId);
    expect(end.errors).toEqual([expect.objectContaining({ path: 'export.csv.coffer', code: 'BAD_MAGIC' })]);
    const listed = (await adapter.list())[0];
    expect(listed).toMatchObject({ protectedFiles: 1, inTheClearFiles: 1 });
    expect(listed?.inTheClear.map((f) => [f.path, f.code])).toEqual([['export.csv.coffer', 'BAD_MAGIC']]);
    const files = await adapter.listFiles(view.id, '');
    expect(files.filter((f) => f.kind !== 'other').map((f) => [f.name, f.kind])).toEqual([
      ['a.txt', 'protected'],
      ['export.csv.coffer', 'plaintext'],
    ]);
  });

  it('lists one directory and keeps paths inside the folder, symlinks included', async () => {
    fs.mkdirSync(path.join(data, 'sub'));
    fs.writeFileSync(path.join(data, 'b.txt'), 'b');
    fs.writeFileSync(path.join(data, '.DS_Store'), 'litter');
    fs.writeFileSync(path.join(data, 'x.coffer.tmp-0123456789ab'), 'temp');
    fs.symlinkSync('/etc', path.join(data, 'out'));
    const view = await adapter.add(data);
    const listed = await adapter.listFiles(view.id, '');
    expect(listed.map((e) => [e.name, e.kind])).toEqual([
      ['sub', 'dir'],
      ['.DS_Store', 'other'],
      ['b.txt', 'plaintext'],
      ['out', 'other'],
    ]);
    await expect(adapter.resolve(view.id, '../x')).rejects.toMatchObject({ code: 'OUTSIDE_FOLDER' });
    await expect(adapter.resolve(view.id, 'out/passwd')).rejects.toMatchObject({ code: 'OUTSIDE_FOLDER' });
    expect(await adapter.resolve(view.id, 'b.txt')).toBe(path.join(fs.realpathSync(data), 'b.txt'));
  });
});
