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
import path from 'node:path';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError } from '../../../crypto/errors.js';
import type { KeyStore } from '../keys/key-store.js';
import { withUserLock } from '../keys/user-lock.js';
import { STATE_KEY_BYTES, STATE_KINDS, looksSigned, type StateKind } from './envelope.js';
import { StateAuth, StateFile, readStateText, type FileState, type Marks } from './state-file.js';

export const STATE_KEY_ACCOUNT = 'state-key';
/**
 * The highest generation of each state file this account has had, kept in the keychain beside the key, so
 * an older signed copy (a rollback) or a removed file is caught: the MAC alone cannot tell old from new.
 */
export const STATE_MARKS_ACCOUNT = 'state-generations';

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

/**
 * The file's text; null when it is absent or not a usable state file (a FIFO, a huge file): such a file is
 * neither adopted nor taken as signed, and is reported as tampered once the key is there.
 */
function readIfExists(file: string): string | null {
  const read = readStateText(file);
  return 'text' in read ? read.text : null;
}

/**
 * A random key kept in the keychain under `account` (the state key here, the audit log's key in
 * audit-log/): null when there is none, KEYCHAIN_ENTRY_DAMAGED when the entry is not `bytes` long.
 */
export async function readKeychainKey(
  keyStore: KeyStore,
  account: string,
  bytes: number,
  hint: string,
): Promise<Uint8Array | null> {
  const key = await keyStore.get(account);
  if (key !== null && key.length !== bytes) {
    throw new CofferError(
      'KEYCHAIN_ENTRY_DAMAGED',
      `The keychain entry "${account}" does not hold a ${bytes}-byte key`,
      hint,
    );
  }
  return key;
}

/**
 * Stores a fresh random key under `account` and reads it back: a keychain that keeps nothing would make
 * everything signed with it look tampered on the next run. Call under the per-user lock of that account.
 */
export async function createKeychainKey(
  sodium: SodiumBackend,
  keyStore: KeyStore,
  account: string,
  bytes: number,
): Promise<Uint8Array> {
  const key = sodium.randomBytes(bytes);
  await keyStore.set(account, key);
  const back = await keyStore.get(account);
  const kept = back !== null && sodium.equal(back, key);
  if (back) sodium.zero(back);
  if (!kept) {
    sodium.zero(key);
    throw new CofferError(
      'KEYCHAIN_UNAVAILABLE',
      `The OS keychain did not keep the key "${account}" written to it`,
      'Check that the keychain is unlocked and persistent (on Linux: the Secret Service), then try again.',
    );
  }
  return key;
}

async function getKey(keyStore: KeyStore): Promise<Uint8Array | null> {
  return readKeychainKey(
    keyStore,
    STATE_KEY_ACCOUNT,
    STATE_KEY_BYTES,
    'Delete that entry, then run `coffer state show` and `coffer state confirm` to sign the settings again.',
  );
}

async function getMarks(keyStore: KeyStore): Promise<Marks> {
  const bytes = await keyStore.get(STATE_MARKS_ACCOUNT);
  if (bytes === null) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
    const marks: Marks = {};
    if (typeof parsed === 'object' && parsed !== null) {
      for (const [kind, n] of Object.entries(parsed)) {
        if (STATE_KINDS.includes(kind as StateKind) && Number.isSafeInteger(n))
          marks[kind as StateKind] = n as number;
      }
    }
    return marks;
  } catch {
    return {}; // only weakens the rollback check; never a reason to refuse state
  }
}

/** The fields of a report that the user decided on (status, problem, generation and content). */
function sameState(a: FileState, b: FileState): boolean {
  if (a.status !== 'tampered' || b.status !== 'tampered') return a.status === b.status;
  return a.problem === b.problem && a.generation === b.generation && a.body === b.body;
}

/** Refuses when the files that do not verify now are not exactly those the user reviewed, as reviewed. */
function assertUnchanged(reviewed: readonly StateReport[], now: readonly StateReport[]): void {
  const changed = [
    ...reviewed.filter((r) => {
      const current = now.find((n) => n.kind === r.kind);
      return current === undefined || !sameState(r.state, current.state);
    }),
    ...now.filter((n) => !reviewed.some((r) => r.kind === n.kind)),
  ];
  if (changed.length > 0) {
    throw new CofferError(
      'STATE_TAMPERED',
      `${changed.map((r) => r.file).join(', ')} changed again after it was shown; nothing was confirmed`,
      'Run `coffer state show` again and check what the files hold now, then `coffer state confirm`.',
    );
  }
}

export class StateFiles {
  /** The marks flush in progress (single-flight; each flush writes the marks as they are then). */
  private flushing: Promise<void> = Promise.resolve();
  /** A flush after a write is queued and has not started yet. */
  private flushQueued = false;

