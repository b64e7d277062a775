/** Path checks the data audit's findings and actions share. */
import fs from 'node:fs';
import path from 'node:path';

/** `a` is `b` or inside it (both absolute). */
export function within(a: string, b: string): boolean {
  const rel = path.relative(b, a);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A regular file (or a link) is still at `p`: a finding in the clear not yet protected. */
export function isFileAt(p: string): boolean {
  try {
    return !fs.lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function realOrSame(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
