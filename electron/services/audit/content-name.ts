/**
 * The name a file's content goes by. Apart from scanner-walk.ts so that the scanner worker does not load the
 * folder registry (and zod, through it) for one function: that was a fifth of a worker's start-up.
 */
import nodePath from 'node:path';
import { isProtectedName, PROTECTED_SUFFIX } from '../safe-file/names.js';

/** The name a file's content goes by: a protected file's without `.coffer` (`report.docx.coffer` → docx). */
export function contentName(path: string): string {
  const name = nodePath.basename(path);
  return isProtectedName(name) ? name.slice(0, -PROTECTED_SUFFIX.length) : name;
}
