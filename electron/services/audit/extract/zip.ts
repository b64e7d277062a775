/**
 * Reads the text-bearing entries of a zip container (OOXML, ODF) through yauzl, within limits: the number of
 * entries, the declared and the actual uncompressed size (yauzl checks that an entry inflates to exactly its
 * declared size; we also count bytes as they come), the compression ratio of big entries, and the time.
 * A zip bomb, a truncated or malformed zip or an encrypted entry ends as a reason, never as a crash.
 */
import yauzl from 'yauzl';
import type { ExtractLimits } from './index.js';

export type ZipRead = { ok: true; names: string[] } | { ok: false; reason: string };

/**
 * Takes one entry's bytes piece by piece as they inflate (each piece is wiped once `write` returns: it may be
 * the plaintext of a protected file); `write` and `end` return a reason to stop, or nothing. An entry is
 * never held whole: 60 MiB of markup held, decoded and parsed at once took 320 MB.
 */
export interface EntrySink {
  write(piece: Buffer): string | undefined;
  end(): string | undefined;
}
export type OnEntry = (name: string) => EntrySink;

/** Ratio is checked only past this size: small entries may compress a lot without harm. */
const RATIO_FLOOR = 1024 * 1024;

class Stop extends Error {}

function mib(n: number): string {
  return `${Math.round(n / 1024 / 1024)} MiB`;
}

/**
 * Reads the entries `want` selects (by name), in central-directory order, handing each to `onEntry` as soon
 * as it is inflated (one entry in memory at a time). `deadline` is a performance.now() time after which
 * reading stops.
 */
export async function readZip(
  bytes: Uint8Array,
  want: (name: string) => boolean,
  limits: ExtractLimits,
  deadline: number,
  onEntry: OnEntry,
): Promise<ZipRead> {
  let zip: yauzl.ZipFile | undefined;
  try {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    zip = await yauzl.fromBufferPromise(buffer, {
      lazyEntries: true,
      validateEntrySizes: true,
      strictFileNames: false,
      decodeStrings: true,
    });
    if (zip.entryCount > limits.maxEntries)
      return {
        ok: false,
        reason: `too many entries in the archive (${zip.entryCount}; limit ${limits.maxEntries})`,
      };
    const names: string[] = [];
    let total = 0;
    for await (const entry of zip.eachEntry()) {
      if (performance.now() > deadline) return { ok: false, reason: 'took too long to read' };
      if (!want(entry.fileName) || entry.fileName.endsWith('/')) continue;
      if (entry.isEncrypted()) return { ok: false, reason: 'the document is password-protected' };
      if (!entry.canDecodeFileData())
        return { ok: false, reason: 'the archive uses a compression method that cannot be read' };
      const declared = entry.uncompressedSize;
      if (total + declared > limits.maxUncompressedBytes)
        return {
          ok: false,
          reason: `its content is too large once uncompressed (over ${mib(limits.maxUncompressedBytes)}): possibly a zip bomb`,
        };
      if (declared > RATIO_FLOOR && declared > entry.compressedSize * limits.maxCompressionRatio)
        return {
          ok: false,
          reason: `an entry compresses more than ${limits.maxCompressionRatio} to 1: possibly a zip bomb`,
        };
      names.push(entry.fileName);
      const stop = await readEntry(zip, entry, declared, deadline, onEntry(entry.fileName));
      if (stop !== undefined) return { ok: false, reason: stop };
      total += declared; // readEntry made sure it inflated to no more than that
    }
    return { ok: true, names };
  } catch (error) {
    if (error instanceof Stop) return { ok: false, reason: error.message };
    return { ok: false, reason: `the archive is damaged or not a valid zip (${describe(error)})` };
  } finally {
    zip?.close();
  }
}

async function readEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  declared: number,
  deadline: number,
  sink: EntrySink,
): Promise<string | undefined> {
  const stream = await zip.openReadStreamPromise(entry);
  let got = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      got += chunk.length;
      // yauzl stops an entry that inflates past its declared size; this is the same bound, held here too.
      if (got > declared) throw new Stop('an entry is larger than the archive says: possibly a zip bomb');
      if (performance.now() > deadline) throw new Stop('took too long to read');
      const stop = sink.write(chunk);
      chunk.fill(0);
      if (stop !== undefined) return stop;
    }
  } finally {
    stream.destroy();
  }
  return sink.end();
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 120 ? `${message.slice(0, 117)}...` : message;
}
