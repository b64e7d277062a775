/**
 * Issue 10 item 3: never act outside the folder. A child process swaps folders of a protected folder for
 * symlinks to same-named folders outside it, at random moments, while protect and unprotect runs go on
 * (50 trials, alternating, like the kill test). After each trial nothing outside the root has changed
 * (the outside tree hashes the same) and nothing inside is lost (each original file is there as intact
 * plaintext or as a `.coffer` that decrypts to it).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { generateDeviceKey, type Identity, type Recipient } from '../crypto/keys.js';
import { defaultBackend } from '../crypto/sodium.js';
import { FolderService, lockDirIn } from '../electron/services/folders/folder-service.js';
import { WorkerPool } from '../electron/services/folders/pool.js';
import { FolderRegistry } from '../electron/services/folders/registry.js';
import { SafeFiles } from '../electron/services/safe-file.js';

const TRIALS = Number(process.env.COFFER_SWAP_TRIALS ?? 50);
const root = mkdtempSync(join(tmpdir(), 'coffer-swap-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Every entry under `dir` (not following links) with its kind, mode and content hash. */
function treeHash(dir: string): string {
  const lines: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const stats = statSync(path, { throwIfNoEntry: true });
      if (stats.isDirectory()) {
        lines.push(`d ${relative(dir, path)}`);
        walk(path);
      } else lines.push(`f ${relative(dir, path)} ${stats.mode} ${sha(readFileSync(path))}`);
    }
  };
  walk(dir);
  return lines.join('\n');
}

it(`never touches anything outside the folder while folders are swapped for symlinks (${TRIALS} trials)`, async () => {
  const sodium = await defaultBackend();
  const key = generateDeviceKey(sodium);
  const data = join(root, 'data');
  const outside = join(root, 'outside');
  const home = join(root, 'home');
  const dirs = ['a', 'b', 'a/deep'];
  const originals = new Map<string, string>();
  for (const base of [data, outside])
    for (const dir of dirs) {
      mkdirSync(join(base, dir), { recursive: true });
      for (let i = 0; i < 12; i++) {
        const content = randomBytes(512 + i * 300);
        writeFileSync(join(base, dir, `f${i}.txt`), content);
        if (base === data) originals.set(join(dir, `f${i}.txt`), sha(content));
      }
    }
  const outsideBefore = treeHash(outside);

  const pool = new WorkerPool({ backend: sodium.name, size: 2 });
  const keys = {
    recipients: (): Promise<Recipient[]> => Promise.resolve([{ kind: 'device', key: new Uint8Array(key) }]),
    identities: (): Promise<Identity[]> => Promise.resolve([{ kind: 'device', key: new Uint8Array(key) }]),
  };
  const service = new FolderService({
    registry: FolderRegistry.inHome(home),
    keys,
    pool: () => pool,
    lockDir: lockDirIn(home),
    retryDelayMs: 10,
  });
  const files = new SafeFiles(sodium);
  const decryptedSha = (path: string): string => {
    const out = mkdtempSync(join(root, 'check-'));
    const { target } = files.decryptTo(path, { identities: [{ kind: 'device', key }], outDir: out });
    const digest = sha(readFileSync(target));
    rmSync(out, { recursive: true });
    return digest;
  };

  const swapper = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'helpers', 'dir-swapper.ts'), data, outside, ...dirs],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: swapper.stdout });
  const nextLine = (): Promise<string> => new Promise((resolve) => lines.once('line', resolve));
  let swaps = 0;
  try {
    expect(await nextLine()).toBe('ready');
    for (let t = 0; t < TRIALS; t++) {
      swapper.stdin.write('go\n');
      // Let the swapping start at a random moment relative to the run.
      await new Promise((r) => setTimeout(r, Math.random() * 20));
      if (t % 2 === 0) await service.protect(data);
      else await service.unprotect(data);
      const stopped = nextLine();
      swapper.stdin.write('stop\n');
      swaps = Number((await stopped).split(' ')[1]);

      expect(treeHash(outside), `trial ${t}: the outside tree is unchanged`).toBe(outsideBefore);
      for (const [name, digest] of originals) {
        const plain = join(data, name);
        const names = readdirSync(join(data, name, '..'));
        const base = name.split('/').pop() ?? '';
        const hasPlain = names.includes(base);
        const hasProtected = names.includes(base + '.coffer');
        expect(hasPlain || hasProtected, `trial ${t}: ${name} lost`).toBe(true);
        if (hasPlain) expect(sha(readFileSync(plain)), `trial ${t}: ${name} intact`).toBe(digest);
        if (hasProtected) expect(decryptedSha(plain + '.coffer'), `trial ${t}: ${name}.coffer`).toBe(digest);
      }
    }
  } finally {
    swapper.kill('SIGKILL');
    await pool.close();
  }
  console.log(`symlink-swap test: ${TRIALS} trials, ${swaps} swaps`);
  expect(swaps).toBeGreaterThan(TRIALS);
}, 240_000);
