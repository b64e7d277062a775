/**
 * Issue #4 item 3: kill -9 a process running a protect (or unprotect) at random moments, many times, and
 * check after every kill that each original file survives exactly once — as intact plaintext, or as a
 * `.coffer` that decrypts to it — and that a re-run finishes. Runs alternate protect and unprotect over
 * the same files, so later trials also start from the leftovers of the previous kill.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { generateDeviceKey } from '../crypto/keys.js';
import { loadBackend } from '../crypto/sodium.js';
import { decryptedSha as decryptedShaOf } from './helpers/decrypted-sha.js';
import { runKilledAfterReady } from './helpers/kill-child.js';
import { tempBase } from './helpers/temp-base.js';

const TRIALS = Number(process.env.COFFER_KILL_TRIALS ?? 60);
const LANES = 3; // independent folders killed in parallel, to fit many trials in the time
const root = tempBase('coffer-kill-');

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function runChild(
  op: string,
  folder: string,
  home: string,
  keyHex: string,
  killAfterMs: number | null,
): Promise<{ out: string; runMs: number }> {
  const end = await runKilledAfterReady(
    join(import.meta.dirname, 'folders-child.ts'),
    [op, folder, home],
    { ...process.env, COFFER_TEST_DEVICE_KEY: keyHex },
    killAfterMs,
  );
  if (end.signal === 'SIGKILL' || end.code === 0) return { out: end.out, runMs: end.exitedAt - end.readyAt };
  throw new Error(`child exited ${end.code}: ${end.err}`);
}

it(`survives kill -9 at random moments (${TRIALS} trials)`, async () => {
  const sodium = await loadBackend('wasm');
  const key = generateDeviceKey(sodium);
  const keyHex = Buffer.from(key).toString('hex');
  // Authenticates the whole file (FORMAT.md §5.3) and hashes the plaintext, in memory: no fsyncs.
  const decryptedSha = (path: string): string => decryptedShaOf(sodium, path, [{ kind: 'device', key }]);

  let killedMidRun = 0;

  const lane = async (laneNo: number, trials: number): Promise<void> => {
    const folder = join(root, `lane${laneNo}`, 'data');
    const home = join(root, `lane${laneNo}`, 'home');
    mkdirSync(folder, { recursive: true });
    const originals = new Map<string, string>();
    for (let i = 0; i < 120; i++) {
      const size = i % 40 === 0 ? 2 * 1024 * 1024 + i : 1024 + ((i * 7919) % (63 * 1024));
      const data = randomBytes(size);
      const name = `f${i}.bin`;
      writeFileSync(join(folder, name), data);
      originals.set(name, sha(data));
    }
    const check = (): void => {
      const names = readdirSync(folder);
      // Temporary files may be left (a batch's worth per worker): they are garbage, never the only copy of
      // anything, and the re-run below must remove them all.
      for (const temp of names.filter((n) => n.includes('.tmp-'))) {
        const of = temp.slice(0, temp.lastIndexOf('.coffer.tmp-')).replace(/\.coffer$/, '');
        expect(originals.has(of), `${temp} belongs to a file`).toBe(true);
      }
      for (const [name, digest] of originals) {
        const plain = names.includes(name);
        const prot = names.includes(name + '.coffer');
        expect(plain || prot, `${name} lost`).toBe(true);
        if (plain) expect(sha(readFileSync(join(folder, name)))).toBe(digest);
        if (prot)
          expect(decryptedSha(join(folder, name + '.coffer')), `${name}.coffer decrypts to it`).toBe(digest);
      }
    };
    // Kill moments are drawn over the length of the last full run of the same kind, so that most kills
    // land mid-run however fast or loaded the machine is.
    const runLength = { protect: 700, unprotect: 700 };
    for (let t = 0; t < trials; t++) {
      const op = t % 2 === 0 ? 'protect' : 'unprotect';
      const { out, runMs } = await runChild(op, folder, home, keyHex, Math.random() * runLength[op]);
      if (out.includes('{')) runLength[op] = runMs;
      else killedMidRun++;
      check();
    }
    // A re-run finishes: everything protected, no leftovers.
    await runChild('protect', folder, home, keyHex, null);
    check();
    const names = readdirSync(folder).sort();
    expect(names).toEqual([...originals.keys()].map((n) => n + '.coffer').sort());
  };

  const started = Date.now();
  await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i, Math.ceil(TRIALS / LANES))));
  console.log(
    `kill test: ${Math.ceil(TRIALS / LANES) * LANES} trials, ${killedMidRun} killed mid-run, ${Date.now() - started} ms`,
  );
  expect(killedMidRun).toBeGreaterThan(TRIALS / 3);
}, 180_000);
