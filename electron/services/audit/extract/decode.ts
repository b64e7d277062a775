/**
 * Bytes → text for the plain-text kinds, and the binary-junk check: a file whose first bytes hold NUL bytes
 * (without a UTF-16 byte-order mark) or mostly invalid UTF-8 that is not Latin-1 text either is skipped.
 */
import { StringDecoder } from 'node:string_decoder';
import { TextDecoder } from 'node:util';
import type { ExtractResult } from './index.js';

type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

const SAMPLE = 64 * 1024;
const BINARY = 'binary data, not text';

/** Decides the encoding from the first bytes, or returns the reason the file is not text. */
export function sniffEncoding(sample: Uint8Array): { encoding: Encoding; skip: number } | { reason: string } {
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) return { encoding: 'utf-8', skip: 3 };
  if (sample[0] === 0xff && sample[1] === 0xfe) return { encoding: 'utf-16le', skip: 2 };
  if (sample[0] === 0xfe && sample[1] === 0xff) return { encoding: 'utf-16be', skip: 2 };
  if (sample.indexOf(0) >= 0) return { reason: BINARY };
  // Streaming decode: a multi-byte character cut by the sample's end is held back, not counted as bad.
  const decoded = new TextDecoder('utf-8').decode(sample.subarray(0, SAMPLE), { stream: true });
  if (!decoded.includes('\uFFFD')) return { encoding: 'utf-8', skip: 0 };
  // Not UTF-8: Windows-1252 (Latin-1) text if it has next to no control characters, else binary.
  let control = 0;
  for (let i = 0; i < sample.length && i < SAMPLE; i++) {
    const b = sample[i] ?? 0;
    if ((b < 0x20 && b !== 9 && b !== 10 && b !== 13 && b !== 12) || b === 0x7f) control++;
  }
  if (control <= Math.min(sample.length, SAMPLE) / 100) return { encoding: 'windows-1252', skip: 0 };
  return { reason: BINARY };
}

export function decodeText(bytes: Uint8Array, limits: { maxTextChars: number }): ExtractResult {
  const sniff = sniffEncoding(bytes.subarray(0, SAMPLE));
  if ('reason' in sniff) return { ok: false, reason: sniff.reason };
  const text = new TextDecoder(sniff.encoding).decode(bytes.subarray(sniff.skip));
  if (text.length > limits.maxTextChars) return { ok: false, reason: 'too much text to read' };
  return { ok: true, text };
}

interface ChunkDecoder {
  write(bytes: Uint8Array): string;
  end(): string;
}

/** Node's StringDecoder for UTF-8 and UTF-16 LE (about 1.5x faster than TextDecoder), TextDecoder else. */
function chunkDecoder(encoding: Encoding): ChunkDecoder {
  if (encoding === 'utf-8' || encoding === 'utf-16le') {
    const d = new StringDecoder(encoding === 'utf-8' ? 'utf8' : 'utf16le');
    return {
      write: (bytes) => d.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
      end: () => d.end(),
    };
  }
  const d = new TextDecoder(encoding);
  return { write: (bytes) => d.decode(bytes, { stream: true }), end: () => d.decode() };
}

/** Decodes a plain-text file given in chunks; check `failure` after each push. */
export class TextStreamDecoder {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private decoder: ChunkDecoder | undefined;
  private reason: string | undefined;

  /** Set when the file turned out not to be text: stop reading and skip it with this reason. */
  get failure(): string | undefined {
    return this.reason;
  }

  push(bytes: Uint8Array): string {
    if (this.reason !== undefined) return '';
    if (this.decoder !== undefined) return this.decoder.write(bytes);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    return this.pendingBytes >= SAMPLE ? this.start(true) : '';
  }

  end(): string {
    if (this.reason !== undefined) return '';
    if (this.decoder === undefined) return this.start(false);
    return this.decoder.end();
  }

  private start(stream: boolean): string {
    const all = Buffer.concat(this.pending);
    this.pending = [];
    const sniff = sniffEncoding(all);
    if ('reason' in sniff) {
      this.reason = sniff.reason;
      return '';
    }
    this.decoder = chunkDecoder(sniff.encoding);
    const text = this.decoder.write(all.subarray(sniff.skip));
    return stream ? text : text + this.decoder.end();
  }
}
