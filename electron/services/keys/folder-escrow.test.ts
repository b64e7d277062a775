import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBackend } from '../../../crypto/sodium.js';
import { LitterFilter } from '../folders/litter.js';
import { JsonSettingsStore } from '../settings.js';
import { DeviceKeyService } from './device-key.js';
import { parseEscrowRecord, openEscrowWithCode } from './escrow.js';
import { ESCROW_COPY_NAME, FolderEscrowCopies, escrowCopyPath } from './folder-escrow.js';
import { MemoryKeyStore } from './key-store.js';
import { parseRecoveryCode } from './recovery-code.js';
import { RecoveryService } from './recovery-service.js';
import { TrustedRecoveryKeys } from './trusted-keys.js';

const sodium = await loadBackend('wasm');

const tmp = (label: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `coffer-${label}-`));

/** Real services (memory keychain) and three folders, the first two "protected". */
function setup() {
  const home = tmp('escrow-home');
  const settings = new JsonSettingsStore(path.join(home, 'settings.json'));
  const trustedKeys = new TrustedRecoveryKeys(sodium, settings);
  const deviceKeys = new DeviceKeyService({
    sodium,
    keyStore: new MemoryKeyStore(),
    settings,
    trustedKeys,
    lockDir: path.join(home, 'locks'),
  });
  const escrowFile = path.join(home, 'escrow.json');
  const recovery = new RecoveryService({ sodium, deviceKeys, trustedKeys, settings, escrowFile });
  const folders = [tmp('escrow-a'), tmp('escrow-b')];
  const copies = new FolderEscrowCopies({ records: recovery, folders: () => folders });
  recovery.onEscrowChanged((record) => copies.refreshAll(record));
  return { recovery, copies, folders, escrowFile, deviceKeys };
}

describe('FolderEscrowCopies', () => {
  it('writes nothing (and no error) before any recovery code exists', async () => {
    const { copies, folders } = setup();
    const folder = folders[0] ?? '';
    await copies.writeBeside(folder);
    expect(fs.readdirSync(folder)).toEqual([]);
  });

  it('a new code writes the record beside every protected folder (0600, no temp left); it opens with the code', async () => {
    const { recovery, folders, escrowFile, deviceKeys } = setup();
    const issued = await recovery.issueCode();
    expect(issued.warnings).toEqual([]);
    const appCopy = fs.readFileSync(escrowFile, 'utf8');
    for (const folder of folders) {
      expect(fs.readdirSync(folder)).toEqual([ESCROW_COPY_NAME]);
      expect(fs.readFileSync(escrowCopyPath(folder), 'utf8')).toBe(appCopy);
      if (process.platform !== 'win32') expect(fs.statSync(escrowCopyPath(folder)).mode & 0o777).toBe(0o600);
    }
    const record = parseEscrowRecord(fs.readFileSync(escrowCopyPath(folders[0] ?? ''), 'utf8'));
    const key = openEscrowWithCode(sodium, record, parseRecoveryCode(issued.code));
    expect(key).toEqual(await deviceKeys.getDeviceKey());
  });

  it('rotation replaces every copy; writeBeside brings a new folder up to date', async () => {
    const { recovery, copies, folders } = setup();
    const first = await recovery.issueCode();
    const second = await recovery.issueCode();
    expect(second.keyId).not.toBe(first.keyId);
    for (const folder of folders) {
      expect(parseEscrowRecord(fs.readFileSync(escrowCopyPath(folder), 'utf8')).code.keyId).toBe(
        second.keyId,
      );
    }
    const later = tmp('escrow-later');
    await copies.writeBeside(later);
    expect(parseEscrowRecord(fs.readFileSync(escrowCopyPath(later), 'utf8')).code.keyId).toBe(second.keyId);
  });

  it('replaces a link named like the copy instead of writing through it', async () => {
    const { recovery, copies, folders } = setup();
    await recovery.issueCode();
    const folder = tmp('escrow-link');
    const outside = path.join(tmp('escrow-outside'), 'victim.txt');
    fs.writeFileSync(outside, 'not yours\n');
    fs.symlinkSync(outside, escrowCopyPath(folder));
    await copies.writeBeside(folder);
    expect(fs.readFileSync(outside, 'utf8')).toBe('not yours\n');
    expect(fs.lstatSync(escrowCopyPath(folder)).isFile()).toBe(true);
    expect(folders).toHaveLength(2);
  });

  it('a folder that cannot take its copy: the code is still issued, with a warning naming the folder; a vanished folder is skipped', async () => {
    const { recovery, folders } = setup();
    const notAFolder = path.join(tmp('escrow-file'), 'plain.txt');
    fs.writeFileSync(notAFolder, 'x');
    folders.push(notAFolder, path.join(os.tmpdir(), 'coffer-escrow-never-existed-' + String(process.pid)));
    const issued = await recovery.issueCode();
    expect(issued.code).toMatch(/^\d{6}(-\d{6}){7}$/);
    expect(issued.warnings).toHaveLength(1);
    expect(issued.warnings[0]).toMatch(/^ESCROW_COPY_FAILED: .*plain\.txt/);
    expect(issued.warnings[0]).not.toContain('never-existed');
    // The good folders got their copy anyway.
    expect(fs.existsSync(escrowCopyPath(folders[0] ?? ''))).toBe(true);
  });

  it('the folder walk leaves the copy and its temp file alone (litter)', () => {
    const litter = new LitterFilter();
    expect(litter.isLitter(ESCROW_COPY_NAME)).toBe(true);
    expect(litter.isLitter(`${ESCROW_COPY_NAME}.tmp-0a1b2c3d4e5f`)).toBe(true);
    expect(litter.isLitter('coffer-escrow.json')).toBe(false); // an exported record the user keeps is data
    // A custom ignore list cannot drop it: without the copy readable, the code could not restore the key.
    expect(new LitterFilter(['*.tmp']).isLitter(ESCROW_COPY_NAME)).toBe(true);
  });

  it('stale: a copy that is not the current record (an old one put back) is seen; a missing one is not', async () => {
    const { recovery, copies, folders } = setup();
    await recovery.issueCode();
    const record = recovery.currentEscrow();
    if (!record) throw new Error('no record');
    expect(copies.stale(record)).toBe(false);
    const old = fs.readFileSync(escrowCopyPath(folders[0] ?? ''), 'utf8');
    await recovery.issueCode();
    const next = recovery.currentEscrow();
    if (!next) throw new Error('no record');
    expect(copies.stale(next)).toBe(false);
    fs.rmSync(escrowCopyPath(folders[1] ?? ''));
    expect(copies.stale(next)).toBe(false);
    fs.writeFileSync(escrowCopyPath(folders[0] ?? ''), old);
    expect(copies.stale(next)).toBe(true);
  });
});
