/**
 * `coffer encrypt --replace` removes a plaintext too: the same rules as every removal (issue 10 item 2,
 * review): never while another process has it open, and its descriptor held across the unlink for the
 * grace period, so a late write comes back as a conflict copy. Real files, a real process holding one.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { isCofferError } from '../crypto/errors.js';
import { useDeviceKey } from '../e2e/helpers/device-key.js';
import { SafeFiles } from '../electron/services/safe-file.js';
import { encryptReplacing } from './replace.js';

const key = useDeviceKey();

/** FILE.coffer from an earlier protect, and FILE decrypted and edited since. */
function edited(files: SafeFiles): { dir: string; path: string; target: string } {
  const dir = key.tempDir('coffer-replace-');
  const path = join(dir, 'report.txt');
  writeFileSync(path, 'first version');
  files.encryptInPlace(path, { recipients: key.recipients, identities: [key.device], keep: true });
  writeFileSync(path, randomBytes(5000));
  return { dir, path, target: `${path}.coffer` };
}

describe('encrypt --replace removes the plaintext as every removal does', () => {
  it('keeps a plaintext another process has open (IN_USE)', async () => {
    const files = new SafeFiles(key.sodium, { graceMs: 0 });
    const { path, target } = edited(files);
    const content = readFileSync(path);
    const fd = openSync(path, 'r');
    const holder = spawn('sleep', ['30'], { stdio: [fd, 'ignore', 'ignore'] });
    closeSync(fd);
    try {
      await sleep(200);
      let code: string | undefined;
      try {
        encryptReplacing(files, path, target, { recipients: key.recipients, identities: [key.device] });
      } catch (error) {
        code = isCofferError(error) ? error.code : String(error);
      }
      expect(existsSync(path), 'the plaintext is still there').toBe(true);
      expect(readFileSync(path).equals(content)).toBe(true);
      expect(code).toBe('IN_USE');
    } finally {
      holder.kill();
    }
  });

  it('holds the removed plaintext for the grace period: a late write becomes a conflict copy', () => {
    const files = new SafeFiles(key.sodium, { graceMs: 300 });
    const { dir, path, target } = edited(files);
    // A writer in this process (the busy check looks at other processes) that writes after the removal.
    const writer = openSync(path, 'r+');
    try {
      encryptReplacing(files, path, target, { recipients: key.recipients, identities: [key.device] });
      expect(existsSync(path)).toBe(false);
      writeSync(writer, 'late write', 0);
    } finally {
      closeSync(writer);
    }
    const rescued = files.settle();
    expect(rescued).toHaveLength(1);
    const copy = readdirSync(dir).find((n) => n.startsWith('report') && n.includes('conflict'));
    expect(copy, `a conflict copy in ${readdirSync(dir).join(', ')}`).toBeDefined();
    expect(
      readFileSync(join(dir, copy ?? ''))
        .subarray(0, 10)
        .toString(),
    ).toBe('late write');
  });

  it('keeps the plaintext when FILE.coffer no longer holds the file that was written and checked', () => {
    const swap = { armed: false, done: false, dir: '' };
    // The busy check runs right before the removal: the moment to put another authentic file (same key)
    // at FILE.coffer. It reports no holder; the busy check is not what this test is about.
    const probe = {
      holders: (): Map<number, { pid: number; name: string }> => {
        if (swap.armed && !swap.done) {
          renameSync(join(swap.dir, 'report.txt.coffer'), join(swap.dir, 'orphan'));
          linkSync(join(swap.dir, 'other.txt.coffer'), join(swap.dir, 'report.txt.coffer'));
          swap.done = true;
        }
        return new Map();
      },
    };
    const files = new SafeFiles(key.sodium, { probe, graceMs: 0 });
    const { dir, path, target } = edited(files);
    swap.dir = dir;
    writeFileSync(join(dir, 'other.txt'), randomBytes(5000));
    files.encryptInPlace(join(dir, 'other.txt'), {
      recipients: key.recipients,
      identities: [key.device],
      keep: true,
    });
    const content = readFileSync(path);
    swap.armed = true;
    let code: string | undefined;
    try {
      encryptReplacing(files, path, target, { recipients: key.recipients, identities: [key.device] });
    } catch (error) {
      code = isCofferError(error) ? error.code : String(error);
    }
    expect(swap.done).toBe(true);
    expect(existsSync(path), 'the plaintext was kept').toBe(true);
    expect(readFileSync(path).equals(content)).toBe(true);
    expect(code).toBe('VERIFY_FAILED');
  });
});
