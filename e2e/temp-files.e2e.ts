/**
 * Issue 10 item 8 (temp files): a `decrypt -o` killed mid-write leaves a plaintext temp that only its
 * owner can read (0600), and the next start of Coffer (any CLI command) removes it, because the temp
 * journal in app data proves Coffer made it; a user's file that is merely named like a temp file is left
 * alone.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { generateDeviceKey } from '../crypto/keys.js';
import { defaultBackend } from '../crypto/sodium.js';
import { SafeFiles } from '../electron/services/safe-file.js';
import { Laptop, NO_KEYRING, ROOT, tempDir } from './cli-harness.js';

it('a killed decrypt -o leaves a 0600 temp that the next start removes; a look-alike user file stays', async (context) => {
  if (NO_KEYRING) {
    console.warn(`skipped: ${NO_KEYRING}`);
    context.skip();
  }
  const sodium = await defaultBackend();
  const key = generateDeviceKey(sodium);
  const work = tempDir('temps');
  const source = join(work, 'payroll.xlsx');
  writeFileSync(source, sodium.randomBytes(4 * 1024 * 1024));
  chmodSync(source, 0o644);
  new SafeFiles(sodium).encryptInPlace(source, {
    recipients: [{ kind: 'device', key }],
    identities: [{ kind: 'device', key }],
    keep: true,
  });
  const out = join(work, 'out');
  mkdirSync(out);
  const lookalike = join(out, 'notes.txt.coffer.tmp-0123456789ab');
  writeFileSync(lookalike, 'my own notes, oddly named');

  const laptop = new Laptop('temps');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'e2e', 'helpers', 'decrypt-child.ts'),
      source + '.coffer',
      join(out, 'payroll.xlsx'),
      laptop.home,
    ],
    {
      env: { ...process.env, COFFER_TEST_DEVICE_KEY: Buffer.from(key).toString('hex') },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('writing')) resolve();
    });
    child.on('exit', (code) => {
      reject(new Error(`the child ended before it was killed (${code})`));
    });
  });
  const killed = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await killed;

  const leftovers = readdirSync(out).filter((n) => n.startsWith('payroll.xlsx.coffer.tmp-'));
  expect(leftovers).toHaveLength(1);
  expect(statSync(join(out, leftovers[0] ?? '')).mode & 0o777, 'a plaintext temp only its owner reads').toBe(
    0o600,
  );

  // The next start: any command that builds the services.
  const result = await laptop.run(['status']);
  expect(result.stderr).not.toMatch(/INTERNAL/);
  expect(readdirSync(out).sort()).toEqual(['notes.txt.coffer.tmp-0123456789ab']);
  expect(readFileSync(lookalike, 'utf8')).toBe('my own notes, oddly named');
}, 120_000);
