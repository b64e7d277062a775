/**
 * An attack on `coffer recover` (issue 9 item 7), through the real `coffer` CLI, a real Secret Service and
 * real files: a hostile .coffer whose stored name is that of a link beside it. Failed on the code before
 * its fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encryptFd } from '../crypto/file.js';
import { defaultBackend } from '../crypto/sodium.js';
import { parsePublicKey } from '../electron/services/keys/public-key-text.js';
import { Laptop, NO_KEYRING, sha256, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED coffer recover attacks: ${NO_KEYRING}`);

describe.skipIf(NO_KEYRING !== null)('recover --force and a link named like the stored name', () => {
  const work = fs.realpathSync(tempDir('r1-recover'));
  const helpdesk = new Laptop('r1-recover-helpdesk');
  const laptop = new Laptop('r1-recover-laptop');
  const pass = { COFFER_PASSPHRASE: 'correct horse battery staple' };
  afterAll(() => {
    for (const d of [work, helpdesk.home, laptop.home]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('replaces the link itself, never the .coffer file it points to', async () => {
    const orgKey = path.join(work, 'org.key');
    const keygen = await helpdesk.json<{ publicKey: string }>(['recovery', 'keygen', '--out', orgKey], pass);
    expect(keygen.result.code, keygen.result.stderr).toBe(0);
    expect((await laptop.run(['recovery', 'trust', keygen.doc.publicKey])).code).toBe(0);
    const folder = path.join(work, 'case');
    fs.mkdirSync(folder);
    const victim = path.join(folder, 'contract.docx');
    fs.writeFileSync(victim, 'the signed contract\n');
    expect((await laptop.run(['encrypt', victim])).code).toBe(0);
    const before = sha256(`${victim}.coffer`);
    fs.symlinkSync(`${victim}.coffer`, path.join(folder, 'report.txt'));

    const sodium = await defaultBackend();
    const hostile = path.join(folder, 'invoice.coffer');
    const plain = path.join(work, 'payload');
    fs.writeFileSync(plain, 'attacker bytes\n');
    const inFd = fs.openSync(plain, 'r');
    const outFd = fs.openSync(hostile, 'wx');
    try {
      encryptFd(sodium, inFd, outFd, {
        recipients: [{ kind: 'recovery', publicKey: parsePublicKey(sodium, keygen.doc.publicKey) }],
        name: 'report.txt',
      });
    } finally {
      fs.closeSync(inFd);
      fs.closeSync(outFd);
    }
    const r = await helpdesk.run(['recover', '--force', '--key', orgKey, hostile], pass);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256(`${victim}.coffer`)).toBe(before);
    expect(fs.lstatSync(path.join(folder, 'report.txt')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(folder, 'report.txt'), 'utf8')).toBe('attacker bytes\n');
    expect((await laptop.run(['verify', `${victim}.coffer`])).code).toBe(0);
  }, 120_000);
});
