/**
 * One state file in app data behind the authenticated envelope (envelope.ts), with the synchronous
 * read/write that SettingsStore and FolderRegistry are built on. The state key is loaded once, at
 * composition (state-key.ts), and handed in as a StateAuth.
 *
 * Rules (issue 9 item 1): a file that does not verify is STATE_TAMPERED, never used and never replaced by
 * defaults; writing over it is refused too, so tampered content is always seen and confirmed first.
 */
import fs from 'node:fs';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { writeFileAtomic } from './atomic-write.js';
import { withFileLockSync } from './file-lock.js';
import { sealEnvelope, stateTampered, verifyEnvelope, type StateKind, type Verdict } from './envelope.js';

/**
 * State files are small (settings with a full trust log are ~100 KiB); anything larger is not one of ours,
 * and reading it whole would let whoever writes app data exhaust memory.
 */
export const MAX_STATE_FILE_BYTES = 16 * 1024 * 1024;

/** A state file's text, or why it is not one: never blocks (a FIFO) and never reads more than the cap. */
export type StateText = { text: string } | { absent: true } | { unusable: string };

export function readStateText(file: string): StateText {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO planted in app data must not wait forever for a writer (Windows has no
    // FIFOs there and no such flag: `| undefined` adds nothing).
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { absent: true };
    throw error;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return { unusable: 'it is not a regular file' };
    if (stat.size > MAX_STATE_FILE_BYTES) {
      return {
        unusable: `it is too large (${stat.size} bytes; a state file is at most ${MAX_STATE_FILE_BYTES})`,
      };
    }
    const buffer = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      // Grown since fstat (or lying about its size): over the cap is refused, never read on.
      if (length === buffer.length) return { unusable: 'it is too large (it grew while being read)' };
    }
    return { text: buffer.subarray(0, length).toString('utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

/** The lowest generation each state file may have: the highest seen, as recorded in the keychain. */
export type Marks = Partial<Record<StateKind, number>>;

/** The state key as loaded at composition; `null` while the keychain has none (lost, not yet confirmed). */
export class StateAuth {
  private key: Uint8Array | null;
  private marks: Marks = {};
  /** Called after every write (StateFiles records the new generation in the keychain). */
  onWrite: () => void = () => undefined;
  /**
   * Why the state key could not be loaded (e.g. KEYCHAIN_UNAVAILABLE): thrown when a state file is used, so
   * commands that need no state (`coffer recover` on a helpdesk machine) still run.
   */
  failure: Error | null = null;

  /** Keeps a copy of `key`: the caller zeroes its own. */
  constructor(
    readonly sodium: SodiumBackend,
    key: Uint8Array | null,
  ) {
    this.key = key ? key.slice() : null;
  }

  get hasKey(): boolean {
    return this.key !== null;
  }

  verify(kind: StateKind, text: string): Verdict {
    const verdict = verifyEnvelope(this.sodium, this.key, kind, text);
    const mark = this.mark(kind);
    // A genuine older copy (e.g. the settings from before an untrust) must not come back.
    if (verdict.ok && verdict.generation < mark) {
      return {
        ok: false,
        problem: 'rolled-back',
        detail: `it is an older copy (generation ${verdict.generation}; this account has had generation ${mark})`,
        generation: verdict.generation,
        body: verdict.body,
      };
    }
    return verdict;
  }

  mark(kind: StateKind): number {
    return this.marks[kind] ?? 0;
  }

  /** Marks only rise (a concurrent process may have recorded a higher one). */
  raiseMarks(marks: Marks): void {
    for (const [kind, n] of Object.entries(marks) as [StateKind, number][]) {
      this.marks[kind] = Math.max(this.mark(kind), n);
    }
  }

  /** After the user confirmed that a file is gone on purpose. */
  forgetMark(kind: StateKind): void {
    this.marks = Object.fromEntries(Object.entries(this.marks).filter(([k]) => k !== kind));
  }

  snapshotMarks(): Marks {
    return { ...this.marks };
  }

  seal(kind: StateKind, generation: number, body: string): string {
    if (this.key === null) throw new Error('no state key to sign with');
    return sealEnvelope(this.sodium, this.key, kind, generation, body);
  }

  /** After `state confirm` made a new key (the old one was lost from the keychain). */
  replaceKey(key: Uint8Array): void {
    if (this.key) this.sodium.zero(this.key);
    this.key = key.slice();
  }

  close(): void {
    if (this.key) this.sodium.zero(this.key);
    this.key = null;
  }
}

/** What a store persists its JSON text through. */
export interface StateStorage {
  /** The body text, or null when the file does not exist. */
  read(): string | null;
  write(body: string): void;
  /**
   * Read-modify-write under a cross-process lock (file-lock.ts): `change` gets the current body (null when
   * absent) and returns the new one, or null to write nothing. Concurrent updates are never lost.
   */
  update(change: (body: string | null) => string | null): void;
}

/** What a state file holds right now, verified or not (for `coffer state show` and the app's banner). */
export type FileState =
  | { status: 'absent' }
  | { status: 'ok'; generation: number; body: string }
  | (Extract<Verdict, { ok: false }> & { status: 'tampered' });

export class StateFile implements StateStorage {
  constructor(
    readonly file: string,
    readonly kind: StateKind,
    private readonly auth: StateAuth,
  ) {}

  /** The file as it is, without throwing. */
  inspect(): FileState {
    if (this.auth.failure) throw this.auth.failure;
    const read = readStateText(this.file);
    if ('unusable' in read)
      return { status: 'tampered', ok: false, problem: 'malformed', detail: read.unusable };
    if ('absent' in read) {
      const mark = this.auth.mark(this.kind);
      if (mark === 0) return { status: 'absent' };
      return {
        status: 'tampered',
        ok: false,
        problem: 'removed',
        detail: `it was removed (this account had generation ${mark})`,
      };
    }
    const verdict = this.auth.verify(this.kind, read.text);
    return verdict.ok ? { status: 'ok', ...verdict } : { status: 'tampered', ...verdict };
  }

  read(): string | null {
    const state = this.inspect();
    if (state.status === 'absent') return null;
    if (state.status === 'tampered') throw stateTampered(this.file, this.kind, state.detail);
    return state.body;
  }

  write(body: string): void {
    this.update(() => body);
  }

  update(change: (body: string | null) => string | null): void {
    // Under the lock, so two processes never both write generation N+1 (one change lost, a forked history).
    const written = withFileLockSync(this.file, () => {
      const state = this.inspect();
      if (state.status === 'tampered') throw stateTampered(this.file, this.kind, state.detail);
      const body = change(state.status === 'ok' ? state.body : null);
      if (body === null) return false;
      const generation = state.status === 'ok' ? state.generation + 1 : 1;
      writeFileAtomic(this.file, this.auth.seal(this.kind, generation, body));
      return true;
    });
    if (written) this.auth.onWrite();
  }

  /** Signs `body` as the file's content whatever is there now (after the user confirmed it). */
  resign(body: string, generation: number): void {
    withFileLockSync(this.file, () => {
      writeFileAtomic(this.file, this.auth.seal(this.kind, generation, body));
    });
    this.auth.onWrite();
  }
}

/** Plain JSON text, unauthenticated: for tests and tools that run without a keychain. */
export class PlainStorage implements StateStorage {
  constructor(private readonly file: string) {}

  read(): string | null {
    try {
      return fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  write(body: string): void {
    writeFileAtomic(this.file, body);
  }

  update(change: (body: string | null) => string | null): void {
    withFileLockSync(this.file, () => {
      const body = change(this.read());
      if (body !== null) writeFileAtomic(this.file, body);
    });
  }
}

/** The storage for `file`: authenticated when the composition root passed a StateAuth. */
export function stateStorage(file: string, kind: StateKind, auth: StateAuth | undefined): StateStorage {
  return auth ? new StateFile(file, kind, auth) : new PlainStorage(file);
}
