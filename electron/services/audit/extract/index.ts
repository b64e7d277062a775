/**
 * Text extraction for the data audit (issue 11 item 1). Public surface for the scanner:
 *
 * - `extractKind(name)`: which extractor a file name gets (undefined: not a format the audit reads);
 * - `extractText(bytes, name, limits)`: the text of one whole file, or `{ok:false, reason}` in plain
 *   language (zip bomb, encrypted or broken PDF, malformed zip, binary junk, over a limit). Never throws
 *   for bad input, never hangs: every extractor is bounded by `limits`;
 * - `TextStreamDecoder`: for the streamable kinds (`isStreamable(kind)`: plain text, CSV, JSON, Markdown),
 *   decodes a big file chunk by chunk with bounded memory; feed its output to detectors' FindingCounter.
 */
import { TextDecoder } from 'node:util';
import { decodeText } from './decode.js';
import { TextTooLong, Unreadable } from './errors.js';
import { pdfText } from './pdf.js';

export { TextStreamDecoder } from './decode.js';

export type ExtractKind =
  | 'text'
  | 'csv'
  | 'json'
  | 'markdown'
  | 'xml'
  | 'html'
  | 'rtf'
  | 'docx'
  | 'xlsx'
  | 'pptx'
  | 'odt'
  | 'ods'
  | 'pdf';

export type ExtractResult = { ok: true; text: string } | { ok: false; reason: string };

export interface ExtractLimits {
  /** Largest file read whole (all kinds but the streamable ones, which the scanner reads in chunks). */
  readonly maxInputBytes: number;
  /** Largest text kept from one file (characters); past it the file is skipped. */
  readonly maxTextChars: number;
  /** Zip containers: total uncompressed bytes read from the entries that hold text. */
  readonly maxUncompressedBytes: number;
  /** Zip containers: entries in the central directory. */
  readonly maxEntries: number;
  /** Zip containers: uncompressed / compressed size of an entry (checked for entries over 1 MiB). */
  readonly maxCompressionRatio: number;
  /** PDF: pages read. */
  readonly maxPdfPages: number;
  /** PDF: growth of the process's memory while one PDF is read (pdf.ts ends the reader past it). */
  readonly maxPdfMemoryBytes: number;
  /** Wall time for one file, checked between entries and pages. */
  readonly timeoutMs: number;
}

/**
 * Sized for the "peak memory <= 200 MB whatever the file sizes" with two pool workers: per worker at
 * most one input (32 MiB, plus PDF.js's copy in its own worker), zip parts parsed as they inflate (at most
 * 64 MiB inflated in all, never held) and their text (16 Mi characters). Measured: a 2.5 MB docx with
 * 60 MiB of markup and 14 M characters of text, 116 MB of RSS growth for its worker (357 MB before the
 * parts were streamed).
 */
export const DEFAULT_LIMITS: ExtractLimits = {
  maxInputBytes: 32 * 1024 * 1024,
  maxTextChars: 16 * 1024 * 1024,
  maxUncompressedBytes: 64 * 1024 * 1024,
  maxEntries: 10_000,
  maxCompressionRatio: 200,
  maxPdfPages: 2_000,
  maxPdfMemoryBytes: 160 * 1024 * 1024,
  timeoutMs: 30_000,
};

const BY_EXTENSION: Readonly<Record<string, ExtractKind>> = {
  txt: 'text',
  text: 'text',
  log: 'text',
  csv: 'csv',
  tsv: 'csv',
  json: 'json',
  jsonl: 'json',
  ndjson: 'json',
  md: 'markdown',
  markdown: 'markdown',
  xml: 'xml',
  html: 'html',
  htm: 'html',
  xhtml: 'html',
  rtf: 'rtf',
  docx: 'docx',
  docm: 'docx',
  xlsx: 'xlsx',
  xlsm: 'xlsx',
  pptx: 'pptx',
  pptm: 'pptx',
  odt: 'odt',
  ods: 'ods',
  pdf: 'pdf',
};

/** The extractor for a file name (by extension, case-insensitive), or undefined when the audit skips it. */
export function extractKind(name: string): ExtractKind | undefined {
  const dot = name.lastIndexOf('.');
  if (dot < 0 || dot < Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'))) return undefined;
  return BY_EXTENSION[name.slice(dot + 1).toLowerCase()];
}

/** Kinds whose text is the file itself: the scanner may stream them (TextStreamDecoder) at any size. */
export function isStreamable(kind: ExtractKind): boolean {
  return kind === 'text' || kind === 'csv' || kind === 'json' || kind === 'markdown';
}

export async function extractText(
  bytes: Uint8Array,
  name: string,
  limits: ExtractLimits = DEFAULT_LIMITS,
): Promise<ExtractResult> {
  const kind = extractKind(name);
  if (kind === undefined) return { ok: false, reason: 'not a file type the audit reads' };
  if (bytes.length > limits.maxInputBytes)
    return {
      ok: false,
      reason: `too large to read (over ${Math.round(limits.maxInputBytes / 1024 / 1024)} MiB)`,
    };
  const deadline = performance.now() + limits.timeoutMs;
  try {
    return await extractKindText(kind, bytes, limits, deadline);
  } catch (error) {
    if (error instanceof TextTooLong) return { ok: false, reason: 'too much text to read' };
    if (error instanceof Unreadable) return { ok: false, reason: error.message };
    // A bug or an unforeseen input in a parser: the file is skipped with what went wrong, the scan goes on.
    return {
      ok: false,
      reason: `could not be read (${error instanceof Error ? error.message : String(error)})`,
    };
  }
}

async function extractKindText(
  kind: ExtractKind,
  bytes: Uint8Array,
  limits: ExtractLimits,
  deadline: number,
): Promise<ExtractResult> {
  switch (kind) {
    case 'text':
    case 'csv':
    case 'json':
    case 'markdown':
      return decodeText(bytes, limits);
    case 'xml':
    case 'html': {
      // The markup is bounded by maxInputBytes; the text left once tags are stripped, by maxTextChars.
      const decoded = decodeText(bytes, { maxTextChars: limits.maxInputBytes });
      if (!decoded.ok) return decoded;
      // Parsers load on first use (see errors.ts): a scan of text files never loads them.
      const { HTML, markupText, XML } = await import('./markup.js');
      const rules = kind === 'xml' ? XML : HTML;
      return { ok: true, text: markupText(decoded.text, rules, limits.maxTextChars, deadline) };
    }
    case 'rtf': {
      const { isRtf, rtfText } = await import('./rtf.js');
      if (!isRtf(bytes)) return { ok: false, reason: 'not an RTF document (it does not start with {\\rtf)' };
      return { ok: true, text: rtfText(new TextDecoder('windows-1252').decode(bytes), limits.maxTextChars) };
    }
    case 'pdf':
      return pdfText(bytes, limits, deadline);
    default: {
      const { containerText } = await import('./containers.js');
      return containerText(kind, bytes, limits, deadline);
    }
  }
}
