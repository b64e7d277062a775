import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writebackKicker } from './durable.js';

let dir = '';
/** This process's descriptors open on something in the test's folder (other descriptors come and go). */
const openFds = (): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  }).length;
const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

describe('writebackKicker', () => {
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.runIf(process.platform === 'linux')(
    'kicks without blocking, at most one at a time, and gives its descriptors back even if the file goes',
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'coffer-kick-'));
      const path = join(dir, 'big.tmp');
      const fd = openSync(path, 'w');
      const block = Buffer.alloc(1 << 20, 7);
      const before = openFds(); // the writer's own
      const kick = writebackKicker(path);
      let peak = 0;
      for (let written = 1; written <= 200; written++) {
        writeSync(fd, block);
        kick.wrote(written << 20);
        peak = Math.max(peak, openFds() - before);
      }
      kick.done();
      // One kick in flight at most (its own descriptor), whatever the number of 64 MiB steps written.
      expect(peak).toBe(1);
      closeSync(fd);
      unlinkSync(path); // the kick still running keeps its own descriptor, never a reused number
      for (let i = 0; i < 100 && openFds() > 0; i++) await turn();
      expect(openFds()).toBe(0);
    },
  );

  it('does nothing for a file smaller than one step', async () => {
    dir = mkdtempSync(join(tmpdir(), 'coffer-kick-'));
    const before = openFds();
    const kick = writebackKicker(join(dir, 'missing'));
    kick.wrote(1 << 20);
    kick.done();
    expect(openFds()).toBe(before);
    await turn();
    expect(openFds()).toBe(before);
  });
});
