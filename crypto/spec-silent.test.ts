/**
 * What Coffer does where FORMAT.md §5.1 was silent, checked on real files (the reading side of the other
 * silent cases is pinned by vectors: metadata-mtime-*, metadata-mode-too-large, metadata-padding-not-zero,
 * short-*, *-tagged-*).
 */
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafeFiles } from '../electron/services/safe-file.js';
import { isCofferError } from './errors.js';
import { encryptFd } from './file.js';
import { generateDeviceKey, type Identity, type Recipient } from './keys.js';
import { decodeMetadata, encodeMetadata } from './metadata.js';
import { defaultBackend, type SodiumBackend } from './sodium.js';

let sodium: SodiumBackend;
let device: Identity & Recipient;
const root = mkdtempSync(join(tmpdir(), 'coffer-silent-'));
beforeAll(async () => {
  sodium = await defaultBackend();
  device = { kind: 'device', key: generateDeviceKey(sodium) };
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function protect(dir: string, storedName: string, mode = 0o640): string {
  const plain = join(dir, 'source.bin');
  writeFileSync(plain, 'content', { mode });
  const target = join(dir, 'file.coffer');
  const inFd = openSync(plain, 'r');
  const outFd = openSync(target, 'w');
  encryptFd(sodium, inFd, outFd, { recipients: [device], name: storedName });
  closeSync(inFd);
  closeSync(outFd);
  rmSync(plain);
  return target;
}

describe('where FORMAT.md §5.1 was silent', () => {
  it('writers refuse a non-finite mtime instead of writing a file no reader opens', () => {
    for (const mtimeMs of [NaN, Infinity, -Infinity]) {
      let error: unknown;
      try {
        encodeMetadata({ name: 'a', size: 1, mode: 0o600, mtimeMs });
      } catch (caught) {
        error = caught;
      }
      expect(isCofferError(error, 'INVALID_ARGUMENT'), String(mtimeMs)).toBe(true);
    }
    // A negative but finite time (before 1970) is a time like any other.
    expect(decodeMetadata(encodeMetadata({ name: 'a', size: 1, mode: 0, mtimeMs: -5 })).mtimeMs).toBe(-5);
  });

  it('writers keep mode & 0o7777; decrypt never restores setuid, setgid or sticky bits', () => {
    expect(decodeMetadata(encodeMetadata({ name: 'a', size: 1, mode: 0o104755, mtimeMs: 0 })).mode).toBe(
      0o4755,
    );
    const dir = mkdtempSync(join(root, 'mode-'));
    const path = protect(dir, 'tool', 0o4755);
    const { target } = new SafeFiles(sodium).decryptTo(path, { identities: [device] });
    expect(statSync(target).mode & 0o7000).toBe(0);
  });

  it('a stored name too long for the file system: NAME_TOO_LONG, the .coffer kept, no plaintext left', () => {
    const dir = mkdtempSync(join(root, 'long-'));
    const longName = `${'n'.repeat(300)}.txt`; // valid in the format (≤ 1000 bytes), not on ext4 (255)
    const path = protect(dir, longName);
    const files = new SafeFiles(sodium);
    let error: unknown;
    try {
      files.decryptTo(path, { identities: [device] });
    } catch (caught) {
      error = caught;
    }
    expect(isCofferError(error, 'NAME_TOO_LONG')).toBe(true);
    expect(readdirSync(dir)).toEqual(['file.coffer']);
    // An explicit output name still gets the content out.
    const { target, metadata } = files.decryptTo(path, {
      identities: [device],
      output: join(dir, 'short.txt'),
    });
    expect(metadata.name).toBe(longName);
    expect(statSync(target).size).toBe('content'.length);
  });
});
