/** Whether a `.coffer` file opens (header and every chunk authentic) with the given identities. */
import fs from 'node:fs';
import { decryptFd } from '../../crypto/file.js';
import type { Identity } from '../../crypto/keys.js';
import type { SodiumBackend } from '../../crypto/sodium.js';

export function opens(sodium: SodiumBackend, file: string, identities: Identity[]): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    decryptFd(sodium, fd, null, identities);
    return true;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}
