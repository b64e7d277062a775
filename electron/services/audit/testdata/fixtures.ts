/**
 * Test fixtures: the same planted customer data (valid values AND checksum decoys) written in every format
 * the audit reads, containers built with fflate and PDFs with pdf-lib. Used by extract.test.ts and by the
 * scanner's tests (D2) to assert exact counts.
 */
import { strToU8, zipSync, type Zippable } from 'fflate';
import { PDFDocument, StandardFonts } from 'pdf-lib';

/** One value or decoy per line; no line holds two values, so each format can put lines in its own cells. */
export const PLANTED_LINES: readonly string[] = [
  'Customer record for Ann Example',
  'ann@example.com',
  'bob.smith@example.org',
  '+44 20 7946 0958',
  '(415) 555-2671',
  '4111 1111 1111 1111',
  '5555-5555-5555-4444',
  'GB82 WEST 1234 5698 7654 32',
  'DE89370400440532013000',
  '123-45-6789',
  'AB123456C',
  'CUST-004217',
  // Decoys: the shape of a value with a bad checksum or a forbidden range, and look-alikes.
  '4111 1111 1111 1112',
  'GB82 WEST 1234 5698 7654 33',
  '000-12-3456',
  'QQ123456C',
  'created 2024-01-15, version 1.2.3, not-an-email@',
];

/** What countFindings must give for the planted lines, with the policy pattern below. */
export const PLANTED_FINDINGS: Readonly<Record<string, number>> = {
  email: 2,
  phone: 2,
  'payment-card': 2,
  iban: 2,
  'us-ssn': 1,
  'uk-nino': 1,
  'customer-id': 1,
};

export const PLANTED_PATTERNS = [{ name: 'customer-id', regex: 'CUST-\\d{6}\\b' }] as const;

const lines = PLANTED_LINES;

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function plantedText(): string {
  return lines.join('\n');
}

export function plantedCsv(): string {
  return ['id,value,note', ...lines.map((l, i) => `${i + 1},"${l.replace(/"/g, '""')}",ok`)].join('\r\n');
}

export function plantedJson(): string {
  return JSON.stringify({ records: lines.map((value, id) => ({ id, value })) }, null, 2);
}

export function plantedMarkdown(): string {
  return ['# Customers', '', ...lines.map((l) => `- **${l}**`)].join('\n');
}

/** Plain XML: one value in an attribute, one e-mail with its '@' as a character reference. */
export function plantedXml(): string {
  const body = lines.map((l) => {
    if (l === 'ann@example.com') return '  <contact kind="email">ann&#64;example.com</contact>';
    if (l === 'AB123456C') return '  <person nino="AB123456C"/>';
    return `  <line>${xmlEscape(l)}</line>`;
  });
  return ['<?xml version="1.0" encoding="UTF-8"?>', '<customers>', ...body, '</customers>'].join('\n');
}

/** HTML: a script and a style holding data that is not text (not counted), entities, inline tags. */
export function plantedHtml(): string {
  const body = lines.map((l) => {
    if (l === 'ann@example.com') return '<p>Mail: ann&#64;example&period;com</p>';
    if (l === '+44 20 7946 0958') return '<p>Call <b>+44</b> 20 <i>7946</i> 0958</p>';
    return `<div>${xmlEscape(l)}</div>`;
  });
  return [
    '<!doctype html><html><head><title>Customers</title>',
    '<style>.x::after { content: "ghost@example.com" }</style>',
    '<script>const leaked = "ghost@example.com 123-45-6789";</script></head><body>',
    ...body,
    '</body></html>',
  ].join('\n');
}

/** RTF: tables and a generator destination holding data (not text), a value split by a bold group, \'40. */
export function plantedRtf(): string {
  const body = lines.map((l) => {
    if (l === 'AB123456C') return '{\\b AB}123456C\\par';
    if (l === 'ann@example.com') return "ann\\'40example.com\\par";
    return `${l.replace(/[\\{}]/g, (c) => `\\${c}`)}\\par`;
  });
  return [
    '{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Helvetica;}}{\\colortbl;\\red0\\green0\\blue0;}',
    '{\\*\\generator ghost@example.com 123-45-6789;}{\\info{\\author ghost@example.com}}',
    '\\f0\\fs24',
    ...body,
    'caf\\u233?\\par',
    '}',
  ].join('\n');
}

function zip(files: Record<string, string>): Uint8Array {
  const z: Zippable = {};
  for (const [name, text] of Object.entries(files)) z[name] = strToU8(text);
  return zipSync(z, { level: 6 });
}

const W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"';

/** Word: one e-mail split across two runs (as Word does after an edit), one value in the header. */
export function plantedDocx(): Uint8Array {
  const paragraphs = lines
    .filter((l) => l !== 'CUST-004217')
    .map((l) => {
      if (l === 'bob.smith@example.org')
        return '<w:p><w:r><w:t>bob.smith@exa</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>mple.org</w:t></w:r></w:p>';
      return `<w:p><w:r><w:t xml:space="preserve">${xmlEscape(l)}</w:t></w:r></w:p>`;
    });
  return zip({
    '[Content_Types].xml': '<?xml version="1.0"?><Types/>',
    'word/document.xml': `<?xml version="1.0" encoding="UTF-8"?><w:document ${W}><w:body>${paragraphs.join('')}</w:body></w:document>`,
    'word/header1.xml': `<?xml version="1.0"?><w:hdr ${W}><w:p><w:r><w:t>CUST-004217</w:t></w:r></w:p></w:hdr>`,
    'word/styles.xml': `<?xml version="1.0"?><w:styles ${W}><w:style><w:name w:val="ghost@example.com"/></w:style></w:styles>`,
  });
}

