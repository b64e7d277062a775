/**
 * The Activity log as people read it (issue 12 item 6): folder IDs become the folder's path, raw errno
 * text and `CODE: ` prefixes become words, Coffer's temporary file names become "a temporary file". What is
 * recorded is unchanged (the audit trail classifies the raw entries); only what is listed and exported is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { matchesFilter, serializeActivity } from '../../shared/activity-view.js';
import type { ActivityEntry, ActivityFilter } from '../../shared/contract.js';
import type { ActivityPort } from '../ports.js';

/** Node's errno names and Coffer's codes, as a person would say them. */
const WORDS: Record<string, string> = {
  ENOENT: 'not found',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EBUSY: 'in use by another app',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the disk is read-only',
  EEXIST: 'already exists',
  EISDIR: 'is a folder',
  ENOTDIR: 'not a folder',
  ELOOP: 'is a link',
  EIO: 'the disk reported an error',
  EXDEV: 'on another disk',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'name too long',
  NOT_FOUND: 'not found',
  PERMISSION_DENIED: 'permission denied',
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

/** `.name.coffer.tmp-0123456789ab` and friends (safe-file's temp names, FORMAT.md §9). */
const TEMP_NAME = /(?:[^\s'"]*[/\\])?[^\s'"/\\]*\.(?:coffer\.)?tmp-[0-9a-f]{6,}[^\s'"/\\]*/g;

export function plainDetail(detail: string): string {
  let text = detail.replace(TEMP_NAME, 'a temporary file');
  // `ENOENT: no such file or directory, open '/x'` → `not found: /x`
  text = text.replace(
    /\b(E[A-Z]{2,})(?::[^,;]*)?,\s*[a-z]+\s+'([^']*)'(?:\s*->\s*'[^']*')?/g,
    (_m, code: string, file: string) => `${WORDS[code] ?? 'could not be read'}: ${file}`,
  );
  // `CODE: message` at the start (handlers.ts `recorded`): the message says it.
  text = text.replace(/^[A-Z][A-Z0-9_]{2,}: /, '');
  // `path: CODE` in a run's problem list.
  text = text.replace(/: ([A-Z][A-Z0-9_]{2,})\b/g, (m, code: string) => {
    const words = WORDS[code];
    return words === undefined ? m : `: ${words}`;
  });
  return text.replace(/\(\s*errno\s*-?\d+\s*\)/gi, '').trim();
}

export class ReadableActivity implements ActivityPort {
  constructor(
    private readonly inner: {
      list(): ActivityEntry[];
      record(entry: Omit<ActivityEntry, 'id' | 'at'>): void;
    },
    /** A folder ID's path (Protect and Unprotect entries name the ID only); undefined when unknown. */
    private readonly folderPath: (id: string) => string | undefined,
  ) {}

  record(entry: Omit<ActivityEntry, 'id' | 'at'>): void {
    this.inner.record(entry);
  }

  list(): ActivityEntry[] {
    const paths = new Map<string, string | undefined>();
    const pathOf = (id: string): string | undefined => {
      if (!paths.has(id)) {
        let found: string | undefined;
        try {
          found = this.folderPath(id);
        } catch {
          found = undefined; // an unreadable folder list: the ID stays, the log still lists
        }
        paths.set(id, found);
      }
      return paths.get(id);
    };
    return this.inner.list().map((e) => {
      const target = pathOf(e.target) ?? plainDetail(e.target);
      return {
        ...e,
        target,
        ...(e.detail === undefined ? {} : { detail: plainDetail(e.detail) }),
      };
    });
  }

  exportTo(destination: string, format: 'jsonl' | 'csv', filter: ActivityFilter): number {
    const entries = this.list().filter((e) => matchesFilter(e, filter));
    const text = serializeActivity(entries, format);
    // The user chose the destination in the save dialog (which asked before replacing a file): write it
    // whole through a temp beside it, so a failed write never leaves half an export under that name.
    const temp = path.join(path.dirname(destination), `.${path.basename(destination)}.${process.pid}.part`);
    fs.writeFileSync(temp, text, { mode: 0o600 });
    try {
      fs.renameSync(temp, destination);
    } catch (error) {
      fs.rmSync(temp, { force: true });
      throw error;
    }
    return entries.length;
  }
}
