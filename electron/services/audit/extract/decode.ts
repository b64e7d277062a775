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
  // The first SAMPLE bytes only, however many the caller holds: a stream decoder is given its first piece
  // (256 KiB in the clear, a protected file's chunk), and a NUL past SAMPLE made the same file binary or not
  // depending on how it was read.
  const head = sample.subarray(0, SAMPLE);
  if (head.indexOf(0) >= 0) {
    const utf16 = utf16WithoutBom(head);
    return utf16 === undefined ? { reason: BINARY } : { encoding: utf16, skip: 0 };
  }
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

/**
 * UTF-16 without a byte-order mark (exports of some Windows tools): the high byte of most characters is 0
 * and the low byte almost never is. A file of small 16-bit numbers has the same bytes, so the decoded
 * sample must also be text (next to no control characters).
 */
function utf16WithoutBom(sample: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  const pairs = sample.length >> 1;
  if (pairs < 2) return undefined;
  let evenZero = 0;
  let oddZero = 0;
  for (let i = 0; i + 1 < sample.length; i += 2) {
    if (sample[i] === 0) evenZero++;
    if (sample[i + 1] === 0) oddZero++;
  }
  let encoding: 'utf-16le' | 'utf-16be';
  if (oddZero >= pairs / 2 && evenZero <= pairs / 100) encoding = 'utf-16le';
  else if (evenZero >= pairs / 2 && oddZero <= pairs / 100) encoding = 'utf-16be';
  else return undefined;
  const text = new TextDecoder(encoding).decode(sample.subarray(0, pairs * 2));
  let control = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 13 && c !== 12) || c === 0x7f || c === 0xfffd) control++;
  }
  return control <= text.length / 100 ? encoding : undefined;
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
    // A copy: callers reuse or wipe their buffer once push returns (scanner-read.ts, zip.ts).
    this.pending.push(Uint8Array.from(bytes));
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
    for (const piece of this.pending) piece.fill(0); // plaintext of a possibly protected file
    this.pending = [];
    const sniff = sniffEncoding(all);
    if ('reason' in sniff) {
      this.reason = sniff.reason;
      return '';
    }
    this.decoder = chunkDecoder(sniff.encoding);
    const text = this.decoder.write(all.subarray(sniff.skip));
    all.fill(0);
    return stream ? text : text + this.decoder.end();
  }
}
