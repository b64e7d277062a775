/**
 * Crash-safe file operations (DESIGN.md "Writing files safely"). Every write goes to a temporary file in
 * the target's folder, is fsynced and authenticated once more by reading it back, renamed into place, and
 * the folder fsynced; only then is the source removed. A crash at any moment leaves the intact source or an
 * intact, verifiable result — never neither — plus at most a temporary file, which is always garbage
 * (isTempName) and removed by the next run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  futimesSync,
  linkSync,
  lstatSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CofferError } from '../../crypto/errors.js';
import {
  decryptFd,
  encryptFd,
  readHeaderFd,
  rewrapHeader,
  writeFully,
  type Progress,
} from '../../crypto/file.js';
import type { Identity, Recipient } from '../../crypto/keys.js';
import type { FileMetadata } from '../../crypto/metadata.js';
import { DecryptSession } from '../../crypto/session.js';
import type { SodiumBackend } from '../../crypto/sodium.js';
import { errnoOf, toCofferError } from './fs-errors.js';
import { TailVerifier } from './tail-verify.js';

export const PROTECTED_SUFFIX = '.coffer';
const TEMP_MARK = '.coffer.tmp-';
/** Exactly the names tempPathFor makes: a user's own file that merely contains the mark is not garbage. */
const TEMP_NAME = /\.coffer\.tmp-[0-9a-f]{12}$/;
/** Most file systems allow 255 bytes per name. */
const MAX_NAME_BYTES = 255;

/** A leftover of an interrupted write: always safe to delete, never the only copy of anything. */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

export function isProtectedName(name: string): boolean {
  return name.endsWith(PROTECTED_SUFFIX) && !isTempName(name);
}

function tempPathFor(target: string): string {
  const suffix = `${TEMP_MARK}${randomBytes(6).toString('hex')}`;
  const name = basename(target);
  // A name near the limit still gets a temporary file, under a short hidden name that is as recognizable.
  const tempName = Buffer.byteLength(name + suffix) <= MAX_NAME_BYTES ? name + suffix : suffix;
  return join(dirname(target), tempName);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    // Some platforms (Windows) and file systems cannot open or fsync a folder; the rename is still atomic.
    if (!['EISDIR', 'EPERM', 'EACCES', 'EINVAL'].includes(errnoOf(error) ?? '')) throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // best effort: a leftover temp file is recognized and removed by the next run
  }
}

