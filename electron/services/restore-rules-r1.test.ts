/**
 * Reviewer R1: `recover --force` / `decrypt --force` take the name from the file's metadata, which whoever
 * made the file chose. Names that Windows or a running protect would read as a Coffer file are refused.
 */
import { expect, it } from 'vitest';
import { assertMayReplace, isCofferOwnedName } from './restore-rules.js';

it('an NTFS stream of a .coffer file or escrow copy, or a temp of a protect under way, is Coffer’s', () => {
  for (const name of [
    'contract.docx.coffer::$DATA',
    'contract.docx.coffer:evil',
    'CONTRACT.DOCX.COFFER. :x',
    '.coffer-escrow.json::$DATA',
    'contract.docx.coffer.tmp-0123456789ab',
  ]) {
    expect(isCofferOwnedName(name), name).toBe(true);
    expect(() => {
      assertMayReplace(name);
    }).toThrow(expect.objectContaining({ code: 'PROTECTED_NAME' }) as Error);
  }
  for (const name of ['contract.docx', 'notes: draft.txt', 'coffer.txt', 'my.coffer-notes.txt'])
    expect(isCofferOwnedName(name), name).toBe(false);
});
