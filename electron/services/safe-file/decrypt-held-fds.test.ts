/**
 * Review of 4e3786c (unprotect's syscall cuts): the stored mode is applied through the temp's kept
 * descriptor for the first 64 files of a batch and by reopening the name for the rest. A batch of 150
 * (both paths, mixed modes): every file whole with its stored mode, nothing left 0600 that was not, no temp
 * left, no descriptor left open, and the journal, compacted, holds no line (every temp marked gone).
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { useDeviceKey } from '../../../e2e/helpers/device-key.js';
import { restoredMode } from '../restore-rules.js';
import { SafeFiles, TempJournal } from '../safe-file.js';

let sodium: SodiumBackend;
let key: Uint8Array;
let base: string;
const deviceKey = useDeviceKey();
beforeAll(() => {
  ({ sodium } = deviceKey);
  key = deviceKey.device.key;
  base = deviceKey.tempDir('coffer-held-fds-');
});
const device = () => ({ kind: 'device' as const, key });
const openFds = (): number => readdirSync('/proc/self/fd').length;

it.runIf(process.platform === 'linux')(
  'a batch of 150 (over the 64 kept descriptors) gets every stored mode back, leaves no temp, descriptor or journal line',
  () => {
    const dir = join(base, 'batch');
    mkdirSync(dir);
    const journalDir = join(base, 'journal');
    const journal = new TempJournal(journalDir);
    const files = new SafeFiles(sodium, { graceMs: 0, tempJournal: journal });
    const modes = [0o640, 0o755, 0o600, 0o644, 0o400];
    const count = 150;
    for (let i = 0; i < count; i++) {
      const path = join(dir, `f${i}.txt`);
      writeFileSync(path, `content ${i}\n`.repeat(i + 1));
      chmodSync(path, modes[i % modes.length] ?? 0o644);
      files.encryptInPlace(path, { recipients: [device()], identities: [device()] });
    }
    const before = openFds();
    const paths = Array.from({ length: count }, (_, i) => join(dir, `f${i}.txt.coffer`));
    const results = files.decryptManyInPlace(paths, { identities: [device()], roots: [dir] });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(openFds()).toBeLessThanOrEqual(before + 2); // the journal's own descriptor, a verified folder
    for (let i = 0; i < count; i++) {
      const path = join(dir, `f${i}.txt`);
      expect(readFileSync(path, 'utf8')).toBe(`content ${i}\n`.repeat(i + 1));
      expect(statSync(path).mode & 0o7777, path).toBe(restoredMode(modes[i % modes.length] ?? 0o644));
    }
    expect(readdirSync(dir).length).toBe(count);
    journal.compact();
    const lines = readdirSync(journalDir)
      .map((name) => readFileSync(join(journalDir, name), 'utf8'))
      .join('')
      .split('\n')
      .filter(Boolean);
    expect(lines).toEqual([]);
    journal.close();
  },
  60_000,
);
