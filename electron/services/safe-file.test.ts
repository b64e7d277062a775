import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCofferError } from '../../crypto/errors.js';
import { inspectFd } from '../../crypto/file.js';
import {
  generateDeviceKey,
  generateRecoveryKeyPair,
  type Identity,
  type Recipient,
} from '../../crypto/keys.js';
import { defaultBackend, type SodiumBackend } from '../../crypto/sodium.js';
import { openSync, closeSync } from 'node:fs';
import { isTempName, SafeFiles } from './safe-file.js';
import { conflictName } from './safe-file/held.js';
import { mkdirSync } from 'node:fs';

let sodium: SodiumBackend;
let files: SafeFiles;
let device: Identity & { kind: 'device' };
let recipients: Recipient[];

beforeAll(async () => {
  sodium = await defaultBackend();
  files = new SafeFiles(sodium);
  device = { kind: 'device', key: generateDeviceKey(sodium) };
  recipients = [device];
});

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'coffer-safe-'));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (isCofferError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe('SafeFiles', () => {
  it('protects in place and restores name, content, mode and mtime', () => {
    const dir = scratch();
    const path = join(dir, 'report.xlsx');
    const content = sodium.randomBytes(3 * 1024 * 1024 + 5);
    writeFileSync(path, content);
    chmodSync(path, 0o640);
    utimesSync(path, new Date(), new Date(1_600_000_000_000));
    const { target } = files.encryptInPlace(path, { recipients, identities: [device] });
    expect(target).toBe(path + '.coffer');
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual(['report.xlsx.coffer']);

    // a renamed ciphertext still restores its true name
    const renamed = join(dir, 'renamed.coffer');
    writeFileSync(renamed, readFileSync(target));
    const out = files.decryptTo(renamed, { identities: [device], removeSource: true });
    expect(out.target).toBe(path);
    expect(Buffer.compare(readFileSync(path), content)).toBe(0);
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(statSync(path).mtimeMs).toBe(1_600_000_000_000);
  });

  it('never overwrites an existing file without force', () => {
    const dir = scratch();
    const path = join(dir, 'a.txt');
    writeFileSync(path, 'secret');
    files.encryptInPlace(path, { recipients, identities: [device], keep: true });
    writeFileSync(path, 'newer, different');
    expect(codeOf(() => files.decryptTo(path + '.coffer', { identities: [device] }))).toBe('ALREADY_EXISTS');
    expect(readFileSync(path, 'utf8')).toBe('newer, different');
    expect(readdirSync(dir).sort()).toEqual(['a.txt', 'a.txt.coffer']);
    files.decryptTo(path + '.coffer', { identities: [device], force: true });
    expect(readFileSync(path, 'utf8')).toBe('secret');
  });

  it('refuses to follow a symlink and to overwrite an existing .coffer', () => {
    const dir = scratch();
    writeFileSync(join(dir, 'real.txt'), 'x');
    symlinkSync(join(dir, 'real.txt'), join(dir, 'link.txt'));
    expect(
      codeOf(() => files.encryptInPlace(join(dir, 'link.txt'), { recipients, identities: [device] })),
    ).toBe('SYMLINK');
    writeFileSync(join(dir, 'real.txt.coffer'), 'not ours');
    expect(
      codeOf(() => files.encryptInPlace(join(dir, 'real.txt'), { recipients, identities: [device] })),
    ).toBe('ALREADY_EXISTS');
    expect(readFileSync(join(dir, 'real.txt'), 'utf8')).toBe('x');
    expect(readFileSync(join(dir, 'real.txt.coffer'), 'utf8')).toBe('not ours');
    expect(readdirSync(dir).sort()).toEqual(['link.txt', 'real.txt', 'real.txt.coffer']);
  });

  it('leaves no result and no temp file when decryption fails', () => {
    const dir = scratch();
    const path = join(dir, 'b.bin');
    writeFileSync(path, sodium.randomBytes(5000));
    files.encryptInPlace(path, { recipients, identities: [device] });
    truncateSync(path + '.coffer', statSync(path + '.coffer').size - 1);
    expect(codeOf(() => files.decryptTo(path + '.coffer', { identities: [device] }))).toBe('TRUNCATED');
    expect(readdirSync(dir)).toEqual(['b.bin.coffer']);
  });

  it('reports a name too long for the .coffer suffix and keeps the file', () => {
    const dir = scratch();
    const path = join(dir, 'n'.repeat(252));
    writeFileSync(path, 'data');
    expect(codeOf(() => files.encryptInPlace(path, { recipients, identities: [device] }))).toBe(
      'NAME_TOO_LONG',
    );
    expect(readFileSync(path, 'utf8')).toBe('data');
  });

  it('rekeys by rewriting only the header; the new device opens it, the content is untouched', () => {
    const dir = scratch();
    const path = join(dir, 'c.bin');
    const content = sodium.randomBytes(2_000_000);
    writeFileSync(path, content);
    const org = generateRecoveryKeyPair(sodium);
    const orgIdentity: Identity = { kind: 'recovery', ...org };
    files.encryptInPlace(path, {
      recipients: [device, { kind: 'recovery', publicKey: org.publicKey }],
      identities: [device],
    });
    const before = readFileSync(path + '.coffer');
    const laptopB: Identity & { kind: 'device' } = { kind: 'device', key: generateDeviceKey(sodium) };
    const result = files.rekey(
      path + '.coffer',
      [orgIdentity],
      [laptopB, { kind: 'recovery', publicKey: org.publicKey }],
      [laptopB],
    );
    const after = readFileSync(path + '.coffer');
    expect(after.length).toBe(before.length);
    expect(result.fileBytes).toBe(before.length);
    expect(Buffer.compare(after.subarray(result.headerBytes), before.subarray(result.headerBytes))).toBe(0);
    expect(codeOf(() => files.verify(path + '.coffer', [device]))).toBe('NO_MATCHING_KEY');
    expect(files.verify(path + '.coffer', [laptopB]).size).toBe(content.length);
    const fd = openSync(path + '.coffer', 'r');
    expect(inspectFd(fd).stanzas.map((s) => s.kind)).toEqual(['device', 'recovery']);
    closeSync(fd);
    expect(readdirSync(dir)).toEqual(['c.bin.coffer']);
  });

  it('protects a batch with per-file results: one bad file does not stop the rest', () => {
    const dir = scratch();
    const paths = Array.from({ length: 20 }, (_, i) => join(dir, `f${i}.txt`));
    paths.forEach((p, i) => {
      writeFileSync(p, `file ${i} `.repeat(i * 100));
    });
    writeFileSync(join(dir, 'f3.txt.coffer'), 'someone else');
    const missing = join(dir, 'gone.txt');
    const results = files.encryptManyInPlace([...paths, missing], { recipients, identities: [device] });
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
      ...paths.map((_, i) => (i === 3 ? 'ALREADY_EXISTS' : 'ok')),
      'NOT_FOUND',
    ]);
    expect(readFileSync(join(dir, 'f3.txt'), 'utf8')).toBe('file 3 '.repeat(300));
    expect(readFileSync(join(dir, 'f3.txt.coffer'), 'utf8')).toBe('someone else');
    for (const [i, p] of paths.entries()) {
      if (i === 3) continue;
      expect(existsSync(p)).toBe(false);
      const out = files.decryptTo(p + '.coffer', { identities: [device], removeSource: true });
      expect(readFileSync(out.target, 'utf8')).toBe(`file ${i} `.repeat(i * 100));
    }
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('authenticates large files while writing them, on a second thread', () => {
    const dir = scratch();
    const path = join(dir, 'large.bin');
    const content = sodium.randomBytes(5_000_000);
    writeFileSync(path, content);
    const tailing = new SafeFiles(sodium, { tailVerifyFrom: 1_000_000 });
    const { target, metadata } = tailing.encryptInPlace(path, { recipients, identities: [device] });
    expect(metadata.size).toBe(content.length);
    // The caller's key is untouched (the verifier thread zeroes its own copy).
    expect(files.verify(target, [device]).size).toBe(content.length);
    files.decryptTo(target, { identities: [device], removeSource: true });
    expect(Buffer.compare(readFileSync(path), content)).toBe(0);
  });

  it('protects a name near the limit through a short temp name that is still recognized as ours', () => {
    const dir = scratch();
    const path = join(dir, 'l'.repeat(240));
    writeFileSync(path, 'long name');
    const { target } = files.encryptInPlace(path, { recipients, identities: [device] });
    expect(readdirSync(dir)).toEqual([basename(target)]);
    expect(isTempName('.coffer.tmp-0123456789ab')).toBe(true);
    expect(isTempName(`${'l'.repeat(240)}.coffer.tmp-0123456789ab`)).toBe(true);
    // A user's own file that merely contains the mark is data, not garbage.
    expect(isTempName('notes.coffer.tmp-draft.txt')).toBe(false);
    expect(isTempName('report.coffer.tmp-0123456789ab.coffer')).toBe(false);
  });

  it('never acts through a folder that was replaced by a link to outside the protected folder', () => {
    const base = scratch();
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    mkdirSync(join(root), { recursive: true });
    mkdirSync(join(outside, 'sub'), { recursive: true });
    writeFileSync(join(outside, 'sub', 'f.txt'), 'not yours');
    symlinkSync(join(outside, 'sub'), join(root, 'sub'));
    const [result] = files.encryptManyInPlace([join(root, 'sub', 'f.txt')], {
      recipients,
      identities: [device],
      roots: [root],
    });
    expect(result?.ok === false ? result.error.code : 'ok').toBe('OUTSIDE_FOLDER');
    expect(readdirSync(join(outside, 'sub'))).toEqual(['f.txt']);
    expect(readFileSync(join(outside, 'sub', 'f.txt'), 'utf8')).toBe('not yours');
  });

  it('names conflict copies after the file, with the local time, keeping the extension', () => {
    const at = new Date(2026, 10, 29, 15, 30, 12);
    expect(conflictName('report.docx', at)).toBe('report (conflict 2026-11-29 153012).docx');
    expect(conflictName('README', at, 1)).toBe('README (conflict 2026-11-29 153012 2)');
    expect(conflictName('.env', at)).toBe('.env (conflict 2026-11-29 153012)');
  });
});
