/** The options and results of SafeFiles' public calls. */
import type { CofferError } from '../../../crypto/errors.js';
import type { Progress } from '../../../crypto/file.js';
import type { Identity, Recipient } from '../../../crypto/keys.js';
import type { FileMetadata } from '../../../crypto/metadata.js';
import type { OpenFileProbe } from './busy.js';
import type { TempJournal } from './temp-journal.js';

export interface EncryptManyOptions extends Progress {
  readonly recipients: readonly Recipient[];
  /** Keys that open what was just written, for the read-back check. */
  readonly identities: readonly Identity[];
  /** Keep the plaintext after protecting it. */
  readonly keep?: boolean;
  /** Progress and cancel for one file of a batch (overrides onProgress and signal). */
  readonly progressFor?: (path: string) => Progress;
  /** The protected folders (canonical paths) every file must stay inside; none: no such check. */
  readonly roots?: readonly string[];
}

export interface EncryptInPlaceOptions extends EncryptManyOptions {
  /** Where to write; default `<path>.coffer`. */
  readonly output?: string;
}

export type BatchResult =
  | {
      readonly ok: true;
      readonly value: {
        readonly target: string;
        readonly metadata: FileMetadata;
        /** Protect: the ciphertext file that was written and authenticated (device and inode). */
        readonly written?: { readonly dev: number; readonly ino: number };
      };
    }
  | { readonly ok: false; readonly error: CofferError };

export interface DecryptOptions extends Progress {
  readonly identities: readonly Identity[];
  /** The folder for the result; default the folder of the source. */
  readonly outDir?: string;
  /** An exact output path (overrides outDir and the stored name). */
  readonly output?: string;
  /** Replace an existing file at the output path. */
  readonly force?: boolean;
  /** Remove the `.coffer` file once the plaintext is safely in place (unprotect). */
  readonly removeSource?: boolean;
  /** The protected folders (canonical paths) source and result must stay inside; none: no such check. */
  readonly roots?: readonly string[];
}

export interface DecryptManyOptions {
  readonly identities: readonly Identity[];
  /** Progress and cancel for one file of a batch. */
  readonly progressFor?: (path: string) => Progress;
  /** The protected folders (canonical paths) every file must stay inside; none: no such check. */
  readonly roots?: readonly string[];
}

export interface SafeFilesOptions {
  /** Files at least this large are authenticated while they are written, on a second thread. */
  readonly tailVerifyFrom?: number;
  /** Which plaintexts other processes hold open (default: this platform's, busy.ts). */
  readonly probe?: OpenFileProbe;
  /** How long a removed plaintext's descriptor is watched for late writes (held.ts); default 1000 ms. */
  readonly graceMs?: number;
  /** Where temp files are journaled (temp-journal.ts); none: temp files are not journaled. */
  readonly tempJournal?: TempJournal;
}
