/**
 * The names Coffer gives files: `<name>.coffer` for a protected file and `<name>.coffer.tmp-<12 hex>` for
 * the temporary file every write goes through (DESIGN.md "Writing files safely").
 */
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export const PROTECTED_SUFFIX = '.coffer';
const TEMP_MARK = '.coffer.tmp-';
/** Exactly the names tempPathFor makes: a user's own file that merely contains the mark is not garbage. */
const TEMP_NAME = /\.coffer\.tmp-[0-9a-f]{12}$/;
/** Most file systems allow 255 bytes per name. */
export const MAX_NAME_BYTES = 255;

/** Named like a leftover of an interrupted write. Only the temp journal proves that Coffer made it. */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

export function isProtectedName(name: string): boolean {
  return name.endsWith(PROTECTED_SUFFIX) && !isTempName(name);
}

/** A fresh temp name for a file to be named `name`. */
export function tempNameFor(name: string): string {
  const suffix = `${TEMP_MARK}${randomBytes(6).toString('hex')}`;
  // A name near the limit still gets a temporary file, under a short hidden name that is as recognizable.
  return Buffer.byteLength(name + suffix) <= MAX_NAME_BYTES ? name + suffix : suffix;
}

/** A fresh temp name beside `target`. */
export function tempPathFor(target: string): string {
  return join(dirname(target), tempNameFor(basename(target)));
}
