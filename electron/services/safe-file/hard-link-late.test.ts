/**
 * Issue 10 item 4 (review): hard links are reported, never claimed protected. The walk (folders/walk.ts)
 * and `coffer encrypt` (assertSingleLink) look at the link count by path, before the file is read; a
 * streamed folder run reads a chunk's files seconds or minutes after walking it. A name added in between
 * kept the content in the clear while the run counted the file protected. The removal itself (SafeFiles)
 * now refuses a plaintext that has another name: HARD_LINK, plaintext kept, no ciphertext left beside it.
 */
import { existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { Identity } from '../../../crypto/keys.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { SafeFiles } from './index.js';
import { useDeviceKey } from '../../../e2e/helpers/device-key.js';

let sodium: SodiumBackend;
let device: Identity & { kind: 'device' };
let root: string;

const key = useDeviceKey();
beforeAll(() => {
  ({ sodium, device } = key);
  root = key.tempDir('coffer-hard-link-');
});

it('a plaintext given another name after the walk is kept and reported HARD_LINK, not protected', () => {
  const dir = mkdtempSync(join(root, 'f-'));
  const file = join(dir, 'report.txt');
  writeFileSync(file, 'salary table');
  // Made after the walk looked (nlink 1 then), before the batch reads the file.
  linkSync(file, join(dir, 'backup-of-report.txt'));
  const files = new SafeFiles(sodium, { graceMs: 100 });
  const keys = { recipients: [device], identities: [device] };
  const [result] = files.encryptManyInPlace([file], keys);
  files.settle();
  expect(result?.ok, 'claimed protected while another name keeps it in the clear').toBe(false);
  expect(result?.ok === false ? result.error.code : undefined).toBe('HARD_LINK');
  expect(existsSync(file)).toBe(true);
  expect(readFileSync(file, 'utf8')).toBe('salary table');
  expect(readdirSync(dir).sort()).toEqual(['backup-of-report.txt', 'report.txt']);
});
