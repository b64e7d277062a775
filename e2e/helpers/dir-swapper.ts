/**
 * The attacker of the symlink-swap test (e2e/folders-symlink-swap.e2e.ts): while told to (`go` on stdin),
 * swaps folders inside DATA for symlinks to same-named folders in OUTSIDE and back, at random moments;
 * on `stop` it puts every folder back and answers `stopped`. `dir-swapper.ts DATA OUTSIDE NAME...`
 */
import { existsSync, lstatSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [dataArg, outsideArg, ...names] = process.argv.slice(2);
if (!dataArg || !outsideArg || names.length === 0) {
  process.stderr.write('usage: dir-swapper.ts DATA OUTSIDE NAME...\n');
  process.exit(2);
}
const data: string = dataArg;
const outside: string = outsideArg;
const away = (name: string): string => join(data, `${name.replaceAll('/', '_')}.swapped-away`);
let running = false;
let swaps = 0;

function swapOut(name: string): void {
  const path = join(data, name);
  if (!existsSync(path) || lstatSync(path).isSymbolicLink()) return;
  renameSync(path, away(name));
  symlinkSync(join(outside, name), path);
  swaps++;
}

function swapBack(name: string): void {
  if (!existsSync(away(name))) return;
  const path = join(data, name);
  try {
    if (lstatSync(path).isSymbolicLink()) unlinkSync(path);
  } catch {
    // not there: nothing to remove
  }
  renameSync(away(name), path);
}

function restore(): void {
  // Deepest first: a nested folder is put back before its parent.
  for (const name of [...names].sort((a, b) => b.length - a.length)) swapBack(name);
  for (const name of [...names].sort((a, b) => a.length - b.length)) swapBack(name);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function loop(): Promise<void> {
  while (running) {
    const name = names[Math.floor(Math.random() * names.length)] ?? '';
    try {
      swapOut(name);
      await sleep(Math.random() * 4);
      swapBack(name);
    } catch {
      // a parent was swapped meanwhile: restore() sorts it out
    }
    await sleep(Math.random() * 4);
  }
}

let current: Promise<void> = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'go' && !running) {
    running = true;
    current = loop();
  } else if (line === 'stop') {
    running = false;
    void current.then(() => {
      restore();
      process.stdout.write(`stopped ${swaps}\n`);
    });
  }
});
process.stdout.write('ready\n');
