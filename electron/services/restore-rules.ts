/**
 * What a decrypted file may become (issue 9 item 7). A .coffer file's metadata (FORMAT.md §5.1) names the
 * file and its mode, and whoever made the file chose both: anyone who knows an organization public key can
 * make one. So the restored mode is narrowed like any new file of this user, and a forced restore never
 * takes the place of a Coffer file or an escrow copy, however the name came.
 */
import fs from 'node:fs';
import { CofferError } from '../../crypto/errors.js';
import { ESCROW_COPY_NAME } from './keys/folder-escrow.js';

const PROTECTED_SUFFIX = '.coffer';
/** A write's temp file (safe-file/names.ts): a running protect renames it to the `.coffer` name. */
const TEMP_MARK = '.coffer.tmp-';

/**
 * The permission bits for a restored file: the stored mode without setuid/setgid/sticky, masked by the
 * process umask, as if the user had created the file here (a stored 0o777 does not make a world-writable
 * file for a user whose umask is 077). On Windows the umask is 0 and only the read-only bit matters.
 */
export function restoredMode(stored: number, umask: number = processUmask()): number {
  return stored & 0o777 & ~umask;
}

let umaskCache: number | undefined;

/**
 * The process umask, read once. `process.umask()` without an argument sets the umask to 0 and back, and a
 * file another thread creates in between (a worker writing a temp) would get mode 0666: so on Linux it is
 * read from /proc/self/status, and only elsewhere (macOS; Windows has none) with process.umask(), once.
 */
export function processUmask(): number {
  umaskCache ??= umaskFromProc() ?? legacyUmask();
  return umaskCache;
}

function umaskFromProc(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const match = /^Umask:\s*([0-7]+)$/mu.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return match?.[1] === undefined ? undefined : Number.parseInt(match[1], 8);
  } catch {
    return undefined; // no /proc (a sandbox): fall back
  }
}

function legacyUmask(): number {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- no race-free API off Linux; read once per thread
  return process.umask();
}

/**
 * True for names that Coffer owns in a folder: a protected file, an escrow copy, or a temp of one.
 * Compared as a case-insensitive file system with Windows' trailing dots and spaces would see them, and
 * as NTFS reads `x.coffer::$DATA` or `x.coffer:s` (a stream of `x.coffer`: writing it writes that file).
 */
export function isCofferOwnedName(name: string): boolean {
  const seen = name
    .replace(/:.*$/su, '')
    .toLowerCase()
    .replace(/[. ]+$/u, '');
  return seen.endsWith(PROTECTED_SUFFIX) || seen.startsWith(ESCROW_COPY_NAME) || seen.includes(TEMP_MARK);
}

/** Refuses a forced replace of `name` (a base name) when Coffer owns it. */
export function assertMayReplace(name: string): void {
  if (!isCofferOwnedName(name)) return;
  throw new CofferError(
    'PROTECTED_NAME',
    `${name}: a decrypted file may not replace a Coffer file or escrow copy (--force does not apply)`,
    'Nothing was written. Decrypt it to another folder (--out) and check where the file came from: its stored name is a Coffer name.',
  );
}
