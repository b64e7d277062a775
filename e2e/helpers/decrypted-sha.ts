/**
 * The SHA-256 of a `.coffer` file's plaintext, decrypted in memory (no output file, no fsync): the whole
 * file authenticated chunk by chunk (FORMAT.md §5.3), each chunk read whole and nothing after the last
 * (both checked with expect). For the kill -9 tests (e2e/folders-kill.e2e.ts, rewrap-kill.e2e.ts).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { expect } from 'vitest';
import { readHeaderFd } from '../../crypto/file.js';
import type { Identity } from '../../crypto/keys.js';
import { DecryptSession } from '../../crypto/session.js';
import type { SodiumBackend } from '../../crypto/sodium.js';

export function decryptedSha(sodium: SodiumBackend, path: string, identities: Identity[]): string {
  const fd = openSync(path, 'r');
  try {
    const session = new DecryptSession(sodium, readHeaderFd(fd), identities);
    const hash = createHash('sha256');
    const buffer = Buffer.alloc(session.header.chunkSize + 2048);
    for (let n = session.nextLength(); n > 0; n = session.nextLength()) {
      expect(readSync(fd, buffer, 0, n, null)).toBe(n);
      hash.update(session.pull(buffer.subarray(0, n)));
    }
    expect(readSync(fd, buffer, 0, 1, null)).toBe(0);
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}
