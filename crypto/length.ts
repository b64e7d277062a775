/**
 * The original size of a `.coffer` file from its length alone (FORMAT.md §5.2, §9: the payload length gives
 * the plaintext size away to anyone, so computing it needs no key): total = header + metadata message +
 * size + 17 bytes per content chunk, with n = max(1, ceil(size / chunk_size)) chunks.
 */
import { encryptedLength } from './session.js';
import { METADATA_BYTES } from './metadata.js';
import { STREAM_ABYTES } from './sodium.js';

/** The plaintext size, or null when no size gives exactly `total` bytes (a cut or padded file). */
export function plaintextLength(total: number, headerLength: number, chunkSize: number): number | null {
  if (chunkSize <= 0) return null;
  const payload = total - headerLength - METADATA_BYTES - STREAM_ABYTES;
  if (payload < STREAM_ABYTES) return null;
  // Every chunk but the last is full, so the chunk count follows from the payload length.
  const chunks = Math.ceil(payload / (chunkSize + STREAM_ABYTES));
  const size = payload - chunks * STREAM_ABYTES;
  if (size < 0 || encryptedLength(headerLength, size, chunkSize) !== total) return null;
  return size;
}
