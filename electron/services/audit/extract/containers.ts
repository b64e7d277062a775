/**
 * OOXML (docx, xlsx, pptx) and ODF (odt, ods): zip containers whose text sits in known XML parts. Which
 * parts are read, in which order, and with which markup rules is set here; the zip itself is read by
 * zip.ts within the limits.
 */
import { decodeText } from './decode.js';
import type { ExtractKind, ExtractLimits, ExtractResult } from './index.js';
import { DOCX, markupText, ODF, PPTX, XLSX, type MarkupRules } from './markup.js';
import { readZip } from './zip.js';

interface Container {
  /** Parts that hold text; the first pattern names the part without which the file is not of this kind. */
  readonly parts: readonly RegExp[];
  readonly rules: MarkupRules;
  readonly label: string;
}

const CONTAINERS: Readonly<Partial<Record<ExtractKind, Container>>> = {
  docx: {
    parts: [
      /^word\/document\.xml$/,
      /^word\/(header|footer)\d*\.xml$/,
      /^word\/(footnotes|endnotes|comments)\.xml$/,
    ],
    rules: DOCX,
    label: 'a Word document',
  },
  xlsx: {
    parts: [
      /^xl\/workbook\.xml$/,
      /^xl\/sharedStrings\.xml$/,
      /^xl\/worksheets\/sheet\d+\.xml$/,
      /^xl\/comments\d*\.xml$/,
    ],
    rules: XLSX,
    label: 'an Excel workbook',
  },
  pptx: {
    parts: [
      /^ppt\/presentation\.xml$/,
      /^ppt\/slides\/slide\d+\.xml$/,
      /^ppt\/notesSlides\/notesSlide\d+\.xml$/,
    ],
    rules: PPTX,
    label: 'a PowerPoint presentation',
  },
  odt: { parts: [/^content\.xml$/], rules: ODF, label: 'an OpenDocument text' },
  ods: { parts: [/^content\.xml$/], rules: ODF, label: 'an OpenDocument spreadsheet' },
};

/** The magic of an OLE compound file: what Office writes for a password-protected document (and old .doc). */
const OLE_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

/** Part order: by pattern, then by the number in the name (slide2 before slide10). */
function rank(container: Container, name: string): [number, number] {
  const index = container.parts.findIndex((re) => re.test(name));
  const digits = /(\d+)\.xml$/.exec(name);
  return [index, digits === null ? 0 : Number(digits[1])];
}

export async function containerText(
  kind: ExtractKind,
  bytes: Uint8Array,
  limits: ExtractLimits,
  deadline: number,
): Promise<ExtractResult> {
  const container = CONTAINERS[kind];
  if (container === undefined) return { ok: false, reason: 'not a file type the audit reads' };
  if (OLE_MAGIC.every((b, i) => bytes[i] === b))
    return { ok: false, reason: 'the document is password-protected (or in an old Office format)' };
  const read = await readZip(bytes, (name) => container.parts.some((re) => re.test(name)), limits, deadline);
  if (!read.ok) return read;
  const names = [...read.entries.keys()];
  const marker = container.parts[0];
  if (marker === undefined || !names.some((n) => marker.test(n)))
    return { ok: false, reason: `not ${container.label} (a zip without its main part)` };
  names.sort((a, b) => {
    const [ia, na] = rank(container, a);
    const [ib, nb] = rank(container, b);
    return ia - ib || na - nb;
  });
  const texts: string[] = [];
  let size = 0;
  try {
    for (const name of names) {
      const bytesOf = read.entries.get(name);
      if (bytesOf === undefined) continue;
      read.entries.delete(name); // let the part's bytes go as soon as its text is taken
      const decoded = decodeText(bytesOf, limits);
      bytesOf.fill(0); // inflated plaintext of a possibly protected file: wiped once decoded
      if (!decoded.ok) return { ok: false, reason: `a part of the document is not text (${name})` };
      const text = markupText(decoded.text, container.rules, limits.maxTextChars - size);
      size += text.length + 1;
      texts.push(text);
      if (performance.now() > deadline) return { ok: false, reason: 'took too long to read' };
    }
  } finally {
    for (const left of read.entries.values()) left.fill(0);
  }
  return { ok: true, text: texts.join('\n') };
}
