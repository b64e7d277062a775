/**
 * Issue 10 item 2 (engineer G's note): `coffer encrypt` waits out the grace period of the plaintexts it
 * removed and reports a late write as a conflict copy (exit 1). A writer that already held
 * the file (here: this test, reopening the removed plaintext through the CLI's own held descriptor in
 * /proc, which is what a writer that opened it just before the removal holds) writes after the removal.
 * Before the fix the CLI exited at once: the late write went to an inode nobody kept, and exit 0.
 */
import {
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The descriptor `pid` holds on the removed plaintext `file`, once it has one (null if it exits first). */
async function heldDeleted(pid: number, file: string, exited: () => boolean): Promise<string | null> {
  while (!exited()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      return null;
    }
    for (const fd of fds) {
      try {
        // The plaintext is moved aside (a temp name) before its removal: `<file>.coffer.tmp-… (deleted)`.
        const at = `/proc/${pid}/fd/${fd}`;
        const target = readlinkSync(at);
        if (target.startsWith(file) && target.endsWith(' (deleted)') && statSync(at).nlink === 0) return at;
      } catch {
        // closed meanwhile
      }
    }
    await sleep(2);
  }
  return null;
}

it('coffer encrypt settles: a write after the removal comes back as a conflict copy, exit 1', async (context) => {
  if (NO_KEYRING || process.platform !== 'linux') {
    console.warn(`skipped: ${NO_KEYRING ?? 'needs /proc (Linux)'}`);
    context.skip();
  }
  const laptop = new Laptop('r6-encrypt');
  expect((await laptop.run(['init'])).code).toBe(0);
  const work = tempDir('r6-encrypt');
  const file = join(work, 'ledger.csv');
  writeFileSync(file, 'before,');
  const child = laptop.spawn(['encrypt', file]);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout?.resume();
  let exited = false;
  const code = new Promise<number | null>((resolve) => {
    child.on('close', (c) => {
      exited = true;
      resolve(c);
    });
  });
  const held = await heldDeleted(child.pid ?? 0, file, () => exited);
  expect(held, 'the CLI held the removed plaintext for its grace period').not.toBeNull();
  const fd = openSync(held ?? '', 'a');
  writeSync(fd, 'written late');
  closeSync(fd);
  expect(await code).toBe(1);
  expect(stderr).toContain('CONFLICT_COPY');
  const copy = readdirSync(work).find((n) => n.startsWith('ledger (conflict '));
  expect(copy).toBeDefined();
  expect(readFileSync(join(work, copy ?? ''), 'utf8')).toBe('before,written late');
});