/** Excel: values in shared strings (cells point to them by index), one inline string, numbers. */
export function plantedXlsx(): Uint8Array {
  const shared = lines.filter((l) => l !== 'AB123456C');
  const sst = shared.map((l) => `<si><t>${xmlEscape(l)}</t></si>`).join('');
  const rows = shared
    .map(
      (_, i) =>
        `<row r="${i + 1}"><c r="A${i + 1}" t="s"><v>${i}</v></c><c r="B${i + 1}"><v>${(i + 1) * 1.5}</v></c></row>`,
    )
    .join('');
  const inline = `<row r="99"><c r="A99" t="inlineStr"><is><t>AB123456C</t></is></c><c r="B99"><f>SUM(B1:B9)</f><v>12</v></c></row>`;
  return zip({
    '[Content_Types].xml': '<?xml version="1.0"?><Types/>',
    'xl/workbook.xml':
      '<?xml version="1.0"?><workbook><sheets><sheet name="Customers" sheetId="1"/></sheets></workbook>',
    'xl/sharedStrings.xml': `<?xml version="1.0" encoding="UTF-8"?><sst count="${shared.length}">${sst}</sst>`,
    'xl/worksheets/sheet1.xml': `<?xml version="1.0"?><worksheet><sheetData>${rows}${inline}</sheetData></worksheet>`,
  });
}

const A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"';

/** PowerPoint: values over two slides (slide10 sorts after slide2) and the speaker notes. */
export function plantedPptx(): Uint8Array {
  const para = (l: string): string => `<a:p><a:r><a:t>${xmlEscape(l)}</a:t></a:r></a:p>`;
  const slide = (ls: readonly string[]): string =>
    `<?xml version="1.0"?><p:sld ${A}><p:cSld><p:spTree><p:sp><p:txBody>${ls.map(para).join('')}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>`;
  return zip({
    '[Content_Types].xml': '<?xml version="1.0"?><Types/>',
    'ppt/presentation.xml': '<?xml version="1.0"?><p:presentation/>',
    'ppt/slides/slide2.xml': slide(lines.slice(0, 6)),
    'ppt/slides/slide10.xml': slide(lines.slice(6, -1)),
    'ppt/notesSlides/notesSlide1.xml': slide(lines.slice(-1)),
  });
}

const ODF_NS =
  'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"';

/** OpenDocument text: a value written with <text:s/> for its spaces and a span in the middle. */
export function plantedOdt(): Uint8Array {
  const body = lines
    .map((l) => {
      if (l === '+44 20 7946 0958')
        return '<text:p>+44<text:s/>20<text:s/><text:span>7946</text:span> 0958</text:p>';
      return `<text:p>${xmlEscape(l)}</text:p>`;
    })
    .join('');
  return zip({
    mimetype: 'application/vnd.oasis.opendocument.text',
    'content.xml': `<?xml version="1.0" encoding="UTF-8"?><office:document-content ${ODF_NS}><office:body><office:text>${body}</office:text></office:body></office:document-content>`,
    'styles.xml': '<?xml version="1.0"?><office:document-styles/>',
  });
}

/** OpenDocument spreadsheet: one value per cell. */
export function plantedOds(): Uint8Array {
  const rows = lines
    .map(
      (l, i) =>
        `<table:table-row><table:table-cell office:value-type="float" office:value="${i}"><text:p>${i}</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>${xmlEscape(l)}</text:p></table:table-cell></table:table-row>`,
    )
    .join('');
  return zip({
    mimetype: 'application/vnd.oasis.opendocument.spreadsheet',
    'content.xml': `<?xml version="1.0" encoding="UTF-8"?><office:document-content ${ODF_NS}><office:body><office:spreadsheet><table:table table:name="Customers">${rows}</table:table></office:spreadsheet></office:body></office:document-content>`,
  });
}

/** PDF: one text line per value, over two pages. */
export async function plantedPdf(pages = 2): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const perPage = Math.ceil(lines.length / Math.min(pages, lines.length));
  for (let p = 0; p < pages; p++) {
    const page = doc.addPage([400, 600]);
    lines.slice(p * perPage, (p + 1) * perPage).forEach((l, k) => {
      page.drawText(l, { x: 30, y: 560 - k * 20, size: 11, font });
    });
  }
  return doc.save();
}

/** Every format, by file name. */
export async function plantedFiles(): Promise<Record<string, Uint8Array>> {
  const utf8 = (s: string): Uint8Array => strToU8(s);
  return {
    'customers.txt': utf8(plantedText()),
    'customers.csv': utf8(plantedCsv()),
    'customers.json': utf8(plantedJson()),
    'customers.md': utf8(plantedMarkdown()),
    'customers.xml': utf8(plantedXml()),
    'customers.html': utf8(plantedHtml()),
    'customers.rtf': utf8(plantedRtf()),
    'customers.docx': plantedDocx(),
    'customers.xlsx': plantedXlsx(),
    'customers.pptx': plantedPptx(),
    'customers.odt': plantedOdt(),
    'customers.ods': plantedOds(),
    'customers.pdf': await plantedPdf(),
  };
}
