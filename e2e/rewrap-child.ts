/**
 * Child of e2e/rewrap-kill.e2e.ts: re-wraps every `.coffer` file of a folder back and forth between two
 * recovery key sets, forever (until killed), through the real HeaderRewriter: batches and single files.
 *   node --import tsx e2e/rewrap-child.ts <folder> <journalDir>
 * Keys come from the environment (test keys only): COFFER_TEST_DEVICE_KEY, COFFER_TEST_ORG_A, COFFER_TEST_ORG_B
 * (public keys), all hex.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity, Recipient } from '../crypto/keys.js';
import { loadBackend } from '../crypto/sodium.js';
import { HeaderRewriter } from '../electron/services/headers/header-rewriter.js';

const [folder, journalDir] = process.argv.slice(2);
if (!folder || !journalDir) throw new Error('usage: rewrap-child.ts folder journalDir');
const hexEnv = (name: string) => new Uint8Array(Buffer.from(process.env[name] ?? '', 'hex'));
const sodium = await loadBackend('wasm');
const device: Identity & Recipient = { kind: 'device', key: hexEnv('COFFER_TEST_DEVICE_KEY') };
const sets: Recipient[][] = [
  [device, { kind: 'recovery', publicKey: hexEnv('COFFER_TEST_ORG_A') }],
  [device, { kind: 'recovery', publicKey: hexEnv('COFFER_TEST_ORG_B') }],
];
const rewriter = new HeaderRewriter({ sodium, journalDir });
const files = readdirSync(folder)
  .filter((n) => n.endsWith('.coffer'))
  .map((n) => join(folder, n));
process.stdout.write('ready\n');
for (let round = 1; ; round++) {
  const recipients = sets[round % 2] ?? [];
  if (round % 3 === 0) {
    for (const file of files) await rewriter.rewrap(file, [device], recipients);
  } else {
    const results = await rewriter.rewrapMany(files, [device], recipients);
    const failed = results.filter((r) => 'error' in r);
    if (failed.length > 0) throw new Error(JSON.stringify(failed));
  }
  process.stdout.write(`round ${round}\n`);
}
