/**
 * Text from a file (names in a .coffer header's metadata, paths found on disk) shown to a person, with every
 * character that could change what the rest of the screen says made visible: C0 controls (ESC starts
 * terminal sequences that retitle windows, move the cursor, erase lines; CR/LF forge lines), DEL, C1
 * controls (CSI U+009B on some terminals), line/paragraph separators, and the bidirectional overrides,
 * embeddings, isolates and marks (U+202E turns `invoice<U+202E>fdp.exe` into `invoiceexe.pdf`). Each is written
 * as `\u{…}` in hex, so the text still tells which file it is. JSON output needs none of this: it escapes
 * controls itself, and scripts read names exactly.
 *
 * Shared by the CLI (cli/output.ts) and the renderer (React escapes HTML, not bidi controls).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

export function printable(text: string): string {
  return text.replace(UNSAFE, (ch) => `\\u{${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase()}}`);
}
