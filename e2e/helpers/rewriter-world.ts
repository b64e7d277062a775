/**
 * The setup the header-rewriter tests share (electron/services/headers/header-rewriter.test.ts,
 * journal-attacks.test.ts): a device key and two organisation recovery keys, a fresh folder with its own
 * journal folder and rewriter per case, real protected files (FORMAT.md §4.1), and the checks those tests
 * make on a file (which keys its header names, whether a key set opens it to the same bytes).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { decryptFd, encryptFd, inspectFd, readHeaderFd } from '../../crypto/file.js';
import {
  formatKeyId,
  generateDeviceKey,
  generateRecoveryKeyPair,
  keyIdOf,
  type Identity,
  type Recipient,
} from '../../crypto/keys.js';
import { EncryptSession } from '../../crypto/session.js';
import { defaultBackend, type SodiumBackend } from '../../crypto/sodium.js';
import { HeaderRewriter } from '../../electron/services/headers/header-rewriter.js';
import type { JournalEntry } from '../../electron/services/headers/journal.js';

type KeyPair = { publicKey: Uint8Array; secretKey: Uint8Array };

export interface RewriterWorld {
  readonly sodium: SodiumBackend;
  readonly device: Identity & Recipient & { kind: 'device' };
  readonly orgA: KeyPair;
  readonly orgB: KeyPair;
  /** An organisation key pair as a recovery recipient. */
  rec: (k: { publicKey: Uint8Array }) => Recipient;
  /** A new case folder with an empty journal folder and a rewriter journalling there. */
  fresh: () => { dir: string; journalDir: string; rewriter: HeaderRewriter };
  /** A real protected file, written as Coffer writes them (with room) or as the first v1 writers did. */
  protectedFile: (
    dir: string,
    name: string,
    recipients: Recipient[],
    options?: { room?: boolean; size?: number },
  ) => { path: string; plain: Buffer };
  /** Whether `identities` open the file at `path` to exactly `plain`. */
  opensTo: (path: string, identities: Identity[], plain: Buffer) => boolean;
  /** The header's stanzas as sorted `kind:keyId` strings. */
  keysOf: (path: string) => string[];
  /** A recipient as `keysOf` names it. */
  idOf: (r: Recipient) => string;
  /** The header bytes of the file at `path`. */
  headerOf: (path: string) => Uint8Array;
}

/** The entry the rewriter journals for `path` going from `oldHeader` to `newHeader` (FORMAT.md §8.1). */
export function entryFor(path: string, oldHeader: Uint8Array, newHeader: Uint8Array): JournalEntry {
  const s = statSync(path, { bigint: true });
  return {
    path,
    dev: s.dev.toString(),
    ino: s.ino.toString(),
    size: Number(s.size),
    oldHeader,
    newHeader,
  };
}

/** Call at the top of a test file: the keys are made before its tests (beforeAll), the folders go after. */
export function useRewriterWorld(prefix: string): RewriterWorld {
  let made:
    { sodium: SodiumBackend; device: RewriterWorld['device']; orgA: KeyPair; orgB: KeyPair } | undefined;
  const root = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });
  beforeAll(async () => {
    const sodium = await defaultBackend();
    made = {
      sodium,
      device: { kind: 'device', key: generateDeviceKey(sodium) },
      orgA: generateRecoveryKeyPair(sodium),
      orgB: generateRecoveryKeyPair(sodium),
    };
  });
  const get = () => {
    if (!made) throw new Error('useRewriterWorld: the keys are made in beforeAll; use them inside a test');
    return made;
  };
  let n = 0;

  function protectedFile(
    dir: string,
    name: string,
    recipients: Recipient[],
    { room = true, size = 5000 } = {},
  ): { path: string; plain: Buffer } {
    const { sodium } = get();
    const plain = randomBytes(size);
    const source = join(dir, `${name}.plain`);
    writeFileSync(source, plain);
    const path = join(dir, `${name}.coffer`);
    if (room) {
      const inFd = openSync(source, 'r');
      const outFd = openSync(path, 'w');
      encryptFd(sodium, inFd, outFd, { recipients, name });
      closeSync(inFd);
      closeSync(outFd);
    } else {
      const session = new EncryptSession(sodium, {
        recipients,
        metadata: { name, size, mode: 0o600, mtimeMs: 1 },
        chunkSize: 4096,
        reserveRoom: false,
      });
      const parts = [Buffer.from(session.start())];
      for (let at = 0; !session.done;) {
        const len = session.nextChunkLength();
        parts.push(Buffer.from(session.push(plain.subarray(at, at + len))));
        at += len;
      }
      writeFileSync(path, Buffer.concat(parts));
    }
    return { path, plain };
  }

  function opensTo(path: string, identities: Identity[], plain: Buffer): boolean {
    const inFd = openSync(path, 'r');
    const out = `${path}.check`;
    const outFd = openSync(out, 'w');
    try {
      decryptFd(get().sodium, inFd, outFd, identities);
      return readFileSync(out).equals(plain);
    } catch {
      return false;
    } finally {
      closeSync(inFd);
      closeSync(outFd);
      rmSync(out, { force: true });
    }
  }

  function withFd<T>(path: string, read: (fd: number) => T): T {
    const fd = openSync(path, 'r');
    try {
      return read(fd);
    } finally {
      closeSync(fd);
    }
  }

  return {
    get sodium() {
      return get().sodium;
    },
    get device() {
      return get().device;
    },
    get orgA() {
      return get().orgA;
    },
    get orgB() {
      return get().orgB;
    },
    rec: (k) => ({ kind: 'recovery', publicKey: k.publicKey }),
    fresh: () => {
      const dir = join(root, `case-${n++}`);
      const journalDir = join(dir, 'journal');
      mkdirSync(journalDir, { recursive: true });
      return { dir, journalDir, rewriter: new HeaderRewriter({ sodium: get().sodium, journalDir }) };
    },
    protectedFile,
    opensTo,
    keysOf: (path) =>
      withFd(path, (fd) =>
        inspectFd(fd)
          .stanzas.map((s) => `${s.kind}:${s.keyId}`)
          .sort(),
      ),
    idOf: (r) => `${r.kind}:${formatKeyId(keyIdOf(get().sodium, r))}`,
    headerOf: (path) => withFd(path, readHeaderFd),
  };
}
