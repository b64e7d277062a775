import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
});
