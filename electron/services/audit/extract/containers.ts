/**
 * OOXML (docx, xlsx, pptx) and ODF (odt, ods): zip containers whose text sits in known XML parts. Which
 * parts are read, in which order, and with which markup rules is set here; the zip itself is read by
 * zip.ts within the limits.
 */
import { TextStreamDecoder } from './decode.js';
import type { ExtractKind, ExtractLimits, ExtractResult } from './index.js';
import {
  DOCX,
  markupStream,
  ODF,
  PPTX,
  TextTooLong,
  Unreadable,
  XLSX,
  type MarkupRules,
  type MarkupStream,
} from './markup.js';
import { readZip, type EntrySink } from './zip.js';

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
  const texts: { name: string; text: string }[] = [];
  let size = 0;
  /** Runs a step of a part's parse; a limit it hits becomes the reason to stop. */
  const guard = (step: () => void): string | undefined => {
    try {
      step();
      return undefined;
    } catch (error) {
      if (error instanceof TextTooLong) return 'too much text to read';
      if (error instanceof Unreadable) return error.message;
      throw error;
    }
  };
  // Each part is decoded and parsed as it inflates: only its text is kept, never its markup.
  const onEntry = (name: string): EntrySink => {
    const decoder = new TextStreamDecoder();
    let markup: MarkupStream | undefined;
    const feed = (text: string): string | undefined => {
      if (decoder.failure !== undefined) return `a part of the document is not text (${name})`;
      if (text.length === 0) return undefined;
      return guard(() => {
        markup ??= markupStream(container.rules, limits.maxTextChars - size, deadline);
        markup.write(text);
      });
    };
    return {
      write: (piece) => feed(decoder.push(piece)),
      end: () => {
        const stop = feed(decoder.end());
        if (stop !== undefined) return stop;
        return guard(() => {
          const text = markup?.end() ?? '';
          size += text.length + 1;
          texts.push({ name, text });
        });
      },
    };
  };
  const read = await readZip(
    bytes,
    (name) => container.parts.some((re) => re.test(name)),
    limits,
    deadline,
    onEntry,
  );
  if (!read.ok) return read;
  const marker = container.parts[0];
  if (marker === undefined || !read.names.some((n) => marker.test(n)))
    return { ok: false, reason: `not ${container.label} (a zip without its main part)` };
  texts.sort((a, b) => {
    const [ia, na] = rank(container, a.name);
    const [ib, nb] = rank(container, b.name);
    return ia - ib || na - nb;
  });
  return { ok: true, text: texts.map((t) => t.text).join('\n') };
}
