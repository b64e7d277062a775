/**
 * RekeyService (issue 9 item 5) over real files, real libsodium and the real HeaderRewriter: the rekeyed
 * file carries this device, the key that opened it and the current set; and when the set changes while the
 * rekey runs (an untrust whose rotation may have listed the files before they were written), the files end
 * with the set of the moment they were finished, never with the retired key (R4 review).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDeviceKey, type Recipient } from '../../../crypto/keys.js';
import { loadBackend } from '../../../crypto/sodium.js';
import { HeaderRewriter } from '../headers/header-rewriter.js';
import { SafeFiles } from '../safe-file.js';
import { RekeyService } from './rekey.js';
import { currentRecoveryKeyIds } from './rotation.js';
import { recoveryIds } from '../../../e2e/helpers/recovery-ids.js';

const sodium = await loadBackend('wasm');
const tmp = (label: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `coffer-rekey-${label}-`));

const idOf = (publicKey: Uint8Array): string => currentRecoveryKeyIds(sodium, [publicKey], [])[0] ?? '';

describe('RekeyService', () => {
  it('keeps the opening key, adds the current set, and follows a set changed while it ran', async () => {
    const folder = tmp('files');
    const home = tmp('home');
    const lostDevice = generateDeviceKey(sodium);
    const device = generateDeviceKey(sodium);
    const opener = sodium.boxKeypair();
    const r1 = sodium.boxKeypair();
    const r2 = sodium.boxKeypair();
    // Files from a lost laptop: its device key and the helpdesk's key.
    const safeFiles = new SafeFiles(sodium);
    const files = ['a.txt', 'b.txt'].map((name) => {
      const file = path.join(folder, name);
      fs.writeFileSync(file, `content of ${name}\n`);
      return safeFiles.encryptInPlace(file, {
        recipients: [
          { kind: 'device', key: lostDevice },
          { kind: 'recovery', publicKey: opener.publicKey },
        ],
        identities: [{ kind: 'device', key: lostDevice }],
      }).target;
    });
    // The set is {R1} when the rekey starts; R1 is untrusted before it ends.
    let current = [r1.publicKey];
    let calls = 0;
    const rekey = new RekeyService({
      sodium,
      recipients: (extra) => {
        const set: Recipient[] = [
          { kind: 'device', key: device.slice() },
          ...extra,
          ...current.map((publicKey): Recipient => ({ kind: 'recovery', publicKey })),
        ];
        if (++calls === 1) current = [r2.publicKey];
        return Promise.resolve(set);
      },
      rewriter: new HeaderRewriter({ sodium, journalDir: path.join(home, 'journal') }),
    });
    const results = await rekey.rekey(files, { kind: 'recovery', ...opener });
    expect(results.filter((r) => 'error' in r)).toEqual([]);
    for (const file of files)
      expect(recoveryIds(file)).toEqual([idOf(opener.publicKey), idOf(r2.publicKey)].sort());
    // And with no change meanwhile, one pass: the opening key and the current set.
    const again = await rekey.rekey(files, { kind: 'recovery', ...opener });
    expect(again.map((r) => ('error' in r ? r.error.code : r.outcome))).toEqual(['unchanged', 'unchanged']);
  });
});
