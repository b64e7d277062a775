/**
 * The setup unit tests of the safe-file layer share (cli/replace.test.ts, safe-file/readback-identity.test.ts):
 * a device key on the native libsodium backend, and temp folders removed after the file's tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { generateDeviceKey, type Identity, type Recipient } from '../../crypto/keys.js';
import { loadBackend, type SodiumBackend } from '../../crypto/sodium.js';

export interface DeviceKey {
  readonly sodium: SodiumBackend;
  readonly device: Identity & { kind: 'device' };
  /** The device key alone. */
  readonly recipients: Recipient[];
  /** A new empty folder under the system temp folder, removed after the file's tests. */
  tempDir(prefix: string): string;
}

/** Call at the top of a test file: the key is made before its tests (beforeAll), the folders go after. */
export function useDeviceKey(): DeviceKey {
  let made: { sodium: SodiumBackend; device: Identity & { kind: 'device' } } | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    const sodium = await loadBackend('native');
    made = { sodium, device: { kind: 'device', key: generateDeviceKey(sodium) } };
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const get = () => {
    if (!made) throw new Error('useDeviceKey: the key is made in beforeAll; use it inside a test');
    return made;
  };
  return {
    get sodium() {
      return get().sodium;
    },
    get device() {
      return get().device;
    },
    get recipients() {
      return [get().device];
    },
    tempDir(prefix: string): string {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
  };
}
