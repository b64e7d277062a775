/** The metadata message: the first message of the payload. docs/FORMAT.md §5.1. */
import { cryptoError } from './errors.js';

export const METADATA_BYTES = 1024;
const METADATA_VERSION = 1;
const NAME_OFFSET = 23;
export const MAX_NAME_BYTES = 1000;

export interface FileMetadata {
  /** The original base name. */
  readonly name: string;
  readonly size: number;
  /** POSIX permission bits. */
  readonly mode: number;
  readonly mtimeMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function nameProblem(name: string): string | null {
  if (name === '' || name === '.' || name === '..') return 'is empty or a dot name';
  if (/[/\\\0]/.test(name)) return 'contains a path separator or NUL';
  return null;
}

export function encodeMetadata(metadata: FileMetadata): Uint8Array {
  const name = encoder.encode(metadata.name);
  if (name.length > MAX_NAME_BYTES) {
    throw cryptoError(
      'NAME_TOO_LONG',
      `the name is ${name.length} bytes of UTF-8; at most ${MAX_NAME_BYTES} fit`,
    );
  }
  const problem = nameProblem(metadata.name);
  if (problem) throw cryptoError('INVALID_ARGUMENT', `the file name ${problem}`);
  if (!Number.isSafeInteger(metadata.size) || metadata.size < 0)
    throw cryptoError('INVALID_ARGUMENT', 'bad size');
  // FORMAT.md §5.1: readers refuse a time that is not finite, so never write one.
  if (!Number.isFinite(metadata.mtimeMs)) throw cryptoError('INVALID_ARGUMENT', 'the mtime is not finite');
  const bytes = new Uint8Array(METADATA_BYTES);
  const data = new DataView(bytes.buffer);
  data.setUint8(0, METADATA_VERSION);
  data.setUint32(1, metadata.mode & 0o7777, true);
  data.setBigUint64(5, BigInt(metadata.size), true);
  data.setFloat64(13, metadata.mtimeMs, true);
  data.setUint16(21, name.length, true);
  bytes.set(name, NAME_OFFSET);
  return bytes;
}

export function decodeMetadata(bytes: Uint8Array): FileMetadata {
  const bad = (why: string) => cryptoError('MALFORMED_METADATA', `the file's metadata ${why}`);
  if (bytes.length !== METADATA_BYTES) throw bad('has the wrong length');
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (data.getUint8(0) !== METADATA_VERSION) throw bad('has an unknown version');
  const mode = data.getUint32(1, true);
  const size = data.getBigUint64(5, true);
  const mtimeMs = data.getFloat64(13, true);
  const nameLength = data.getUint16(21, true);
  if (mode > 0o7777) throw bad('has an invalid mode');
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('has an impossible size');
  if (!Number.isFinite(mtimeMs)) throw bad('has an invalid time');
  if (nameLength < 1 || nameLength > MAX_NAME_BYTES) throw bad('has an invalid name length');
  if (bytes.subarray(NAME_OFFSET + nameLength).some((b) => b !== 0)) throw bad('padding is not zero');
  let name: string;
  try {
    name = decoder.decode(bytes.subarray(NAME_OFFSET, NAME_OFFSET + nameLength));
  } catch {
    throw bad('name is not UTF-8');
  }
  const problem = nameProblem(name);
  if (problem) throw bad(`name ${problem}`);
  return { name, size: Number(size), mode, mtimeMs };
}
