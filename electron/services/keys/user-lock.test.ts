import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isCofferError } from '../../../crypto/errors.js';
import { withUserLock } from './user-lock.js';

const MODULE = fileURLToPath(new URL('./user-lock.ts', import.meta.url));

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-lock-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Each child takes the lock, reads a counter file, sleeps, writes counter+1: without mutual exclusion two
 * children read the same value and an increment is lost.
 */
const CHILD = `
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
const { withUserLock } = await import(process.argv[1]);
const [dir, counter] = process.argv.slice(2);
await withUserLock(dir, 'test', async () => {
  const n = Number(fs.readFileSync(counter, 'utf8'));
  await sleep(20);
  fs.writeFileSync(counter, String(n + 1));
});
`;

function runChild(counter: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', CHILD, MODULE, dir, counter],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    child.on('close', (code) => {
      resolve(code ?? -1);
    });
  });
}

describe('withUserLock', () => {
  it('lets one process at a time in, across 12 processes', async () => {
    const counter = path.join(dir, 'counter');
    fs.writeFileSync(counter, '0');
    const codes = await Promise.all(Array.from({ length: 12 }, () => runChild(counter)));
    expect(codes).toEqual(Array(12).fill(0));
    expect(fs.readFileSync(counter, 'utf8')).toBe('12');
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.lock'))).toEqual([]);
  });

  it('serializes callers inside one process', async () => {
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withUserLock(dir, 'test', async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('takes over a lock whose owner died', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    fs.writeFileSync(path.join(dir, 'test.lock'), `${dead.stdout.toString()} sometoken`);
    await expect(withUserLock(dir, 'test', () => Promise.resolve('ran'), 2000)).resolves.toBe('ran');
  });

  it('waits for a live owner, then gives up with LOCK_TIMEOUT', async () => {
    fs.writeFileSync(path.join(dir, 'test.lock'), `${process.ppid} othertoken`);
    const error: unknown = await withUserLock(dir, 'test', () => Promise.resolve(), 300).catch(
      (e: unknown) => e,
    );
    expect(isCofferError(error, 'LOCK_TIMEOUT')).toBe(true);
    // The live owner's lock is left alone.
    expect(fs.readFileSync(path.join(dir, 'test.lock'), 'utf8')).toContain('othertoken');
  });

  it('releases the lock when the work throws', async () => {
    await expect(withUserLock(dir, 'test', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(withUserLock(dir, 'test', () => Promise.resolve(1), 500)).resolves.toBe(1);
  });

  it('R5: takes over a lock whose pid now belongs to another process (pid reused after a crash or reboot)', async () => {
    // A long-lived process unrelated to the lock holds the pid the dead owner wrote an hour ago.
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      const file = path.join(dir, 'test.lock');
      fs.writeFileSync(file, `${other.pid ?? 0} deadowner`);
      const hourAgo = new Date(Date.now() - 3_600_000);
      fs.utimesSync(file, hourAgo, hourAgo);
      await expect(withUserLock(dir, 'test', () => Promise.resolve('ran'), 2000)).resolves.toBe('ran');
    } finally {
      other.kill();
    }
  });

  it('R5: two takers of one stale lock: the late one never removes the lock the first one took', async () => {
    const file = path.join(dir, 'test.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    fs.writeFileSync(file, `${dead.stdout.toString()} staletoken`);
    // Interleaving of three processes: this one (B) reads the stale owner; right after, A takes the stale
    // lock over (its own live lock now); C creates the lock the moment it is free. Only B runs here; A and
    // C are the files they would write.
    const realRead = fs.readFileSync.bind(fs);
    const realWrite = fs.writeFileSync.bind(fs);
    const realRename = fs.renameSync.bind(fs);
    let injected = false;
    const liveA = `${process.ppid} tokenA`;
    const reads = vi
      .spyOn(fs, 'readFileSync')
      .mockImplementation((p: fs.PathOrFileDescriptor, o?: unknown) => {
        const text = realRead(p, o as BufferEncoding);
        if (!injected && p === file) {
          injected = true;
          fs.rmSync(file);
          realWrite(file, liveA); // A's takeover completed between B's read and B's next step
        }
        return text;
      });
    const renames = vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      realRename(from, to);
      // If B moved the lock away, C creates it at once (O_EXCL succeeds: the name is free).
      if (from === file && !fs.existsSync(file)) realWrite(file, `${process.ppid} tokenC`);
    });
    try {
      const error: unknown = await withUserLock(dir, 'test', () => Promise.resolve('ran'), 400).catch(
        (e: unknown) => e,
      );
      // A holds the lock (alive): B must wait, and A's lock file must be A's still.
      expect(isCofferError(error, 'LOCK_TIMEOUT')).toBe(true);
      expect(realRead(file, 'utf8')).toBe(liveA);
    } finally {
      reads.mockRestore();
      renames.mockRestore();
    }
  });

  it('R5: a recorded start identity that is not the live process with that pid is stale at once', async () => {
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      if (!fs.existsSync('/proc/self/stat')) {
        console.warn('SKIPPED start identity check: no /proc on this OS (pid-only liveness there)');
        return;
      }
      // Written just now (no mtime hint): only the start identity tells the owner was another process.
      fs.writeFileSync(path.join(dir, 'test.lock'), `${other.pid ?? 0} deadowner nosuchboot:1`);
      await expect(withUserLock(dir, 'test', () => Promise.resolve('ran'), 2000)).resolves.toBe('ran');
    } finally {
      other.kill();
    }
  });

  it('R5: a takeover guard left by a taker killed mid-takeover does not block the lock', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const pid = dead.stdout.toString();
    fs.writeFileSync(path.join(dir, 'test.lock'), `${pid} staletoken`);
    fs.writeFileSync(path.join(dir, 'test.lock.takeover-staletoken'), `${pid} guardtoken`);
    await expect(withUserLock(dir, 'test', () => Promise.resolve('ran'), 2000)).resolves.toBe('ran');
  });

  it('R5: 12 processes racing over one stale lock still go in one at a time', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    fs.writeFileSync(path.join(dir, 'test.lock'), `${dead.stdout.toString()} staletoken`);
    const counter = path.join(dir, 'counter');
    fs.writeFileSync(counter, '0');
    const codes = await Promise.all(Array.from({ length: 12 }, () => runChild(counter)));
    expect(codes).toEqual(Array(12).fill(0));
    expect(fs.readFileSync(counter, 'utf8')).toBe('12');
  });

  it('R5: a lock written before this boot is stale whatever process has its pid now (every OS)', async () => {
    const file = path.join(dir, 'test.lock');
    fs.writeFileSync(file, `${process.ppid} beforeboot`);
    const beforeBoot = new Date(Date.now() - os.uptime() * 1000 - 60_000);
    fs.utimesSync(file, beforeBoot, beforeBoot);
    await expect(withUserLock(dir, 'test', () => Promise.resolve('ran'), 2000)).resolves.toBe('ran');
  });
});