  private constructor(
    private readonly deps: StateFilesDeps,
    readonly auth: StateAuth,
  ) {
    // One flush queued at a time: N writes in a row (a batch, a loop) cost one keychain round trip, not N
    // (each is a child process, ~0.3 s on a busy machine). A write after a flush started queues another.
    auth.onWrite = () => {
      if (this.flushQueued) return;
      this.flushQueued = true;
      void this.queue(async () => {
        this.flushQueued = false;
        await this.flushNow();
      }).catch(() => undefined);
    };
  }

  /** Loads the state key, creating it and adopting plain v1 files when there is none and nothing is signed. */
  static async open(deps: StateFilesDeps): Promise<StateFiles> {
    const files = await StateFiles.load(deps);
    await files.flush(); // loads the recorded marks, and records what this run starts from
    return files;
  }

  /**
   * Like open(), but a keychain that cannot be reached is reported when a state file is first used, not
   * now: the composition roots build every service up front, and some commands never touch state.
   */
  static async openOrDefer(deps: StateFilesDeps): Promise<StateFiles> {
    try {
      return await StateFiles.open(deps);
    } catch (error) {
      const files = new StateFiles(deps, new StateAuth(deps.sodium, null));
      files.auth.failure = error instanceof Error ? error : new Error(String(error));
      return files;
    }
  }

  private static async load(deps: StateFilesDeps): Promise<StateFiles> {
    const existing = await getKey(deps.keyStore);
    if (existing) return StateFiles.withKey(deps, existing);
    const anySigned = (): boolean => deps.files.some((f) => looksSigned(readIfExists(f.file) ?? ''));
    // Signed files and no key: another process may have made the key since the read above (a first use
    // racing another), so read it again before calling the key lost.
    if (anySigned()) return StateFiles.withKey(deps, await getKey(deps.keyStore));
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
    return createKeychainKey(deps.sodium, deps.keyStore, STATE_KEY_ACCOUNT, STATE_KEY_BYTES);
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
   * Records the generation of every file that verifies as the lowest one accepted from now on (merged with
   * what other processes recorded). Runs after every write; `coffer` awaits it before exiting. A flush that
   * fails only leaves the marks behind (a rollback window), never ahead (which would refuse good state).
   */
  flush(): Promise<void> {
    return this.queue(() => this.flushNow());
  }

  private async flushNow(): Promise<void> {
    if (this.auth.failure) return;
    const stored = await getMarks(this.deps.keyStore);
    this.auth.raiseMarks(stored);
    if (!this.auth.hasKey) return; // nothing verifies: nothing new to record
    const seen: Marks = {};
    for (const r of this.inspect()) if (r.state.status === 'ok') seen[r.kind] = r.state.generation;
    this.auth.raiseMarks(seen);
    await this.storeMarks(stored);
  }

  /** The marks without `kind`, after the user confirmed that its file is gone on purpose. */
  private forget(kind: StateKind): Promise<void> {
    return this.queue(async () => {
      const stored = await getMarks(this.deps.keyStore);
      this.auth.forgetMark(kind);
      this.auth.raiseMarks(Object.fromEntries(Object.entries(stored).filter(([k]) => k !== kind)));
      await this.storeMarks(stored);
    });
  }

  private async storeMarks(stored: Marks): Promise<void> {
    const next = this.auth.snapshotMarks();
    if (STATE_KINDS.every((k) => (stored[k] ?? 0) === (next[k] ?? 0))) return;
    await this.deps.keyStore.set(STATE_MARKS_ACCOUNT, new TextEncoder().encode(JSON.stringify(next)));
  }

  /** One keychain update at a time, in order (each reads what the previous one wrote). */
  private queue(run: () => Promise<void>): Promise<void> {
    this.flushing = this.flushing.then(run, run);
    return this.flushing;
  }

  /**
   * Signs the current content of every file that does not verify, after the user has seen it (`coffer state
   * show`, the app's banner). Makes a new state key first when the keychain lost it. A file whose content
   * cannot even be read as JSON is refused: signing it would only turn one error into another.
   *
   * `reviewed` is what the user was shown (inspect() before the question): a file that changed since is
   * refused, and the reviewed content is what gets signed, so an edit made while the user read the prompt
   * is never signed unseen.
   */
  async confirm(reviewed?: readonly StateReport[]): Promise<StateReport[]> {
    const now = this.tampered();
    const before = reviewed ? reviewed.filter((r) => r.state.status === 'tampered') : now;
    if (reviewed) assertUnchanged(before, now);
    for (const r of before) {
      if (r.state.status === 'tampered' && r.state.problem === 'removed') continue;
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
    await this.flush(); // every mark other processes recorded, before choosing generations
    for (const r of before) {
      if (r.state.status !== 'tampered') continue;
      if (r.state.problem === 'removed') {
        // The user accepts that the file is gone: that part starts again from nothing.
        await this.forget(r.kind);
        continue;
      }
      if (r.state.body === undefined) continue;
      const generation = Math.max(r.state.generation ?? 0, this.auth.mark(r.kind)) + 1;
      this.file(r.kind).resign(r.state.body, generation);
    }
    await this.flush();
    return before;
  }

  /** Waits for the marks to be recorded, then zeroes the key. */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.auth.close();
  }
}
