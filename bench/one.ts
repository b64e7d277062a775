/**
 * One measured Coffer operation in its own process, so that its peak RSS is its own:
 *   node --import tsx bench/one.ts <enc|dec|enc-dir|dec-dir> <wasm|native> <in> <out> <keyfile> [chunkSize]
 * Prints {"seconds":…} on stdout. The time covers the operation, not Node's start-up.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptFd, encryptFd } from '../crypto/file.js';
import type { Identity, Recipient } from '../crypto/keys.js';
import { loadBackend, type BackendName } from '../crypto/sodium.js';

const [op, backendName, input, output, keyFile, chunkArg] = process.argv.slice(2);
if (!op || !backendName || !input || !output || !keyFile)
  throw new Error('usage: one.ts op backend in out keyfile [chunk]');
const sodium = await loadBackend(backendName as BackendName);
const keys = JSON.parse(readFileSync(keyFile, 'utf8')) as { device: string; recoveryPublic: string };
const device: Identity & Recipient = { kind: 'device', key: new Uint8Array(Buffer.from(keys.device, 'hex')) };
// A real file carries a recovery stanza too: include its cost.
const recipients: Recipient[] = [
  device,
  { kind: 'recovery', publicKey: new Uint8Array(Buffer.from(keys.recoveryPublic, 'hex')) },
];
const chunkSize = chunkArg ? Number(chunkArg) : undefined;

function encryptOne(from: string, to: string): void {
  const inFd = openSync(from, 'r');
  const outFd = openSync(to, 'w');
  try {
    encryptFd(sodium, inFd, outFd, { recipients, name: 'f', ...(chunkSize ? { chunkSize } : {}) });
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
}

function decryptOne(from: string, to: string): void {
  const inFd = openSync(from, 'r');
  const outFd = openSync(to, 'w');
  try {
    decryptFd(sodium, inFd, outFd, [device]);
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
}

const started = performance.now();
if (op === 'enc') encryptOne(input, output);
else if (op === 'dec') decryptOne(input, output);
else {
  mkdirSync(output, { recursive: true });
  for (const name of readdirSync(input))
    (op === 'enc-dir' ? encryptOne : decryptOne)(join(input, name), join(output, name));
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds }));
