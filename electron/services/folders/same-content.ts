/**
 * Does `x.coffer` decrypt to exactly the bytes of `x`? Decides which copy of an interrupted run is extra.
 * Streams both in constant memory and authenticates the whole `.coffer` file before saying yes (FORMAT.md
 * §5.3): a damaged ciphertext never counts as a good copy.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { readFully, readHeaderFd } from '../../../crypto/file.js';
import { READ_NOFOLLOW } from '../safe-file.js';
import type { Identity } from '../../../crypto/keys.js';
import { METADATA_BYTES } from '../../../crypto/metadata.js';
import { DecryptSession } from '../../../crypto/session.js';
import { STREAM_ABYTES, type SodiumBackend } from '../../../crypto/sodium.js';

/**
 * True only when `cofferPath` authenticates completely and its content equals `plainPath`'s. Any error
 * (wrong key, damage, unreadable) is false: when in doubt, both copies stay.
 */
export function sameContent(
  sodium: SodiumBackend,
  cofferPath: string,
  plainPath: string,
  identities: readonly Identity[],
): boolean {
  let cfd: number | undefined;
  let pfd: number | undefined;
  try {
    // Non-blocking: either may be a FIFO by now (safe-file/open.ts READ_NOFOLLOW).
    cfd = openSync(cofferPath, READ_NOFOLLOW);
    pfd = openSync(plainPath, READ_NOFOLLOW);
    if (!fstatSync(cfd).isFile() || !fstatSync(pfd).isFile()) return false;
    const plainSize = fstatSync(pfd).size;
    const session = new DecryptSession(sodium, readHeaderFd(cfd), identities);
    const buffer = new Uint8Array(Math.max(session.header.chunkSize, METADATA_BYTES) + STREAM_ABYTES);
    const other = new Uint8Array(session.header.chunkSize);
    for (let length = session.nextLength(); length > 0; length = session.nextLength()) {
      if (readFully(cfd, buffer, length) !== length) return false;
      const plain = session.pull(buffer.subarray(0, length));
      if (session.metadata && session.metadata.size !== plainSize) return false;
      if (plain.length > 0) {
        const n = readFully(pfd, other, plain.length);
        const same =
          n === plain.length && Buffer.from(plain.buffer, plain.byteOffset, n).equals(other.subarray(0, n));
        if (!same) return false;
      }
    }
    // Both must end here: no trailing ciphertext, no extra plaintext.
    return readFully(cfd, buffer, 1) === 0 && readFully(pfd, other, 1) === 0;
  } catch {
    return false;
  } finally {
    if (cfd !== undefined) closeSync(cfd);
    if (pfd !== undefined) closeSync(pfd);
  }
}
