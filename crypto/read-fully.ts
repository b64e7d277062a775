/**
 * Reads `length` bytes from the descriptor's current position into `buffer`, across short reads; fewer
 * only at the end of the file. Returns how many it read. Shared by the file layer (crypto/file.ts) and
 * the audit's reader (electron/services/audit/scanner-read.ts).
 */
import { readSync } from 'node:fs';

export function readFully(fd: number, buffer: Uint8Array, length: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, null);
    if (n === 0) break;
    done += n;
  }
  return done;
}
