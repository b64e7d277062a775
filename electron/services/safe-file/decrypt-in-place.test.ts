/**
 * SafeFiles.decryptManyInPlace (the batched unprotect, issue 10 item 9) keeps every rule of the
 * single-file decryptTo with removeSource: the plaintext takes its name only whole, never replaces a file,
 * gets its stored mode (never a readable temp), and a `.coffer` goes only if it is still the file read.
 * Real files, real keys; one file's problem never stops the others.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { useDeviceKey } from '../../../e2e/helpers/device-key.js';
import { restoredMode } from '../restore-rules.js';
import { SafeFiles, TempJournal } from '../safe-file.js';

let sodium: SodiumBackend;
let key: Uint8Array;
let base: string;
let n = 0;
const fresh = (): string => {
  const dir = join(base, `t${n++}`);
  mkdirSync(dir);
  return dir;
};

const deviceKey = useDeviceKey();
beforeAll(() => {
  ({ sodium } = deviceKey);
  key = deviceKey.device.key;
  base = deviceKey.tempDir('coffer-decrypt-many-');
});

const device = () => ({ kind: 'device' as const, key });

function protect(files: SafeFiles, path: string, content: string, mode = 0o644): void {
  writeFileSync(path, content);
  chmodSync(path, mode);
  files.encryptInPlace(path, { recipients: [device()], identities: [device()] });
}

it('brings every file of a batch back with its content and mode, removes the .coffer files and leaves no temp', () => {
  const dir = fresh();
  const journalDir = join(base, `journal-${n}`);
  const files = new SafeFiles(sodium, { graceMs: 0, tempJournal: new TempJournal(journalDir) });
  const modes = [0o600, 0o640, 0o755];
  modes.forEach((mode, i) => {
    protect(files, join(dir, `f${i}.txt`), `content ${i} `.repeat(1000 * (i + 1)), mode);
  });
  const results = files.decryptManyInPlace(
    modes.map((_, i) => join(dir, `f${i}.txt.coffer`)),
    { identities: [device()], roots: [dir] },
  );
  expect(results.map((r) => r.ok)).toEqual([true, true, true]);
  modes.forEach((mode, i) => {
    const path = join(dir, `f${i}.txt`);
    expect(readFileSync(path, 'utf8')).toBe(`content ${i} `.repeat(1000 * (i + 1)));
    expect(statSync(path).mode & 0o777).toBe(restoredMode(mode));
  });
  expect(readdirSync(dir).sort()).toEqual(['f0.txt', 'f1.txt', 'f2.txt']);
  // Every temp was journaled (so a crash mid-batch leaves only temps the next start can prove are ours).
  const journal = readdirSync(journalDir).map((name) => readFileSync(join(journalDir, name), 'utf8'));
  expect(journal.join('').split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(3);
});

it('keeps a .coffer replaced by a newer version while the batch decrypts it; the other files go on', () => {
  const dir = fresh();
  const incoming = fresh();
  const files = new SafeFiles(sodium, { graceMs: 0 });
  protect(files, join(dir, 'a.txt'), 'a '.repeat(1000));
  protect(files, join(dir, 'plan.txt'), 'v1 '.repeat(700_000));
  protect(files, join(incoming, 'plan.txt'), 'v2, saved on the other laptop');
  let swapped = false;
  const results = files.decryptManyInPlace([join(dir, 'plan.txt.coffer'), join(dir, 'a.txt.coffer')], {
    identities: [device()],
    roots: [dir],
    progressFor: (path) => ({
      // A sync client saves the newer version over it (by rename) while the batch reads it.
      onProgress: () => {
        if (swapped || !path.endsWith('plan.txt.coffer')) return;
        swapped = true;
        renameSync(join(incoming, 'plan.txt.coffer'), join(dir, 'plan.txt.coffer'));
      },
    }),
  });
  expect(swapped).toBe(true);
  const [plan, a] = results;
  expect(plan?.ok).toBe(false);
  expect(plan && !plan.ok && plan.error.code).toBe('SOURCE_CHANGED');
  expect(a?.ok).toBe(true);
  // The newer version is still there and opens; the plaintext read first stays beside it.
  const newer = new SafeFiles(sodium, { graceMs: 0 });
  expect(newer.verify(join(dir, 'plan.txt.coffer'), [device()]).size).toBe(
    Buffer.byteLength('v2, saved on the other laptop'),
  );
  expect(readFileSync(join(dir, 'plan.txt'), 'utf8')).toBe('v1 '.repeat(700_000));
  expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('a '.repeat(1000));
  expect(existsSync(join(dir, 'a.txt.coffer'))).toBe(false);
});

it('never replaces an existing file, and refuses a folder that leads outside the root; nothing touched', () => {
  const dir = fresh();
  const outside = fresh();
  const files = new SafeFiles(sodium, { graceMs: 0 });
  protect(files, join(dir, 'taken.txt'), 'secret');
  writeFileSync(join(dir, 'taken.txt'), 'a file the user made since');
  protect(files, join(outside, 'far.txt'), 'outside');
  symlinkSync(outside, join(dir, 'link'));
  protect(files, join(dir, 'fine.txt'), 'fine');
  const results = files.decryptManyInPlace(
    [join(dir, 'taken.txt.coffer'), join(dir, 'link', 'far.txt.coffer'), join(dir, 'fine.txt.coffer')],
    { identities: [device()], roots: [dir] },
  );
  expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual([
    'ALREADY_EXISTS',
    'OUTSIDE_FOLDER',
    'ok',
  ]);
  expect(readFileSync(join(dir, 'taken.txt'), 'utf8')).toBe('a file the user made since');
  expect(existsSync(join(dir, 'taken.txt.coffer'))).toBe(true);
  expect(readdirSync(outside).sort()).toEqual(['far.txt.coffer']);
  expect(readdirSync(dir).sort()).toEqual(['fine.txt', 'link', 'taken.txt', 'taken.txt.coffer']);
});
