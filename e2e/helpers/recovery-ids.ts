/**
 * The recovery key IDs a protected file's header names (FORMAT.md §4.1 stanzas), sorted: what the rotation
 * and rekey tests compare against the current key set (e2e/cli-rotation-attacks.e2e.ts,
 * electron/services/keys/rekey.test.ts). Reads the header only; no key needed.
 */
import fs from 'node:fs';
import { inspectFd } from '../../crypto/file.js';

export function recoveryIds(file: string): string[] {
  const fd = fs.openSync(file, 'r');
  try {
    return inspectFd(fd)
      .stanzas.flatMap((s) => (s.kind === 'recovery' ? [s.keyId] : []))
      .sort();
  } finally {
    fs.closeSync(fd);
  }
}
