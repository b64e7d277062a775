/**
 * R7 review: statements of docs/FORMAT.md checked against the code, one test each, quoting the text.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeaderRewriter } from '../electron/services/headers/header-rewriter.js';
import {
  formatRecoveryCode,
  generateRecoveryCode,
  parseRecoveryCode,
} from '../electron/services/keys/recovery-code.js';
import { isCofferError } from './errors.js';
import { decryptFd, encryptFd, inspectFd } from './file.js';
import {
  deriveKeys,
  exactHeaderLength,
  parseHeader,
  recipientStanzas,
  serializeHeader,
  STANZA_PADDING,
  unwrapFileKey,
  wrapFileKey,
} from './header.js';
import { generateDeviceKey, generateRecoveryKeyPair, type Identity, type Recipient } from './keys.js';
import { loadBackend, type SodiumBackend } from './sodium.js';

let sodium: SodiumBackend;
const root = mkdtempSync(join(tmpdir(), 'coffer-spec-r7-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
beforeAll(async () => {
  sodium = await loadBackend('wasm');
});

let n = 0;
function encrypt(recipients: readonly Recipient[], content = new Uint8Array(1000).fill(7)): string {
  const plain = join(root, `p${n}`);
  const path = join(root, `f${n++}.coffer`);
  writeFileSync(plain, content);
  const inFd = openSync(plain, 'r');
  const outFd = openSync(path, 'w');
  try {
    encryptFd(sodium, inFd, outFd, { recipients, name: 'p' });
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
  return path;
}

const headerOf = (path: string) => parseHeader(new Uint8Array(readFileSync(path)));

function opens(path: string, identities: Identity[]): string {
  const fd = openSync(path, 'r');
  try {
    decryptFd(sodium, fd, null, identities);
    return 'ok';
  } catch (error) {
    if (isCofferError(error)) return error.code;
    throw error;
  } finally {
    closeSync(fd);
  }
}

describe('FORMAT.md statements vs the code', () => {
  it('§4.1 "A typical file (one device and one recovery stanza, exact = 248) has a 768-byte header", padding last', () => {
    const device: Recipient = { kind: 'device', key: generateDeviceKey(sodium) };
    const org = generateRecoveryKeyPair(sodium);
    const path = encrypt([device, { kind: 'recovery', publicKey: org.publicKey }]);
    const header = headerOf(path);
    expect(exactHeaderLength(recipientStanzas(header))).toBe(248);
    expect(header.bytes.length).toBe(768);
    expect(header.stanzas.map((s) => s.type)).toEqual([1, 2, STANZA_PADDING]);
    const fd = openSync(path, 'r');
    try {
      // "inspectFd lists recipient stanzas only and counts padding as reservedBytes"
      const info = inspectFd(fd);
      expect(info.stanzas.map((s) => s.kind)).toEqual(['device', 'recovery']);
      expect(info.reservedBytes).toBe(768 - 248);
    } finally {
      closeSync(fd);
    }
  });

  it('§4.1 "When that room does not fit (32 stanzas, or over 64 KiB) the header is written without padding"', () => {
    const device: Recipient = { kind: 'device', key: generateDeviceKey(sodium) };
    const orgs = (k: number): Recipient[] =>
      Array.from({ length: k }, () => ({
        kind: 'recovery',
        publicKey: generateRecoveryKeyPair(sodium).publicKey,
      }));
    const full = headerOf(encrypt([device, ...orgs(31)]));
    expect(full.stanzas).toHaveLength(32);
    expect(full.stanzas.some((s) => s.type === STANZA_PADDING)).toBe(false);
    expect(full.bytes.length).toBe(exactHeaderLength(full.stanzas));
    const roomy = headerOf(encrypt([device, ...orgs(30)]));
    expect(roomy.stanzas).toHaveLength(32); // 31 recipients and the padding: the count stays ≤ 32
    expect(roomy.stanzas.at(-1)?.type).toBe(STANZA_PADDING);
  });

  it('§4.1 "A rewrite keeps header_length when the new stanzas fit it: exactly, or with a padding stanza of at least its 11-byte head"', async () => {
    const device: Identity & Recipient = { kind: 'device', key: generateDeviceKey(sodium) };
    const org = generateRecoveryKeyPair(sodium);
    const rec: Recipient = { kind: 'recovery', publicKey: org.publicKey };
    const rewriter = new HeaderRewriter({ sodium, journalDir: join(root, 'journal') });
    // A header of device + padding sized so that device + one recovery stanza leaves `left` bytes.
    const withRoom = (left: number): string => {
      const path = encrypt([device]);
      const bytes = readFileSync(path);
      const header = parseHeader(new Uint8Array(bytes));
      const fileKey = unwrapFileKey(sodium, header, [device]);
      const { macKey } = deriveKeys(sodium, fileKey);
      const target =
        exactHeaderLength([wrapFileKey(sodium, fileKey, device), wrapFileKey(sodium, fileKey, rec)]) + left;
      const next = serializeHeader(
        sodium,
        header.chunkSize,
        [wrapFileKey(sodium, fileKey, device)],
        header.streamHeader,
        macKey,
        target,
      );
      writeFileSync(path, Buffer.concat([next, bytes.subarray(header.bytes.length)]));
      return path;
    };
    for (const [left, outcome] of [
      [0, 'in-place'],
      [11, 'in-place'],
      [12, 'in-place'],
      [1, 'copied'],
      [10, 'copied'],
    ] as const) {
      const path = withRoom(left);
      const before = headerOf(path).bytes.length;
      expect((await rewriter.rewrap(path, [device], [device, rec])).outcome, `left ${left}`).toBe(outcome);
      const after = headerOf(path);
      if (outcome === 'in-place') expect(after.bytes.length).toBe(before);
      expect(after.stanzas.length, `left ${left}`).toBe(left === 0 ? 2 : 3);
      expect(opens(path, [{ kind: 'recovery', ...org }])).toBe('ok');
    }
  });

  it('§3.1 "A candidate key whose MAC does not match is discarded and the next matching stanza is tried"', () => {
    const device: Identity & Recipient = { kind: 'device', key: generateDeviceKey(sodium) };
    const path = encrypt([device]);
    const bytes = readFileSync(path);
    const header = parseHeader(new Uint8Array(bytes));
    const fileKey = unwrapFileKey(sodium, header, [device]);
    const { macKey } = deriveKeys(sodium, fileKey);
    // First a stanza for this device wrapping some other key (it unwraps; the MAC then fails), then the real one.
    const decoy = wrapFileKey(sodium, sodium.randomBytes(32), device);
    const next = serializeHeader(
      sodium,
      header.chunkSize,
      [decoy, wrapFileKey(sodium, fileKey, device)],
      header.streamHeader,
      macKey,
    );
    writeFileSync(path, Buffer.concat([next, bytes.subarray(header.bytes.length)]));
    expect(opens(path, [device])).toBe('ok');
    // Only the decoy: "if a stanza unwrapped but no MAC matched, the error is HEADER_AUTH_FAILED"
    const alone = serializeHeader(sodium, header.chunkSize, [decoy], header.streamHeader, macKey);
    writeFileSync(path, Buffer.concat([alone, bytes.subarray(header.bytes.length)]));
    expect(opens(path, [device])).toBe('HEADER_AUTH_FAILED');
  });

  it('§11.3 "a single mistyped digit ... make[s] the group invalid on its own", named by its number 1..8', () => {
    const code = generateRecoveryCode(sodium);
    const text = formatRecoveryCode(code);
    expect(parseRecoveryCode(text)).toEqual(code);
    const digits = Array.from({ length: text.length }, (_, i) => ({ c: text.charAt(i), i })).filter(
      ({ c }) => c >= '0' && c <= '9',
    );
    expect(digits).toHaveLength(48);
    let checked = 0;
    for (const [k, { c, i }] of digits.entries()) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === c) continue;
        const typo = text.slice(0, i) + String(d) + text.slice(i + 1);
        let message = '';
        try {
          parseRecoveryCode(typo);
        } catch (error) {
          expect(isCofferError(error, 'BAD_RECOVERY_CODE')).toBe(true);
          message = (error as Error).message;
        }
        expect(message, typo).toBe(`Group ${Math.floor(k / 6) + 1} of the recovery code is mistyped`);
        checked++;
      }
    }
    expect(checked).toBe(48 * 9);
  });
});
