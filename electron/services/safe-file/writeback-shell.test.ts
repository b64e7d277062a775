/**
 * Review of the writeback shell (durable.ts writebackKicker, 978756b): one long-lived `sh` per large file
 * runs `sync -f` for each kick it reads from a pipe. A path with spaces, a newline and a leading dash is
 * synced as itself; a shell that died (killed, OOM) must not crash the writer when it is kicked again
 * (EPIPE on the pipe); once the file is done the shell ends, and none is left behind.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { writebackKicker } from './durable.js';

const MiB = 1024 * 1024;

/** This process's children in state Z (exited, not reaped). */
function zombies(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const rest = readFileSync(`/proc/${name}/stat`, 'latin1').split(') ').pop()?.split(' ') ?? [];
        return rest[0] === 'Z' && Number(rest[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** This process's children running the writeback shell: pid and the path it syncs. */
function shells(): { pid: number; path: string }[] {
  const found: { pid: number; path: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv[2]?.includes('while read') === true) found.push({ pid: Number(name), path: argv[4] ?? '' });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await settle(20);
  }
  return cond();
}

it.runIf(process.platform === 'linux')(
  'syncs an odd path as itself, survives its shell being killed, and leaves no shell behind',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-writeback-'));
    const path = join(dir, '-n odd\nname $(touch pwned) "q".bin');
    writeFileSync(path, 'x');
    const kick = writebackKicker(path);
    kick.wrote(64 * MiB); // the first kick starts the shell
    expect(await until(() => shells().length === 1)).toBe(true);
    const [shell] = shells();
    expect(shell?.path).toBe(path);
    kick.wrote(128 * MiB);
    await settle(200);
    expect(readdirSync(process.cwd())).not.toContain('pwned');
    expect(readdirSync(dir)).toEqual([readdirSync(dir)[0]]);
    // The shell dies; the writer goes on kicking, and then ends: no exception, no crash.
    execFileSync('kill', ['-9', String(shell?.pid)]);
    await settle(100);
    for (let i = 3; i < 10; i++) kick.wrote(i * 64 * MiB);
    kick.done();
    await settle(200);
    expect(await until(() => shells().length === 0)).toBe(true);

    // A normal file: the shell ends once done.
    const kick2 = writebackKicker(join(dir, 'plain.bin'));
    kick2.wrote(64 * MiB);
    expect(await until(() => shells().length === 1)).toBe(true);
    kick2.done();
    expect(await until(() => shells().length === 0)).toBe(true);
    expect(await until(() => zombies().length === 0)).toBe(true);
  },
  30_000,
);
