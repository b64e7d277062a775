/**
 * The setup the folder-service tests share (electron/services/folders/folder-service.test.ts,
 * e2e/folders-busy.e2e.ts): a device key, the key source a FolderService asks for it (a fresh copy per
 * call, as the keychain gives one), and a real two-worker pool closed after the file's tests.
 */
import { afterAll, beforeAll } from 'vitest';
import { generateDeviceKey, type Identity, type Recipient } from '../../crypto/keys.js';
import { defaultBackend, type SodiumBackend } from '../../crypto/sodium.js';
import { WorkerPool } from '../../electron/services/folders/pool.js';

export interface FolderKeys {
  readonly sodium: SodiumBackend;
  readonly key: Uint8Array;
  readonly pool: WorkerPool;
  /** The `keys` a FolderService takes: the device key as recipient and identity. */
  readonly keys: { recipients: () => Promise<Recipient[]>; identities: () => Promise<Identity[]> };
}

/** Call at the top of a test file: key and pool are made before its tests (beforeAll), the pool closed after. */
export function useFolderKeys(): FolderKeys {
  let made: { sodium: SodiumBackend; key: Uint8Array; pool: WorkerPool } | undefined;
  beforeAll(async () => {
    const sodium = await defaultBackend();
    made = { sodium, key: generateDeviceKey(sodium), pool: new WorkerPool({ backend: 'wasm', size: 2 }) };
  });
  afterAll(async () => {
    await made?.pool.close();
  });
  const get = () => {
    if (!made) throw new Error('useFolderKeys: the key is made in beforeAll; use it inside a test');
    return made;
  };
  return {
    get sodium() {
      return get().sodium;
    },
    get key() {
      return get().key;
    },
    get pool() {
      return get().pool;
    },
    keys: {
      recipients: () => Promise.resolve([{ kind: 'device', key: new Uint8Array(get().key) }]),
      identities: () => Promise.resolve([{ kind: 'device', key: new Uint8Array(get().key) }]),
    },
  };
}
