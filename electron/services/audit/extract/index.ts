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
import { decodeText } from './decode.js';

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
  /** Wall time for one file, checked between entries and pages. */
  readonly timeoutMs: number;
}

export const DEFAULT_LIMITS: ExtractLimits = {
  maxInputBytes: 64 * 1024 * 1024,
  maxTextChars: 32 * 1024 * 1024,
  maxUncompressedBytes: 128 * 1024 * 1024,
  maxEntries: 10_000,
  maxCompressionRatio: 200,
  maxPdfPages: 2_000,
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
    return { ok: false, reason: `too large to read (over ${limits.maxInputBytes / 1024 / 1024} MiB)` };
  await Promise.resolve();
  if (isStreamable(kind)) return decodeText(bytes, limits);
  return { ok: false, reason: `reading ${kind} files is not available yet` };
}
