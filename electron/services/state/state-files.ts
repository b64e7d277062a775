/**
 * The state key and the set of state files it signs. Loaded once per process at composition (async, since
 * the keychain is), then used synchronously by the stores.
 *
 * - Key in the keychain: every file must verify under it (else STATE_TAMPERED when read).
 * - No key and no signed file (a first run, or an upgrade from v1's plain JSON): the key is created
 *   create-if-absent under the per-user lock, and the plain files are adopted (signed as they are) once.
 * - No key but signed files (the keychain entry was lost): nothing verifies; `confirm` makes a new key after
 *   the user has seen the content. A new key is never made silently over signed files, or whoever deleted
 *   the entry could then have any content adopted.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError } from '../../../crypto/errors.js';
import type { KeyStore } from '../keys/key-store.js';
import { withUserLock } from '../keys/user-lock.js';
import { STATE_KEY_BYTES, looksSigned, type StateKind } from './envelope.js';
import { StateAuth, StateFile, type FileState } from './state-file.js';

export const STATE_KEY_ACCOUNT = 'state-key';

export interface StateFileSpec {
  readonly kind: StateKind;
  readonly file: string;
}

/** The state files of an app-data folder (the names AppPaths and FolderRegistry.inHome use). */
export function stateFilesIn(home: string): StateFileSpec[] {
  return [
    { kind: 'settings', file: path.join(home, 'settings.json') },
    { kind: 'folders', file: path.join(home, 'folders.json') },
    { kind: 'escrow', file: path.join(home, 'escrow.json') },
  ];
}

export interface StateFilesDeps {
  sodium: SodiumBackend;
  keyStore: KeyStore;
  /** The per-user lock folder (lockDirIn(home)); the state key is created under the `state-key` lock. */
  lockDir: string;
  files: readonly StateFileSpec[];
}

export interface StateReport {
  readonly kind: StateKind;
  readonly file: string;
  readonly state: FileState;
}

function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

async function getKey(keyStore: KeyStore): Promise<Uint8Array | null> {
  const key = await keyStore.get(STATE_KEY_ACCOUNT);
  if (key !== null && key.length !== STATE_KEY_BYTES) {
    throw new CofferError(
      'KEYCHAIN_ENTRY_DAMAGED',
      `The keychain entry "${STATE_KEY_ACCOUNT}" does not hold a ${STATE_KEY_BYTES}-byte key`,
      'Delete that entry, then run `coffer state show` and `coffer state confirm` to sign the settings again.',
    );
  }
  return key;
}

export class StateFiles {
  private constructor(
    private readonly deps: StateFilesDeps,
    readonly auth: StateAuth,
  ) {}

  /** Loads the state key, creating it and adopting plain v1 files when there is none and nothing is signed. */
  static async open(deps: StateFilesDeps): Promise<StateFiles> {
    const existing = await getKey(deps.keyStore);
    if (existing) return StateFiles.withKey(deps, existing);
    const anySigned = (): boolean => deps.files.some((f) => looksSigned(readIfExists(f.file) ?? ''));
    // Signed files and no key: another process may have made the key since the read above (a first use
    // racing another), so read it again before calling the key lost.
    if (anySigned()) return new StateFiles(deps, new StateAuth(deps.sodium, await getKey(deps.keyStore)));
    const made = await withUserLock(
      deps.lockDir,
      STATE_KEY_ACCOUNT,
      async () => {
        // Signed files: another process made the key while this one waited; it is read below, outside the
        // lock, so that many first uses waiting here do not each hold the lock for a keychain call.
        if (anySigned()) return null;
        // Another process may have made the key (and adopted the files) while this one waited.
        const raced = await getKey(deps.keyStore);
        if (raced) return raced;
        const fresh = await StateFiles.createKey(deps);
        const auth = new StateAuth(deps.sodium, fresh);
        // Adopt v1's plain files as they are: this is the one moment unsigned content is accepted.
        for (const spec of deps.files) {
          const text = readIfExists(spec.file);
          if (text !== null) new StateFile(spec.file, spec.kind, auth).resign(text, 1);
        }
        auth.close();
        return fresh;
      },
      // A first use waits for another's creation rather than fail on a busy machine.
      60_000,
    );
    return StateFiles.withKey(deps, made ?? (await getKey(deps.keyStore)));
  }

  private static withKey(deps: StateFilesDeps, key: Uint8Array | null): StateFiles {
    const files = new StateFiles(deps, new StateAuth(deps.sodium, key));
    if (key) deps.sodium.zero(key);
    return files;
  }

  private static async createKey(deps: StateFilesDeps): Promise<Uint8Array> {
    const key = deps.sodium.randomBytes(STATE_KEY_BYTES);
    await deps.keyStore.set(STATE_KEY_ACCOUNT, key);
    // Read back: a keychain that keeps nothing would make every file look tampered on the next run.
    const back = await deps.keyStore.get(STATE_KEY_ACCOUNT);
    const kept = back !== null && deps.sodium.equal(back, key);
    if (back) deps.sodium.zero(back);
    if (!kept) {
      throw new CofferError(
        'KEYCHAIN_UNAVAILABLE',
        'The OS keychain did not keep the state key written to it',
        'Check that the keychain is unlocked and persistent (on Linux: the Secret Service), then try again.',
      );
    }
    return key;
  }

  file(kind: StateKind): StateFile {
    const spec = this.deps.files.find((f) => f.kind === kind);
    if (!spec) throw new Error(`no state file of kind ${kind}`);
    return new StateFile(spec.file, spec.kind, this.auth);
  }

  /** Every state file as it is now. */
  inspect(): StateReport[] {
    return this.deps.files.map((spec) => ({
      kind: spec.kind,
      file: spec.file,
      state: new StateFile(spec.file, spec.kind, this.auth).inspect(),
    }));
  }

  tampered(): StateReport[] {
    return this.inspect().filter((r) => r.state.status === 'tampered');
  }

  /**
   * Signs the current content of every file that does not verify, after the user has seen it (`coffer state
   * show`, the app's banner). Makes a new state key first when the keychain lost it. A file whose content
   * cannot even be read as JSON is refused: signing it would only turn one error into another.
   */
  async confirm(): Promise<StateReport[]> {
    const before = this.tampered();
    for (const r of before) {
      if (r.state.status !== 'tampered' || r.state.body === undefined) {
        throw new CofferError(
          'STATE_UNREADABLE',
          `${r.file} cannot be confirmed: ${r.state.status === 'tampered' ? r.state.detail : 'unknown'}`,
          'Restore it from a backup, or move it away (Coffer then starts that part from scratch).',
        );
      }
    }
    if (!this.auth.hasKey) {
      const key = await withUserLock(this.deps.lockDir, STATE_KEY_ACCOUNT, async () => {
        return (await getKey(this.deps.keyStore)) ?? (await StateFiles.createKey(this.deps));
      });
      this.auth.replaceKey(key);
      this.deps.sodium.zero(key);
    }
    for (const r of before) {
      if (r.state.status !== 'tampered' || r.state.body === undefined) continue;
      this.file(r.kind).resign(r.state.body, (r.state.generation ?? 0) + 1);
    }
    return before;
  }

  close(): void {
    this.auth.close();
  }
}
