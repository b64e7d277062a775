/**
 * Text layer of a PDF through unpdf (Mozilla PDF.js, serverless build: no worker thread of its own, no
 * network, no eval), run inside the PDF worker (pdf-worker.ts), which pdf.ts ends from outside when it
 * overruns its time or memory. Bounded here too: pages read, characters kept, wall time (checked between
 * pages, and the whole load raced against the deadline). A password-protected, damaged or not-a-PDF file
 * ends as a reason.
 */
import { getResolvedPDFJS } from 'unpdf';
import type { ExtractLimits, ExtractResult } from './index.js';

interface Item {
  str: string;
  transform: number[];
  width: number;
  height: number;
  hasEOL: boolean;
}

function isItem(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && 'str' in value && 'transform' in value;
}

const TIMEOUT = Symbol('timeout');

/** `data` is this worker's own copy (a plain Uint8Array: PDF.js refuses a Buffer), wiped at the end. */
export async function readPdf(
  data: Uint8Array,
  limits: ExtractLimits,
  deadline: number,
): Promise<ExtractResult> {
  const { getDocument } = await getResolvedPDFJS();
  const task = getDocument({
    data,
    isEvalSupported: false,
    useSystemFonts: false,
    disableFontFace: true,
    stopAtErrors: false,
    verbosity: 0,
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMEOUT>((resolve) => {
    timer = setTimeout(
      () => {
        resolve(TIMEOUT);
      },
      Math.max(0, deadline - performance.now()),
    );
  });
  try {
    const doc = await Promise.race([task.promise, timeout]);
    if (doc === TIMEOUT) return { ok: false, reason: 'took too long to read' };
    if (doc.numPages > limits.maxPdfPages)
      return { ok: false, reason: `too many pages (${doc.numPages}; limit ${limits.maxPdfPages})` };
    const parts: string[] = [];
    let size = 0;
    for (let p = 1; p <= doc.numPages; p++) {
      const content = await Promise.race([doc.getPage(p).then((page) => page.getTextContent()), timeout]);
      if (content === TIMEOUT) return { ok: false, reason: 'took too long to read' };
      const text = pageText(content.items);
      size += text.length + 1;
      if (size > limits.maxTextChars) return { ok: false, reason: 'too much text to read' };
      parts.push(text, '\n');
    }
    return { ok: true, text: parts.join('') };
  } catch (error) {
    return { ok: false, reason: reasonFor(error) };
  } finally {
    clearTimeout(timer);
    await task.destroy().catch(() => undefined);
    if (data.byteLength > 0) data.fill(0); // PDF.js may have detached it (then it holds nothing)
  }
}

/**
 * Joins a page's text items: a line break where PDF.js marks one or the baseline moves, a space where
 * the gap to the previous item on the line is wider than a fraction of the font height, else nothing (a
 * word split into several items stays one word).
 */
function pageText(items: readonly unknown[]): string {
  let out = '';
  let lastX = Number.NaN;
  let lastY = Number.NaN;
  for (const item of items) {
    if (!isItem(item)) continue;
    const x = item.transform[4] ?? 0;
    const y = item.transform[5] ?? 0;
    const size = Math.abs(item.transform[3] ?? item.height) || 1;
    if (!Number.isNaN(lastY) && Math.abs(y - lastY) > size / 2) out += '\n';
    else if (!Number.isNaN(lastX) && x - lastX > size * 0.15 && !out.endsWith(' ')) out += ' ';
    out += item.str;
    if (item.hasEOL) {
      out += '\n';
      lastX = Number.NaN;
      lastY = Number.NaN;
    } else {
      lastX = x + item.width;
      lastY = y;
    }
  }
  return out;
}

function reasonFor(error: unknown): string {
  const name = error instanceof Error ? error.name : '';
  if (name === 'PasswordException') return 'the PDF is password-protected';
  if (name === 'InvalidPDFException') return 'the PDF is damaged or not a PDF';
  const message = error instanceof Error ? error.message : String(error);
  return `the PDF could not be read (${message.length > 120 ? `${message.slice(0, 117)}...` : message})`;
}
