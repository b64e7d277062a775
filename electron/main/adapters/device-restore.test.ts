/**
 * A device restore's result that the window never fetches (closed during the re-wrap, a renderer that
 * crashed) kept the new recovery code made by the restore in main's memory for the life of the app
 * (issue 10 item 4 review): it is held as bytes now, zeroed when fetched, and zeroed and dropped
 * `keepResultMs` after the run ended if nobody fetched it. Over the real composition: a private real
 * keychain, a real recovery code and escrow record, the real restore run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { codeOf, TestAppHome } from '../../../e2e/helpers/test-app.js';
import { parseRecoveryCode } from '../../services/keys/recovery-code.js';
import type { BuiltApp } from '../composition.js';
import { DeviceRestoreAdapter } from './device-restore.js';

const CODE_BYTES = 16;

describe('DeviceRestoreAdapter keeps the new recovery code only briefly', () => {
  const homes: TestAppHome[] = [];
  const apps: BuiltApp[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const h of homes) fs.rmSync(h.home, { recursive: true, force: true });
  });

  /** A laptop with a recovery code, restored with it: the run has ended, its result not fetched yet. */
  async function restored(name: string, keepResultMs?: number) {
    const home = new TestAppHome(name);
    homes.push(home);
    home.writePolicy({});
    const app = await home.build();
    apps.push(app);
    const restore = app.ports.deviceRestore;
    if (!(restore instanceof DeviceRestoreAdapter)) throw new Error('not the adapter');
    if (keepResultMs !== undefined) restore.keepResultMs = keepResultMs;
    const issued = await app.ports.keys.makeRecoveryCode();
    // Every buffer main zeroes through libsodium, with a copy of its bytes before and after.
    const zeroed: { before: Uint8Array; buffer: Uint8Array }[] = [];
    const realZero = app.sodium.zero.bind(app.sodium);
    vi.spyOn(app.sodium, 'zero').mockImplementation((buffer: Uint8Array) => {
      zeroed.push({ before: Uint8Array.from(buffer), buffer });
      realZero(buffer);
    });
    restore.pick(null);
    const { runId } = await restore.startWithCode(issued.groups);
    expect((await app.runs.settled(runId)).state).toBe('done');
    /** The code buffers zeroed since the run: 16 bytes, not all zero before, all zero now. */
    const codesZeroed = () =>
      zeroed.filter(
        (z) =>
          z.buffer.length === CODE_BYTES && z.before.some((b) => b !== 0) && z.buffer.every((b) => b === 0),
      ).length;
    return { restore, runId, codesZeroed };
  }

  it('zeroes and drops an unfetched result after keepResultMs', async () => {
    const { restore, runId, codesZeroed } = await restored('restore-unfetched', 400);
    const before = codesZeroed();
    await new Promise((r) => setTimeout(r, 900));
    // The held code was zeroed with nobody asking, and the result is gone (said so, not "not known").
    expect(codesZeroed()).toBe(before + 1);
    const late = restore.result(runId);
    expect(await codeOf(late)).toBe('RESULT_EXPIRED');
  });

  it('zeroes the code it restored with before the re-wrap of the folders, not after it', async () => {
    // The re-wrap of every protected file comes after the key is restored and takes minutes on a large
    // tree; the used code still opens older key records (a folder backup's copy), so it must not wait there.
    const home = new TestAppHome('restore-wipe-early');
    homes.push(home);
    home.writePolicy({});
    const app = await home.build();
    apps.push(app);
    const folder = path.join(home.home, 'Customers');
    fs.mkdirSync(folder);
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(folder, `f${i}.txt`), `customer ${i}`);
    const added = await app.ports.folders.add(folder);
    const protect = await app.ports.folders.protect(added.id);
    expect((await app.runs.settled(protect.runId)).state).toBe('done');
    const issued = await app.ports.keys.makeRecoveryCode();
    const used = parseRecoveryCode(issued.groups.join('-'));
    let runId = '';
    /** The restore run's progress when the used code was zeroed (null: never through libsodium). */
    let whenZeroed: { filesTotal: number; filesDone: number } | null = null;
    const realZero = app.sodium.zero.bind(app.sodium);
    vi.spyOn(app.sodium, 'zero').mockImplementation((buffer: Uint8Array) => {
      if (buffer.length === used.length && Buffer.from(buffer).equals(Buffer.from(used))) {
        const run = app.runs.list().find((r) => r.runId === runId);
        whenZeroed = { filesTotal: run?.filesTotal ?? -1, filesDone: run?.filesDone ?? -1 };
      }
      realZero(buffer);
    });
    const restore = app.ports.deviceRestore;
    restore.pick(null);
    ({ runId } = await restore.startWithCode(issued.groups));
    const settled = await app.runs.settled(runId);
    expect(settled.state).toBe('done');
    // Zeroed before the re-wrap counted a single file (it went through all 20 after).
    expect(whenZeroed).toEqual({ filesTotal: 0, filesDone: 0 });
    const { view } = await restore.result(runId);
    expect(view.rewrap?.filesTotal).toBeGreaterThanOrEqual(20);
  });

  it('zeroes the held code once the result is fetched, and hands it over once', async () => {
    const { restore, runId, codesZeroed } = await restored('restore-fetched');
    const before = codesZeroed();
    const { view } = await restore.result(runId);
    expect(view.newCode?.groups).toHaveLength(8);
    expect(codesZeroed()).toBe(before + 1);
    expect(await codeOf(restore.result(runId))).toBe('NOT_FOUND');
  });
});