/** Renames without replacing an existing file (link + unlink is atomic no-clobber where links exist). */
function renameNoClobber(from: string, to: string): void {
  try {
    linkSync(from, to);
    unlinkSync(from);
  } catch (error) {
    const errno = errnoOf(error);
    if (errno !== 'EPERM' && errno !== 'ENOTSUP' && errno !== 'EXDEV') throw error;
    // No hard links here (FAT, some network shares): check, then rename.
    try {
      lstatSync(to);
      throw Object.assign(new Error('target exists'), { code: 'EEXIST' });
    } catch (statError) {
      if (errnoOf(statError) !== 'ENOENT') throw statError;
    }
    renameSync(from, to);
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  // ctime too: a same-size rewrite that restores the mtime (touch -r, rsync -t) still moves the ctime.
  return (
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs
  );
}

/** Where `sync -f` (syncfs(2)) is, to make a whole batch durable with one call. */
const SYNC_BINARY =
  process.platform === 'linux' ? ['/usr/bin/sync', '/bin/sync'].find((p) => existsSync(p)) : undefined;

/**
 * Makes written files durable. One file: fsync. Many on Linux: one syncfs per file system, which costs
 * about what a single fsync does; elsewhere, or if that fails, fsync each.
 */
function makeDurable(files: readonly { path: string; dev: number }[]): void {
  if (files.length > 1 && SYNC_BINARY) {
    const oneByDevice = new Map(files.map((f) => [f.dev, f.path]));
    try {
      for (const path of oneByDevice.values()) execFileSync(SYNC_BINARY, ['-f', path], { stdio: 'ignore' });
      return;
    } catch {
      // fall through to fsync each file
    }
  }
  for (const { path } of files) {
    const fd = openSync(path, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

const KICK_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * Starts the kernel writing a large file out while we go on encrypting and then authenticating it, so the
 * fsync barrier that follows finds little left to wait for (on a 1 GiB file it hides most of the ~0.45 s
 * fsync). Fire and forget: durability still comes only from the barrier. Linux only (where syncfs is).
 */
function writebackKicker(path: string): (bytesWritten: number) => void {
  let next = KICK_EVERY_BYTES;
  return (bytesWritten) => {
    if (!SYNC_BINARY || bytesWritten < next) return;
    next = bytesWritten + KICK_EVERY_BYTES;
    spawn(SYNC_BINARY, ['-f', path], { stdio: 'ignore' })
      .on('error', () => undefined)
      .unref();
  };
}

function fsyncDirs(dirs: readonly string[]): void {
  for (const dir of new Set(dirs)) fsyncDir(dir);
}

/** Removes the plaintext of a protected file, unless it was written to after it was read. */
function removeIfUnchanged(write: PendingWrite): void {
  let now: Stats | undefined;
  try {
    now = lstatSync(write.path);
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
  if (now && !sameFile(now, write.source)) {
    // The ciphertext is stale: keep the newer plaintext; it is protected once it stops changing.
    unlinkSync(write.target);
    fsyncDir(dirname(write.target));
    throw new CofferError(
      'SOURCE_CHANGED',
      `${write.path}: changed while it was being protected`,
      'It will be protected once it stops changing.',
    );
  }
  if (now) unlinkSync(write.path);
}

// Windows has no O_NOFOLLOW; there lstat checks and reparse-point semantics apply instead.
export const NOFOLLOW = (constants as { O_NOFOLLOW?: number }).O_NOFOLLOW ?? 0;

function openRegularForRead(path: string): { fd: number; stats: Stats } {
  const fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw new CofferError(
      'NOT_A_FILE',
      `${path}: not a regular file`,
      'Only regular files can be protected.',
    );
  }
  return { fd, stats };
}

/** Writes `target` through a temporary file that `fill` writes into; returns what `fill` returned. */
function writeThroughTemp<T>(
  target: string,
  mode: number | null,
  fill: (fd: number, tempPath: string) => T,
  { durable }: { durable: boolean } = { durable: true },
): { result: T; temp: string } {
  const temp = tempPathFor(target);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
  try {
    const result = fill(fd, temp);
    if (mode !== null) fchmodSync(fd, mode);
    if (durable) fsyncSync(fd);
    closeSync(fd);
    return { result, temp };
  } catch (error) {
    closeSync(fd);
    removeQuietly(temp);
    throw error;
  }
}

export interface EncryptManyOptions extends Progress {
  readonly recipients: readonly Recipient[];
  /** Keys that open what was just written, for the read-back check. */
  readonly identities: readonly Identity[];
  /** Keep the plaintext after protecting it. */
  readonly keep?: boolean;
  /** Progress and cancel for one file of a batch (overrides onProgress and signal). */
  readonly progressFor?: (path: string) => Progress;
}

export interface EncryptInPlaceOptions extends EncryptManyOptions {
  /** Where to write; default `<path>.coffer`. */
  readonly output?: string;
}

export type BatchResult =
  | { readonly ok: true; readonly value: { readonly target: string; readonly metadata: FileMetadata } }
  | { readonly ok: false; readonly error: CofferError };

interface PendingWrite {
  readonly path: string;
  readonly target: string;
  readonly temp: string;
  readonly source: Stats;
  readonly metadata: FileMetadata;
}

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
}

export interface SafeFilesOptions {
  /** Files at least this large are authenticated while they are written, on a second thread. */
  readonly tailVerifyFrom?: number;
}

/** Below this, starting a thread costs more than reading the file back after writing it. */
const TAIL_VERIFY_FROM = 64 * 1024 * 1024;

/** The verifier thread zeroes the keys it is given when done: it gets copies, so the caller's stay intact. */
function copyIdentities(identities: readonly Identity[]): Identity[] {
  return identities.map((i) =>
    i.kind === 'device' ? { kind: 'device', key: i.key.slice() } : { ...i, secretKey: i.secretKey.slice() },
  );
}

export class SafeFiles {
  private readonly options: Required<SafeFilesOptions>;

  constructor(
    private readonly sodium: SodiumBackend,
    options: SafeFilesOptions = {},
  ) {
    this.options = { tailVerifyFrom: options.tailVerifyFrom ?? TAIL_VERIFY_FROM };
  }

  /**
   * `a.xlsx` → `a.xlsx.coffer`; the plaintext is removed only after the ciphertext is fsynced, read back
   * and authenticated, renamed into place and the folder fsynced, and only if the plaintext did not change
   * meanwhile (SOURCE_CHANGED otherwise, with the plaintext left as it is).
   */
  encryptInPlace(path: string, options: EncryptInPlaceOptions): { target: string; metadata: FileMetadata } {
    const [result] = this.encryptBatch(
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
    return this.encryptBatch(
      paths.map((path) => ({ path, target: path + PROTECTED_SUFFIX })),
      options,
    );
  }

  private encryptBatch(
    items: readonly { path: string; target: string }[],
    options: EncryptManyOptions,
  ): BatchResult[] {
    const results: BatchResult[] = [];
    const fail = (index: number, path: string, error: unknown): void => {
      results[index] = { ok: false, error: toCofferError(error, path) };
    };
    const written: (PendingWrite & { index: number })[] = [];
    items.forEach(({ path, target }, index) => {
      try {
        written.push({
          index,
          ...this.writeVerifiedTemp(path, target, { ...options, ...options.progressFor?.(path) }),
        });
      } catch (error) {
        fail(index, path, error);
      }
    });

    // Barrier 1: every ciphertext is durable before any takes its final name.
    try {
      makeDurable(written.map((w) => ({ path: w.temp, dev: w.source.dev })));
    } catch (error) {
      for (const w of written) {
        removeQuietly(w.temp);
        fail(w.index, w.path, error);
      }
      return results;
    }
    const renamed = written.filter((w) => {
      try {
        renameNoClobber(w.temp, w.target);
        return true;
      } catch (error) {
        removeQuietly(w.temp);
        fail(w.index, w.path, error);
        return false;
      }
    });
    // Barrier 2: the new names are durable before any plaintext goes. If that cannot be promised, every
    // plaintext stays: both copies are there, and the next run keeps exactly one.
    try {
      fsyncDirs(renamed.map((w) => dirname(w.target)));
    } catch (error) {
      for (const w of renamed) fail(w.index, w.path, error);
      return results;
    }

    for (const w of renamed) {
      try {
        if (!options.keep) removeIfUnchanged(w);
        results[w.index] = { ok: true, value: { target: w.target, metadata: w.metadata } };
      } catch (error) {
        fail(w.index, w.path, error);
      }
    }
    // Barrier 3: the removals. Not a condition of safety (a crash before it leaves both copies, which the
    // next run resolves), so a failure here must not turn protected files into failures.
    if (!options.keep) {
      try {
        fsyncDirs(renamed.map((w) => dirname(w.path)));
      } catch {
        // see above: nothing is lost, and the next run finishes the removal
      }
    }
    return results;
  }

  /** Encrypts `path` into a temporary file beside `target` and authenticates it by reading it back. */
  private writeVerifiedTemp(
    path: string,
    target: string,
    options: EncryptManyOptions & Progress,
  ): PendingWrite {
    if (Buffer.byteLength(basename(target)) > MAX_NAME_BYTES) {
      throw new CofferError(
        'NAME_TOO_LONG',
        `${path}: the name is too long to add "${PROTECTED_SUFFIX}"`,
        'Shorten the file name; it stays in the clear until then.',
      );
    }
    const source = openRegularForRead(path);
    // Large files are authenticated on a second thread while they are written; small ones after.
    const verifier =
      source.stats.size >= this.options.tailVerifyFrom
        ? (tempPath: string) => {
            // The verifier thread gets (and later zeroes) clones; the copies made here are zeroed at once.
            const copies = copyIdentities(options.identities);
            const verifier = new TailVerifier(this.sodium.name, tempPath, copies);
            for (const c of copies) this.sodium.zero(c.kind === 'device' ? c.key : c.secretKey);
            return verifier;
          }
        : null;
    let tail: TailVerifier | null = null;
    let metadata: FileMetadata;
    let temp: string;
    try {
      ({ result: metadata, temp } = writeThroughTemp(
        target,
        source.stats.mode & 0o666,
        (fd, tempPath) => {
          tail = verifier?.(tempPath) ?? null;
          const kick = writebackKicker(tempPath);
          return encryptFd(this.sodium, source.fd, fd, {
            ...options,
            name: basename(path),
            onProgress: (bytes) => {
              tail?.wrote();
              kick(bytes);
              options.onProgress?.(bytes);
            },
          });
        },
        { durable: false },
      ));
    } catch (error) {
      (tail as TailVerifier | null)?.abort();
      throw error;
    } finally {
      closeSync(source.fd);
    }
    try {
      const verified = (tail as TailVerifier | null)?.finish() ?? this.verify(temp, options.identities);
      if (verified.size !== metadata.size) {
        throw new CofferError(
          'VERIFY_FAILED',
          `${path}: read back a different size`,
          'Report this as a bug; the original was kept.',
        );
      }
    } catch (error) {
      removeQuietly(temp);
      throw error;
    }
    return { path, target, temp, source: source.stats, metadata };
  }

  /**
   * Decrypts `path` to the name stored in its metadata (or `output`), through a temporary file renamed into
   * place only after the whole stream authenticated (FORMAT.md §5.3 rule 5). Never replaces an existing
   * file unless `force`.
   */
  decryptTo(path: string, options: DecryptOptions): { target: string; metadata: FileMetadata } {
    try {
      const source = openRegularForRead(path);
      let metadata: FileMetadata;
      let temp: string;
      const provisional =
        options.output ?? join(options.outDir ?? dirname(path), basename(path, PROTECTED_SUFFIX));
      try {
        ({ result: metadata, temp } = writeThroughTemp(provisional, null, (fd) => {
          const meta = decryptFd(this.sodium, source.fd, fd, options.identities, options);
          fchmodSync(fd, meta.mode & 0o777); // never restore setuid/setgid/sticky bits
          futimesSync(fd, new Date(), new Date(meta.mtimeMs));
          return meta;
        }));
      } finally {
        closeSync(source.fd);
      }
      const target = options.output ?? join(options.outDir ?? dirname(path), metadata.name);
      try {
        if (options.force) renameSync(temp, target);
        else renameNoClobber(temp, target);
      } catch (error) {
        removeQuietly(temp);
        throw error;
      }
      fsyncDir(dirname(target));
      if (options.removeSource) {
        unlinkSync(path);
        fsyncDir(dirname(path));
      }
      return { target, metadata };
    } catch (error) {
      throw toCofferError(error, path);
    }
  }

  /** Authenticates the whole file; returns its metadata. */
  verify(path: string, identities: readonly Identity[], progress: Progress = {}): FileMetadata {
    try {
      const { fd } = openRegularForRead(path);
      try {
        return decryptFd(this.sodium, fd, null, identities, progress);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      throw toCofferError(error, path);
    }
  }

  /**
   * Gives a file to other recipients by rewriting only its header (FORMAT.md §8): the file is cloned (a
   * reflink where the file system offers one), the new header written over the clone's, the clone's new
   * header authenticated with `verifyWith`, and the clone renamed over the original. A kill at any moment
   * leaves the original, which the old keys still open.
   */
  rekey(
    path: string,
    identities: readonly Identity[],
    recipients: readonly Recipient[],
    verifyWith: readonly Identity[],
  ): { headerBytes: number; fileBytes: number } {
    try {
      const { fd, stats } = openRegularForRead(path);
      let newHeader: Uint8Array;
      let oldLength: number;
      try {
        const oldHeader = readHeaderFd(fd);
        oldLength = oldHeader.length;
        newHeader = rewrapHeader(this.sodium, oldHeader, identities, recipients);
        const temp = tempPathFor(path);
        try {
          if (newHeader.length === oldHeader.length) {
            copyFileSync(path, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
            const out = openSync(temp, constants.O_RDWR | NOFOLLOW);
            try {
              // The clone must be of the file read above: one saved meanwhile has another header (new file key).
              const cloned = new Uint8Array(oldHeader.length);
              readSync(out, cloned, 0, cloned.length, 0); // positional: the offset stays at 0
              if (fstatSync(out).size !== stats.size || !this.sodium.equal(cloned, oldHeader))
                throw changedWhileRekeyed(path);
              writeFully(out, newHeader);
              fsyncSync(out);
            } finally {
              closeSync(out);
            }
          } else {
            this.copyWithHeader(fd, temp, oldHeader.length, newHeader, stats.mode & 0o666);
          }
          // The payload bytes are the original's, unchanged; what is new is the header: check it opens.
          const check = openSync(temp, 'r');
          try {
            new DecryptSession(this.sodium, readHeaderFd(check), verifyWith);
          } finally {
            closeSync(check);
          }
          // Replace only the file we read, never one written since (an edit saved back, say).
          if (!sameFile(lstatSync(path), stats)) throw changedWhileRekeyed(path);
          renameSync(temp, path);
        } catch (error) {
          removeQuietly(temp);
          throw error;
        }
      } finally {
        closeSync(fd);
      }
      fsyncDir(dirname(path));
      return { headerBytes: newHeader.length, fileBytes: stats.size - oldLength + newHeader.length };
    } catch (error) {
      throw toCofferError(error, path);
    }
  }

  /** Copies the payload from the descriptor already open (the very file whose header was read). */
  private copyWithHeader(
    input: number,
    temp: string,
    oldHeaderLength: number,
    header: Uint8Array,
    mode: number,
  ): void {
    const out = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, mode);
    try {
      writeFully(out, header);
      const buffer = new Uint8Array(1 << 20);
      let position = oldHeaderLength;
      for (;;) {
        const n = readSyncAt(input, buffer, position);
        if (n === 0) break;
        writeFully(out, buffer.subarray(0, n));
        position += n;
      }
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
  }
}

function changedWhileRekeyed(path: string): CofferError {
  return new CofferError(
    'SOURCE_CHANGED',
    `${path}: changed while it was being rekeyed`,
    'Nothing was changed; try again once the file is no longer being saved.',
  );
}

function readSyncAt(fd: number, buffer: Uint8Array, position: number): number {
  return readSync(fd, buffer, 0, buffer.length, position);
}
