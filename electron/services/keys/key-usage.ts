/**
 * Which device keys the user's files name (FORMAT.md §4: stanza key IDs are in the clear), read from the
 * headers alone, no key needed. `restore-device` shows them beside the key it restores, so a record for a
 * key that none of the user's files uses (a forged or wrong record) stands out before anything changes;
 * `coffer device-keys` shows which read-only keys files still need.
 */
import fs from 'node:fs';
import { inspectFd } from '../../../crypto/file.js';

export interface DeviceKeyUsage {
  /** Files whose header was read. */
  files: number;
  /** Files whose header could not be read (damaged, gone, unreadable). */
  unreadable: number;
  /** Device key ID → number of files with a stanza for it, most used first. */
  byKey: { keyId: string; files: number }[];
}

export function deviceKeyUsage(files: readonly string[]): DeviceKeyUsage {
  const counts = new Map<string, number>();
  let unreadable = 0;
  for (const file of files) {
    let ids: string[];
    try {
      // Never follow a link planted where a protected file was.
      const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      try {
        ids = inspectFd(fd).stanzas.flatMap((s) => (s.kind === 'device' ? [s.keyId] : []));
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      unreadable++;
      continue;
    }
    for (const id of new Set(ids)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return {
    files: files.length - unreadable,
    unreadable,
    byKey: [...counts.entries()]
      .map(([keyId, n]) => ({ keyId, files: n }))
      .sort((a, b) => b.files - a.files || a.keyId.localeCompare(b.keyId)),
  };
}
