/**
 * OS and editor litter: files that are not the user's data, or that belong to an app that holds a document
 * open. They are left alone (neither encrypted nor reported as waiting). The list is configurable; patterns
 * are base names with `*` wildcards.
 */
export const DEFAULT_IGNORE: readonly string[] = [
  '.DS_Store',
  '.localized',
  'Icon\r',
  'Thumbs.db',
  'ehthumbs.db',
  'desktop.ini',
  '~$*', // Microsoft Office owner/lock files (~$Report.docx)
  '.~lock.*#', // LibreOffice lock files
];

/**
 * Coffer's own files, ignored whatever the configured list says: the key escrow record beside the folder
 * (keys/folder-escrow.ts) and its temp file must stay readable, or the code could not restore the key.
 */
const ALWAYS_IGNORED: readonly string[] = ['.coffer-escrow.json*'];

function toRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  // Case-insensitive: Windows and macOS file systems are, and `THUMBS.DB` is the same litter.
  return new RegExp(`^${body}$`, 'is');
}

export class LitterFilter {
  private readonly patterns: readonly RegExp[];

  constructor(patterns: readonly string[] = DEFAULT_IGNORE) {
    this.patterns = [...ALWAYS_IGNORED, ...patterns].map(toRegExp);
  }

  isLitter(name: string): boolean {
    return this.patterns.some((p) => p.test(name));
  }
}

/**
 * True when an editor holds `name` open, judged by its lock file beside it: Office writes `~$` over the
 * first two characters of long names (`~$port.docx` for `Report.docx`), LibreOffice `.~lock.NAME#`.
 * Encrypting a document under an open editor only makes the editor write a new plaintext on save.
 */
export function isOpenInEditor(name: string, siblings: ReadonlySet<string>): boolean {
  return (
    siblings.has(`~$${name}`) ||
    siblings.has(`~$${name.slice(1)}`) ||
    siblings.has(`~$${name.slice(2)}`) ||
    siblings.has(`.~lock.${name}#`)
  );
}
