/**
 * The state a kill -9 between a header pwrite and its flush leaves (FORMAT.md §8.1): a durable journal entry
 * for `file` and a header half overwritten by the new one, which then opens with no key until `recover`
 * writes the journalled header. The new header is for this device plus a helpdesk's key X (what a helpdesk
 * rekey writes); e2e/rewrap-kill.e2e.ts makes the same state by killing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readHeaderFd } from '../../crypto/file.js';
import { generateRecoveryKeyPair, type Identity, type Recipient } from '../../crypto/keys.js';
import type { SodiumBackend } from '../../crypto/sodium.js';
import { HeaderRewriter } from '../../electron/services/headers/header-rewriter.js';
import { writeJournal } from '../../electron/services/headers/journal.js';

function headerOf(file: string): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    return readHeaderFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Returns the helpdesk key X the journalled header adds. `scratch` is an empty folder for the side copy. */
export async function tearWithJournal(
  sodium: SodiumBackend,
  input: { file: string; journalDir: string; device: Identity & Recipient; scratch: string },
): Promise<ReturnType<typeof generateRecoveryKeyPair>> {
  const { file, journalDir, device, scratch } = input;
  const x = generateRecoveryKeyPair(sodium);
  const copy = path.join(scratch, 'copy.coffer');
  fs.copyFileSync(file, copy);
  const rewritten = await new HeaderRewriter({ sodium, journalDir: path.join(scratch, 'j') }).rewrap(
    copy,
    [device],
    [device, { kind: 'recovery', publicKey: x.publicKey }],
  );
  if (rewritten.outcome !== 'in-place')
    throw new Error(`expected an in-place rewrite, got ${rewritten.outcome}`);
  const newHeader = headerOf(copy);
  const oldHeader = headerOf(file);
  const stats = fs.statSync(file, { bigint: true });
  writeJournal(sodium, journalDir, device, [
    {
      path: file,
      dev: stats.dev.toString(),
      ino: stats.ino.toString(),
      size: Number(stats.size),
      oldHeader,
      newHeader,
    },
  ]);
  const torn = fs.readFileSync(file);
  torn.set(newHeader.subarray(0, 200), 0);
  fs.writeFileSync(file, torn);
  return x;
}
