/** plaintextLength (FORMAT.md §5.2): the original size of real encrypted files from their length alone. */
import { describe, expect, it } from 'vitest';
import { generateDeviceKey } from './keys.js';
import { plaintextLength } from './length.js';
import { EncryptSession, encryptedLength } from './session.js';
import { loadBackend } from './sodium.js';

describe('plaintextLength', () => {
  it('gives back the size of real files around chunk boundaries, an empty file included', async () => {
    const sodium = await loadBackend('wasm');
    const key = generateDeviceKey(sodium);
    const chunkSize = 256;
    for (const size of [0, 1, 255, 256, 257, 511, 512, 513, 4000]) {
      const session = new EncryptSession(sodium, {
        recipients: [{ kind: 'device', key }],
        metadata: { name: 'f.bin', size, mode: 0o600, mtimeMs: 1 },
        chunkSize,
      });
      const header = session.start().slice();
      let total = header.length;
      const headerLength = new DataView(header.buffer).getUint32(9, true);
      while (!session.done) {
        const n = session.nextChunkLength();
        total += session.push(new Uint8Array(n)).length;
      }
      expect(plaintextLength(total, headerLength, chunkSize), `size ${size}`).toBe(size);
    }
  });

  it('is null for a length no size gives (cut inside the metadata, or one byte too long)', () => {
    const full = encryptedLength(200, 5000, 4096);
    expect(plaintextLength(full, 200, 4096)).toBe(5000);
    expect(plaintextLength(full + 1, 200, 4096)).toBe(5001);
    expect(plaintextLength(300, 200, 4096)).toBeNull();
    // One byte past a full chunk's end is no valid file: a chunk of 1 byte needs 18.
    expect(plaintextLength(encryptedLength(200, 4096, 4096) + 1, 200, 4096)).toBeNull();
  });
});
