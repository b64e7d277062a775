/**
 * Crash-safe file operations (DESIGN.md "Writing files safely"), one concern per module:
 * names.ts (protected and temp names), durable.ts (fsync, syncfs, no-clobber rename), open.ts (no-follow
 * opens, writing through a temp file), encrypt-in-place.ts, decrypt.ts, rekey.ts. SafeFiles is the one
 * service the rest of the app holds.
 */
import type { Stats } from 'node:fs';
import type { Progress } from '../../../crypto/file.js';
import type { Identity, Recipient } from '../../../crypto/keys.js';
import type { FileMetadata } from '../../../crypto/metadata.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { defaultProbe } from './busy.js';
import { decryptTo, verifyFile } from './decrypt.js';
import { decryptBatch } from './decrypt-in-place.js';
import { HeldPlaintexts, type Rescued } from './held.js';
import {
  encryptBatch,
  removeDuplicate,
  removeProtectedPlaintext,
  type EncryptContext,
} from './encrypt-in-place.js';
import { PROTECTED_SUFFIX } from './names.js';
import { rekeyFile } from './rekey.js';
import type {
  BatchResult,
  DecryptManyOptions,
  DecryptOptions,
  EncryptInPlaceOptions,
  EncryptManyOptions,
  SafeFilesOptions,
} from './types.js';

export { isProtectedName, isTempName, PROTECTED_SUFFIX } from './names.js';
export { NOFOLLOW, READ_NOFOLLOW } from './open.js';
export { defaultProbe, type OpenFileProbe } from './busy.js';
export type { Rescued } from './held.js';
export { TempJournal, tempJournalDirIn, type TempCleanup } from './temp-journal.js';
export type {
  BatchResult,
  DecryptManyOptions,
  DecryptOptions,
  EncryptInPlaceOptions,
  EncryptManyOptions,
  SafeFilesOptions,
} from './types.js';

/** Below this, starting a thread costs more than reading the file back after writing it. */
const TAIL_VERIFY_FROM = 64 * 1024 * 1024;
/** Long enough for a writer's next write after a short pause, short enough to end a run promptly. */
const GRACE_MS = 1000;

export class SafeFiles {
  private readonly ctx: EncryptContext;

  constructor(
    private readonly sodium: SodiumBackend,
    options: SafeFilesOptions = {},
  ) {
    const journal = options.tempJournal ?? null;
    this.ctx = {
      sodium,
      tailVerifyFrom: options.tailVerifyFrom ?? TAIL_VERIFY_FROM,
      probe: options.probe ?? defaultProbe(),
      held: new HeldPlaintexts(options.graceMs ?? GRACE_MS, journal),
      journal,
    };
  }

  /**
   * Waits out the grace period of every plaintext removed so far and returns those written to meanwhile,
   * whose new content was saved as a conflict copy. Call once at the end of a run (or command).
   */
  settle(): Rescued[] {
    return this.ctx.held.settle(this.ctx.probe);
  }

  /**
   * `a.xlsx` → `a.xlsx.coffer`; the plaintext is removed only after the ciphertext is fsynced, read back
   * and authenticated, renamed into place and the folder fsynced, and only if the plaintext did not change
   * meanwhile (SOURCE_CHANGED otherwise, with the plaintext left as it is).
   */
  encryptInPlace(
    path: string,
    options: EncryptInPlaceOptions,
  ): { target: string; metadata: FileMetadata; written?: { dev: number; ino: number } } {
    const [result] = encryptBatch(
      this.ctx,
      [{ path, target: options.output ?? path + PROTECTED_SUFFIX }],
      options,
    );
    if (!result) throw new Error('encryptBatch returned no result');
    if (!result.ok) throw result.error;
    return result.value;
  }

  /**
   * encryptInPlace for many files, with the same guarantees but one durability barrier per step for the
   * whole batch instead of three fsync waits per file, which dominate the protection of many small files.
   * Returns one result per path, in order; one file's problem never stops the others.
   */
  encryptManyInPlace(paths: readonly string[], options: EncryptManyOptions): BatchResult[] {
    return encryptBatch(
      this.ctx,
      paths.map((path) => ({ path, target: path + PROTECTED_SUFFIX })),
      options,
    );
  }

  /**
   * Decrypts `path` to the name stored in its metadata (or `output`), through a temporary file renamed into
   * place only after the whole stream authenticated (FORMAT.md §5.3 rule 5). Never replaces an existing
   * file unless `force`.
   */
  decryptTo(path: string, options: DecryptOptions): { target: string; metadata: FileMetadata } {
    return decryptTo(this.sodium, this.ctx.journal, path, options);
  }

  /**
   * Unprotects many `.coffer` files (`x.coffer` → `x`, beside it, removing the `.coffer`) with the
   * guarantees of decryptTo with `removeSource`, but one durability barrier per step for the whole batch
   * instead of a file fsync and two folder fsyncs per file (decrypt-in-place.ts). Returns one result per
   * path, in order; one file's problem never stops the others.
   */
  decryptManyInPlace(paths: readonly string[], options: DecryptManyOptions): BatchResult[] {
    return decryptBatch(
      this.sodium,
      this.ctx.journal,
      paths.map((path) => ({ path, target: path.slice(0, -PROTECTED_SUFFIX.length) })),
      options,
    );
  }

  /** Authenticates the whole file; returns its metadata. */
  verify(path: string, identities: readonly Identity[], progress: Progress = {}): FileMetadata {
    return verifyFile(this.sodium, path, identities, progress);
  }

  /**
   * Removes the plaintext `path` once its content is protected by other means (`coffer encrypt
   * --replace`), under the rules of every removal: IN_USE while another process has it open,
   * STILL_CHANGING unless it is still the file `before` describes, and held for the grace period (settle);
   * VERIFY_FAILED unless `protectedBy.path` still holds the ciphertext file that was written and checked.
   */
  removeProtectedPlaintext(
    path: string,
    before: Stats,
    protectedBy: { readonly path: string; readonly written: { readonly dev: number; readonly ino: number } },
    roots?: readonly string[],
  ): void {
    removeProtectedPlaintext(this.ctx, path, before, roots, protectedBy);
  }

  /**
   * Removes `path`, a copy an interrupted run left beside `other` (`x` and `x.coffer` in one folder), when
   * `isDuplicate` (given paths that reach exactly the verified folder) says both hold the same content.
   * A plaintext another process has open stays (IN_USE). Returns false when they differ.
   */
  removeDuplicate(
    path: string,
    other: string,
    roots: readonly string[] | undefined,
    isDuplicate: (path: string, other: string) => boolean,
  ): boolean {
    return removeDuplicate(this.ctx, path, other, roots, isDuplicate);
  }

  /** Rewrites only the header for other recipients (FORMAT.md §8); see rekey.ts. */
  rekey(
    path: string,
    identities: readonly Identity[],
    recipients: readonly Recipient[],
    verifyWith: readonly Identity[],
  ): { headerBytes: number; fileBytes: number } {
    return rekeyFile(this.sodium, path, identities, recipients, verifyWith);
  }
}
