/**
 * Review of the busy check (issue 10 item 2; the IN_USE "open in node, process N" one file in 20,000 got in
 * bench/folders.ts). Coffer's own children, between their fork and their exec, are a copy of Coffer with a
 * copy of every descriptor it holds (plaintexts being read, held across their removal, held.ts): a scan of
 * /proc at that moment saw "node, process N" holding the file. Coffer forks often: `sync -f` per batch
 * (durable.ts makeDurable), the writeback shell. One thread forking while another asks about a file this
 * process holds open: no holder may ever be reported (no other process has it open).
 */
import { openSync, closeSync, fstatSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { ProcFdProbe } from './busy.js';

/** A worker that forks a small program as fast as it can, as makeDurable does per batch, until told to stop. */
const FORKER = `
const { parentPort } = require('node:worker_threads');
const { spawnSync } = require('node:child_process');
let stop = false;
parentPort.on('message', () => { stop = true; });
let forks = 0;
const loop = () => {
  if (stop) { parentPort.postMessage(forks); return; }
  for (let i = 0; i < 5; i++) { spawnSync('/bin/true'); forks++; }
  setImmediate(loop);
};
loop();
`;

it.runIf(process.platform === 'linux')(
  "never takes Coffer's own child, between its fork and its exec, for a program holding the file",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-busy-fork-'));
    const path = join(dir, 'held.txt');
    writeFileSync(path, 'plaintext');
    const fd = openSync(path, 'r'); // this process holds it, as a run holds a plaintext it reads
    // A heap the size of a run's (fork copies the page tables: the window before exec grows with it).
    const ballast = Array.from({ length: 150 }, (_, i) => new Array<number>(100_000).fill(i));
    const worker = new Worker(FORKER, { eval: true });
    try {
      const { dev, ino } = fstatSync(fd);
      const query = { dev, ino, real: realpathSync(path) };
      const probe = new ProcFdProbe();
      const seen: string[] = [];
      let probes = 0;
      const until = performance.now() + 6000;
      while (performance.now() < until && seen.length === 0) {
        for (const holder of probe.holders([query], { fresh: true }).values())
          seen.push(`${holder.name}, process ${holder.pid}`);
        probes++;
        await new Promise((resolve) => setImmediate(resolve)); // let the worker's messages through
      }
      worker.postMessage('stop');
      const forks = await new Promise<number>((resolve) => worker.once('message', resolve));
      expect(forks, 'the forks ran during the probes').toBeGreaterThan(10);
      expect(probes).toBeGreaterThan(10);
      expect(seen, `after ${probes} probes and ${forks} forks`).toEqual([]);
      expect(ballast.length).toBe(150);
    } finally {
      await worker.terminate();
      closeSync(fd);
    }
  },
  30_000,
);

it.runIf(process.platform === 'linux')(
  'still counts a child of Coffer, running the same program, that holds the file after its exec',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-busy-fork-'));
    const path = join(dir, 'held.txt');
    writeFileSync(path, 'plaintext');
    const fd = openSync(path, 'r');
    // The same program (node), a child of this process, given the file on purpose as its descriptor 3.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      stdio: ['ignore', 'ignore', 'ignore', fd],
    });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      const { dev, ino } = fstatSync(fd);
      const found = [
        ...new ProcFdProbe().holders([{ dev, ino, real: realpathSync(path) }], { fresh: true }).values(),
      ];
      expect(found.map((h) => h.pid)).toEqual([child.pid]);
    } finally {
      child.kill('SIGKILL');
      closeSync(fd);
    }
  },
);
