/**
 * The setup the AuditService tests share (electron/services/audit/scanner.test.ts, scanner-review.test.ts):
 * a device key made here (no keychain), real temp folders removed after the file's tests, a service over
 * them with two real worker threads, and files protected with the device key.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { encryptFd } from '../../crypto/file.js';
import { generateDeviceKey, type Identity } from '../../crypto/keys.js';
import { defaultBackend, type SodiumBackend } from '../../crypto/sodium.js';
import { guardRailsFor } from '../../electron/services/folders/guard-rails.js';
import { AuditService, type AuditPolicy } from '../../electron/services/audit/scanner.js';

export interface AuditWorld {
  /** The libsodium backend (after beforeAll). */
  readonly sodium: SodiumBackend;
  /** A new empty folder (its real path), removed after the file's tests. */
  readonly temp: (label: string) => string;
  /** A scan service over `appHome` that opens protected files with the device key. */
  readonly service: (appHome: string, policy?: AuditPolicy, folders?: string[]) => AuditService;
  /** Writes `content` to `file`, protects it with the device key and removes the plaintext. */
  readonly protect: (file: string, content: string) => string;
}

/** Call at the top of a test file; `prefix` names its temp folders. */
export function useAuditWorld(prefix: string): AuditWorld {
  let made: { sodium: SodiumBackend; deviceKey: Uint8Array } | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    const sodium = await defaultBackend();
    made = { sodium, deviceKey: generateDeviceKey(sodium) };
  });
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const ready = (): { sodium: SodiumBackend; deviceKey: Uint8Array } => {
    if (!made) throw new Error('useAuditWorld: used before its beforeAll ran');
    return made;
  };
  const temp = (label: string): string => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-${label}-`)));
    dirs.push(dir);
    return dir;
  };
  return {
    get sodium() {
      return ready().sodium;
    },
    temp,
    service: (appHome, policy = {}, folders = []) => {
      const { sodium, deviceKey } = ready();
      return new AuditService({
        backend: sodium.name,
        appHome,
        homedir: temp('home'),
        policy: () => policy,
        protectedFolders: () => folders,
        identities: () => Promise.resolve([{ kind: 'device', key: deviceKey.slice() } satisfies Identity]),
        guard: guardRailsFor(appHome, process.env),
        workers: 2,
      });
    },
    protect: (file, content) => {
      const { sodium, deviceKey } = ready();
      fs.writeFileSync(file, content);
      const input = fs.openSync(file, 'r');
      const output = fs.openSync(`${file}.coffer`, 'wx');
      encryptFd(sodium, input, output, {
        recipients: [{ kind: 'device', key: deviceKey }],
        name: path.basename(file),
      });
      fs.closeSync(input);
      fs.closeSync(output);
      fs.rmSync(file);
      return `${file}.coffer`;
    },
  };
}
