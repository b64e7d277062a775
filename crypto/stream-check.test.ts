/**
 * StreamPuller.check (authenticate without decrypting, used by every read-back check) against
 * StreamPuller.pull (libsodium's own): the same verdict on every message, intact or damaged, and the same
 * state after it (the next message of the stream authenticates under both, or under neither).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadBackend, STREAM_ABYTES, type BackendName } from './sodium.js';

/** Around the 16-byte padding boundaries, and a full chunk. */
const LENGTHS = [0, 1, 15, 16, 17, 47, 48, 63, 64, 65, 1023, 1024, 4096 + 5, 262_144];

describe.each(['native', 'wasm'] as BackendName[])('StreamPuller.check (%s)', (name) => {
  it('gives pull’s verdict and next state on intact and damaged streams', async () => {
    const sodium = await loadBackend(name);
    for (let trial = 0; trial < 40; trial++) {
      const key = randomBytes(32);
      const { header, pusher } = sodium.streamPush(key, 262_144);
      const messages: { bytes: Uint8Array; final: boolean }[] = [];
      const count = 1 + randomInt(6);
      for (let i = 0; i < count; i++) {
        const length = LENGTHS[randomInt(LENGTHS.length)] ?? 0;
        const final = i === count - 1; // streamPush writes MESSAGE and FINAL (other tags: below)
        messages.push({ bytes: pusher.push(randomBytes(length), final).slice(), final });
      }
      // Damage one message in half the trials: one bit anywhere, or a byte cut off its end.
      const damaged = trial % 2 === 1 ? randomInt(messages.length) : -1;
      const target = messages[damaged];
      if (target) {
        if (trial % 4 === 1 && target.bytes.length > STREAM_ABYTES) {
          target.bytes = target.bytes.subarray(0, target.bytes.length - 1);
        } else {
          const bit = randomInt(target.bytes.length * 8);
          target.bytes[bit >> 3] = (target.bytes[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        }
      }
      const pulled = sodium.streamPull(header, key, 262_144);
      const checked = sodium.streamPull(header, key, 262_144);
      for (const [i, m] of messages.entries()) {
        const a = pulled.pull(m.bytes);
        const b = checked.check(m.bytes);
        expect(b === null, `trial ${trial} message ${i}`).toBe(a === null);
        if (a && b) expect(b.final).toBe(a.final);
        if (!a) break; // a failed message leaves both states where they were; the stream is refused
      }
    }
  });
});

it('StreamPuller.check (native) follows PUSH and REKEY tags as libsodium does', async () => {
  // streamPush writes only MESSAGE and FINAL; sodium-native's own push makes the other tags.
  const { createRequire } = await import('node:module');
  const na = createRequire(import.meta.url)('sodium-native') as {
    crypto_secretstream_xchacha20poly1305_init_push(s: Uint8Array, h: Uint8Array, k: Uint8Array): void;
    crypto_secretstream_xchacha20poly1305_push(
      s: Uint8Array,
      c: Uint8Array,
      m: Uint8Array,
      ad: null,
      tag: number,
    ): number;
  };
  const sodium = await loadBackend('native');
  for (const tags of [
    [1, 1, 3],
    [2, 0, 2, 3],
    [0, 2, 1, 2, 3],
  ]) {
    const key = randomBytes(32);
    const state = new Uint8Array(52);
    const header = new Uint8Array(24);
    na.crypto_secretstream_xchacha20poly1305_init_push(state, header, key);
    const pulled = sodium.streamPull(header, key, 4096);
    const checked = sodium.streamPull(header, key, 4096);
    for (const tag of tags) {
      const plain = randomBytes(randomInt(200));
      const c = new Uint8Array(plain.length + STREAM_ABYTES);
      na.crypto_secretstream_xchacha20poly1305_push(state, c, plain, null, tag);
      const a = pulled.pull(c);
      const b = checked.check(c);
      expect(a).not.toBeNull();
      expect(b).toEqual({ final: tag === 3 });
    }
  }
});
