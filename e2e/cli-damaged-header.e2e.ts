/**
 * Issue 9 item 8 (FORMAT.md §4): a file whose stanza for this device's key does not open under that key
 * is reported as a damaged header (HEADER_AUTH_FAILED), not as a file for another key (NO_MATCHING_KEY,
 * "use another key"), by the real CLI against the real keychain; the file is left as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

if (NO_KEYRING) console.log(`SKIP cli-damaged-header: ${NO_KEYRING}`);

describe.skipIf(NO_KEYRING !== null)('a damaged device stanza', () => {
  it('is a damaged header, not "use another key"', async () => {
    const laptop = new Laptop('damaged');
    dirs.push(laptop.home);
    const data = tempDir('damaged-data');
    dirs.push(data);
    expect((await laptop.run(['init'])).code).toBe(0);
    const plain = path.join(data, 'report.txt');
    fs.writeFileSync(plain, 'quarterly numbers\n');
    const enc = await laptop.run(['encrypt', plain]);
    expect(enc.code, enc.stderr).toBe(0);
    const file = `${plain}.coffer`;
    const bytes = fs.readFileSync(file);
    expect(bytes[18]).toBe(1); // the first stanza is this device's (FORMAT.md §4)
    bytes[18 + 11 + 30] = (bytes[18 + 11 + 30] ?? 0) ^ 0x01; // inside its wrapped file key
    fs.writeFileSync(file, bytes);

    const dec = await laptop.json<{ failures?: { code: string; message: string }[] }>([
      'decrypt',
      '-o',
      path.join(data, 'out.txt'),
      file,
    ]);

    expect(dec.result.code).not.toBe(0);
    const text = `${dec.result.stdout}\n${dec.result.stderr}`;
    expect(text).toContain('HEADER_AUTH_FAILED');
    expect(text).toMatch(/damaged/);
    expect(text).not.toContain('NO_MATCHING_KEY');
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(fs.existsSync(path.join(data, 'out.txt'))).toBe(false);
  }, 60_000);
});
