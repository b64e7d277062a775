/**
 * A program that writes a file the way downloads, exports and databases do: opens it, writes, pauses,
 * writes again through the same descriptor, closes. `slow-writer.ts FILE PART1 PAUSE_MS PART2 [OPEN_DELAY_MS]`
 * prints `wrote1` after the first write and `done` at the end.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

const [file, part1, pause, part2, openDelay] = process.argv.slice(2);
if (!file || part1 === undefined || !pause || part2 === undefined) {
  process.stderr.write('usage: slow-writer.ts FILE PART1 PAUSE_MS PART2 [OPEN_DELAY_MS]\n');
  process.exit(2);
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
await sleep(Number(openDelay ?? 0));
const fd = openSync(file, 'a');
writeSync(fd, part1);
process.stdout.write('wrote1\n');
await sleep(Number(pause));
writeSync(fd, part2);
closeSync(fd);
process.stdout.write('done\n');
