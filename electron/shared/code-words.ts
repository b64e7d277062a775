/**
 * Node's errno names and Coffer's stable codes, as a person would say them (issue 12 item 6: no errno on a
 * screen). One table for every screen: plainMessage (plain-words.ts) puts the words in a sentence
 * ("… beside /x (a folder is in the way)"), the Activity log next to a file ("not found: /x",
 * "/x: in use by another app"), so each phrase reads in both places.
 */
const CODE_WORDS: Readonly<Record<string, string>> = {
  // Node's errno (fs calls)
  ENOENT: 'not found',
  EACCES: 'Coffer is not allowed there',
  EPERM: 'Coffer is not allowed there',
  EBUSY: 'in use by another app',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the disk is read-only',
  EEXIST: 'something is already there',
  EISDIR: 'a folder is in the way',
  ENOTDIR: 'a file is in the way of a folder',
  ELOOP: 'a link is in the way',
  EIO: 'the disk could not be read or written',
  ETIMEDOUT: 'the disk did not answer',
  ENOTCONN: 'the network drive is not connected',
  EXDEV: 'on another disk',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'name too long',
  // Coffer's codes (crypto/errors.ts, the folder runs' skip reasons)
  NOT_FOUND: 'not found',
  PERMISSION_DENIED: 'Coffer is not allowed there',
  FILE_LOCKED: 'in use by another app',
  DISK_FULL: 'the disk is full',
  SOURCE_CHANGED: 'changed while Coffer read it',
  AUTH_FAILED: 'damaged or tampered with',
  HEADER_AUTH_FAILED: 'altered',
  NO_MATCHING_KEY: 'locked with another key',
  HARD_LINK: 'has another name (hard link)',
  IN_USE: 'in use by another app',
  CONFLICT: 'a conflict copy',
  SYMLINK: 'is a link',
  STATE_TAMPERED: 'settings changed outside Coffer',
  POLICY_FORBIDS: 'not allowed by your organization',
  POLICY_INVALID: 'your organization’s policy cannot be read',
  CANCELLED: 'cancelled',
};

/** Said for an errno this table does not know (`EFOO: …, open '/x'` is still an error about /x). */
export const UNKNOWN_ERRNO_WORDS = 'the disk refused it';

/** The words for an errno name or a Coffer code, or undefined for one not in the table. */
export function codeInWords(code: string): string | undefined {
  return Object.hasOwn(CODE_WORDS, code) ? CODE_WORDS[code] : undefined;
}
