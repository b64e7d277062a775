/**
 * Issue 9 item 6: kill -9 a process re-wrapping headers in place (FORMAT.md §8.1) at random moments. After
 * every kill each file must open with the device key to its exact content and carry the old or the new
 * recovery key set, never anything else; `recover` must then finish what the journal holds, refuse nothing,
 * and leave the journal empty.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { encryptFd, inspectFd } from '../crypto/file.js';
import { formatKeyId, generateDeviceKey, keyIdOf, type Identity, type Recipient } from '../crypto/keys.js';
import { EncryptSession } from '../crypto/session.js';
import { loadBackend } from '../crypto/sodium.js';
import { HeaderRewriter } from '../electron/services/headers/header-rewriter.js';
import { decryptedSha } from './helpers/decrypted-sha.js';
import { runKilledAfterReady } from './helpers/kill-child.js';
import { tempBase } from './helpers/temp-base.js';

const TRIALS = Number(process.env.COFFER_KILL_TRIALS ?? 30);
const root = tempBase('coffer-rewrap-kill-');

const sha = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

async function runChild(
  folder: string,
  journalDir: string,
  env: Record<string, string>,
  killAfterMs: number,
): Promise<{ rounds: number }> {
  const end = await runKilledAfterReady(
    join(import.meta.dirname, 'rewrap-child.ts'),
    [folder, journalDir],
    { ...process.env, ...env },
    killAfterMs,
  );
  if (end.signal === 'SIGKILL') return { rounds: (end.out.match(/^round /gm) ?? []).length };
  throw new Error(`child ended without being killed: ${end.err}`);
}

it(`re-wraps headers in place through kill -9 at random moments (${TRIALS} trials)`, async () => {
  const sodium = await loadBackend('wasm');
  const device: Identity & Recipient = { kind: 'device', key: generateDeviceKey(sodium) };
  const orgA = sodium.boxKeypair();
  const orgB = sodium.boxKeypair();
  const setOf = (pk: Uint8Array) =>
    [
      `device:${formatKeyId(keyIdOf(sodium, device))}`,
      `recovery:${formatKeyId(keyIdOf(sodium, { kind: 'recovery', publicKey: pk }))}`,
    ].sort();
  const setA = setOf(orgA.publicKey);
  const setB = setOf(orgB.publicKey);

  const folder = join(root, 'data');
  const journalDir = join(root, 'journal');
  mkdirSync(folder, { recursive: true });
  mkdirSync(journalDir, { recursive: true });
  const originals = new Map<string, string>();
  for (let i = 0; i < 60; i++) {
    const size = i === 0 ? 8 * 1024 * 1024 : 1024 + ((i * 7919) % (63 * 1024));
    const data = randomBytes(size);
    const path = join(folder, `f${i}.coffer`);
    originals.set(path, sha(data));
    const recipients: Recipient[] = [device, { kind: 'recovery', publicKey: orgA.publicKey }];
    if (i % 20 === 1) {
      // A file from before reserved header room: its first rewrap is a copy.
      const session = new EncryptSession(sodium, {
        recipients,
        metadata: { name: `f${i}`, size, mode: 0o600, mtimeMs: 1 },
        reserveRoom: false,
      });
      const parts = [Buffer.from(session.start())];
      for (let at = 0; !session.done;) {
        const n = session.nextChunkLength();
        parts.push(Buffer.from(session.push(data.subarray(at, at + n))));
        at += n;
      }
      writeFileSync(path, Buffer.concat(parts));
    } else {
      const source = join(root, 'source');
      writeFileSync(source, data);
      const inFd = openSync(source, 'r');
      const outFd = openSync(path, 'w');
      encryptFd(sodium, inFd, outFd, { recipients, name: `f${i}` });
      closeSync(inFd);
      closeSync(outFd);
    }
  }

  const check = (): void => {
    for (const [path, digest] of originals) {
      const inspectAt = openSync(path, 'r');
      const keys = inspectFd(inspectAt)
        .stanzas.map((s) => `${s.kind}:${s.keyId}`)
        .sort();
      closeSync(inspectAt);
      expect([setA, setB], `${path} carries the old or the new key set`).toContainEqual(keys);
      expect(decryptedSha(sodium, path, [device]), `${path} opens to its content`).toBe(digest);
    }
  };

  const env = {
    COFFER_TEST_DEVICE_KEY: Buffer.from(device.key).toString('hex'),
    COFFER_TEST_ORG_A: Buffer.from(orgA.publicKey).toString('hex'),
    COFFER_TEST_ORG_B: Buffer.from(orgB.publicKey).toString('hex'),
  };
  const rewriter = new HeaderRewriter({ sodium, journalDir });
  let recoveredFiles = 0;
  let journalsFound = 0;
  let rounds = 0;
  for (let t = 0; t < TRIALS; t++) {
    const killed = await runChild(folder, journalDir, env, 50 + Math.random() * 600);
    rounds += killed.rounds;
    check(); // before recover: a kill never leaves a file that does not open
    if (readdirSync(journalDir).some((n) => n.endsWith('.journal'))) journalsFound++;
    const report = await rewriter.recover([device]);
    expect(report.refused).toEqual([]);
    recoveredFiles += report.completed.length + report.alreadyDone.length;
    expect(readdirSync(journalDir).filter((n) => n.endsWith('.journal'))).toEqual([]);
    check();
  }
  // Temporary files of an interrupted copy are garbage (never the only copy); nothing else was added.
  const extra = readdirSync(folder).filter((n) => !originals.has(join(folder, n)));
  for (const name of extra) expect(name).toMatch(/\.coffer\.tmp-[0-9a-f]{12}$/);
  console.log(
    `rewrap kill test: ${TRIALS} kills, ${rounds} rounds completed, ${journalsFound} kills left a journal, ${recoveredFiles} entries recovered`,
  );
  expect(rounds).toBeGreaterThan(0);
  expect(journalsFound).toBeGreaterThan(0);
}, 300_000);
