/**
 * Issue 11 "Done when": the same planted customer data (valid values and invalid-checksum decoys,
 * electron/services/audit/testdata/fixtures.ts) in EVERY supported format, in the clear and inside a protected
 * folder, counted exactly by the real `coffer audit scan` with a real Secret Service. Inside the protected
 * folder each file is decrypted in memory only: no planted value appears anywhere on disk in the clear.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanReport } from '../electron/services/audit/types.js';
import {
  PLANTED_FINDINGS,
  PLANTED_PATTERNS,
  plantedFiles,
} from '../electron/services/audit/testdata/fixtures.js';
import { Laptop, NO_KEYRING, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI data-audit formats: ${NO_KEYRING}`);

describe.skipIf(NO_KEYRING !== null)(
  'coffer audit scan: every format, in the clear and protected',
  { timeout: 240_000 },
  () => {
    const work = fs.realpathSync(tempDir('data-audit-formats'));
    const clear = path.join(work, 'Downloads');
    const vault = path.join(work, 'Customers');
    const policyFile = path.join(work, 'policy.json');
    const laptop = new Laptop('data-audit-formats', { COFFER_POLICY_FILE: policyFile });
    let names: string[] = [];

    beforeAll(async () => {
      fs.mkdirSync(clear, { recursive: true });
      fs.mkdirSync(vault, { recursive: true });
      fs.writeFileSync(policyFile, JSON.stringify({ customerDataPatterns: PLANTED_PATTERNS }));
      const files = await plantedFiles();
      names = Object.keys(files).sort();
      for (const [name, bytes] of Object.entries(files)) {
        fs.writeFileSync(path.join(clear, name), bytes);
        fs.writeFileSync(path.join(vault, name), bytes);
      }
      const protect = await laptop.run(['protect', vault]);
      expect(protect.code, protect.stderr).toBe(0);
      expect(fs.readdirSync(vault).filter((n) => !n.endsWith('.coffer') && !n.startsWith('.'))).toEqual([]);
    });

    afterAll(() => {
      for (const d of [work, laptop.home]) fs.rmSync(d, { recursive: true, force: true });
    });

    it('counts the planted values exactly in each of the 13 formats, protected or not', async () => {
      expect(names).toHaveLength(13);
      const { result, doc } = await laptop.json<ScanReport>(['audit', 'scan', clear, vault]);
      expect(result.code, result.stderr).toBe(0);
      expect(doc.skipped).toEqual([]);
      const found = new Map(doc.files.map((f) => [f.path, f]));
      for (const name of names) {
        expect(found.get(path.join(clear, name)), name).toMatchObject({
          protected: false,
          findings: PLANTED_FINDINGS,
        });
        expect(found.get(path.join(vault, `${name}.coffer`)), `${name}.coffer`).toMatchObject({
          protected: true,
          findings: PLANTED_FINDINGS,
        });
      }
      expect(doc.files).toHaveLength(26);
      expect(doc.summary).toMatchObject({ unprotectedWithFindings: 13, protectedWithFindings: 13 });
      // Decrypted in memory only: no planted value sits in the clear in the protected folder.
      for (const entry of fs.readdirSync(vault)) {
        const bytes = fs.readFileSync(path.join(vault, entry));
        expect(bytes.includes('ann@example.com'), entry).toBe(false);
      }
    });
  },
);
