/**
 * `coffer rekey FOLDER` never writes outside FOLDER (issue 10 item 3), through the real CLI and a real
 * Secret Service. The CLI lists the folder, then reads the key's passphrase; a subfolder swapped for a link
 * in between (here while the passphrase file, a FIFO, is still unwritten) must not make the header
 * rewriter follow the link and rewrite a same-named Coffer file elsewhere: the rewriter's containment check
 * needs the folders the paths were listed in (HeaderRewriter.rewrapMany `roots`).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI rekey containment: ${NO_KEYRING}`);

const PASSPHRASE = 'correct horse battery staple';

describe.skipIf(NO_KEYRING !== null)('coffer rekey: a subfolder swapped for a link mid-run', () => {
  it('leaves the file outside the folder untouched, and says OUTSIDE_FOLDER (exit 1)', async () => {
    const helpdesk = new Laptop('rekey-helpdesk');
    const a = new Laptop('rekey-A');
    const b = new Laptop('rekey-B');
    const orgKey = path.join(helpdesk.home, 'org.key');
    const keygen = await helpdesk.json<{ publicKey: string }>(['recovery', 'keygen', '--out', orgKey], {
      COFFER_PASSPHRASE: PASSPHRASE,
    });
    expect(keygen.result.code).toBe(0);
    expect((await a.run(['recovery', 'trust', keygen.doc.publicKey, '--label', 'helpdesk'])).code).toBe(0);
    expect((await a.run(['init'])).code).toBe(0);
    expect((await b.run(['init'])).code).toBe(0);

    // A's files, sealed for A and the helpdesk: one in the folder the helpdesk rekeys, one elsewhere with
    // the same relative name (the attacker's target).
    const work = tempDir('rekey-work');
    const folder = path.join(work, 'folder');
    const elsewhere = path.join(work, 'elsewhere');
    for (const dir of [folder, elsewhere]) {
      fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'sub', 'notes.txt'), `notes in ${path.basename(dir)}\n`);
      expect((await a.run(['encrypt', path.join(dir, 'sub', 'notes.txt')])).code).toBe(0);
    }
    const target = path.join(elsewhere, 'sub', 'notes.txt.coffer');
    const before = fs.readFileSync(target);

    // The passphrase comes from a FIFO: the CLI has listed the folder and waits there for it.
    const fifo = path.join(work, 'passphrase');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
    const running = b.json<{ ok: boolean; failures?: { code: string }[] }>([
      'rekey',
      '--key',
      orgKey,
      '--passphrase-file',
      fifo,
      folder,
    ]);
    // The CLI opens the FIFO only once it has listed the folder: a non-blocking open for writing fails
    // (ENXIO) until then. Then the subfolder is swapped for a link to the other one, and the passphrase given.
    let writer: number | null = null;
    for (let i = 0; writer === null && i < 600; i++) {
      try {
        writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    expect(writer).not.toBeNull();
    fs.renameSync(path.join(folder, 'sub'), path.join(work, 'moved-away'));
    fs.symlinkSync(path.join(elsewhere, 'sub'), path.join(folder, 'sub'));
    fs.writeSync(writer ?? -1, `${PASSPHRASE}\n`);
    fs.closeSync(writer ?? -1);
    const { result, doc } = await running;

    expect(fs.readFileSync(target).equals(before)).toBe(true);
    expect(result.code).toBe(1);
    expect(doc.ok).toBe(false);
    expect((doc.failures ?? []).map((f) => f.code)).toEqual(['OUTSIDE_FOLDER']);
  }, 60_000);
});
