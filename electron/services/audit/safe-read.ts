/**
 * Reads one of the data audit's own files in app data (cache.json, scans.json) as text, without trusting
 * what is there: a FIFO planted under that name must not block the scan forever (O_NONBLOCK; in the app
 * this runs on the main thread), a link to /dev/zero or a huge file must not be read without end (a regular
 * file only, and at most `maxBytes`). Anything else is `null`: the caller starts afresh.
 */
import fs from 'node:fs';
import { NOFOLLOW, NONBLOCK } from '../safe-file/open.js';

export function readOwnFile(file: string, maxBytes: number): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | NOFOLLOW | NONBLOCK);
  } catch {
    return null; // absent, a link (ELOOP), unreadable
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile() || stats.size > maxBytes) return null;
    const buffer = Buffer.alloc(stats.size + 1);
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length === buffer.length) return null; // grew while read: not one of ours as it was written
    }
    return buffer.subarray(0, length).toString('utf8');
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
