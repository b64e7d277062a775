/**
 * Protecting files in place, in batches (DESIGN.md "Writing files safely"). Every ciphertext goes to a
 * temporary file beside its target and is authenticated by reading it back; then, with one durability
 * barrier per step for the whole batch: the temps are made durable, renamed into place (never replacing a
 * file), the folders fsynced, and only then are the plaintexts removed — each only if no other process has
 * it open (busy.ts), it is still the file that was read, and its folder is still inside the root (dir.ts);
 * its descriptor is kept across the unlink for a grace period (held.ts). A crash at any moment leaves the
 * intact source or an intact, verifiable result — never neither — plus at most a journaled temporary file.
 */
import { closeSync, fstatSync, lstatSync, openSync, renameSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import { encryptFd, type Progress } from '../../../crypto/file.js';
import type { Identity } from '../../../crypto/keys.js';
import type { FileMetadata } from '../../../crypto/metadata.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { errnoOf, toCofferError } from '../fs-errors.js';
import { TailVerifier, type WrittenFile } from '../tail-verify.js';
import type { Holder, OpenFileProbe } from './busy.js';
import { verifyFile } from './decrypt.js';
import { DirSet, rootResolver, type VerifiedDir } from './dir.js';
import { makeDurable, removeQuietly, renameNoClobber, writebackKicker } from './durable.js';
import type { HeldPlaintexts, ReadPlaintext } from './held.js';
import { MAX_NAME_BYTES, PROTECTED_SUFFIX, tempNameFor } from './names.js';
import { openRegularIn, READ_NOFOLLOW, sameFile, writeTempIn } from './open.js';
import type { TempJournal } from './temp-journal.js';
import type { BatchResult, EncryptManyOptions } from './types.js';

interface PendingWrite {
  readonly path: string;
  readonly src: VerifiedDir;
  readonly srcName: string;
  readonly tgt: VerifiedDir;
  readonly tgtName: string;
  /** The temp file's name, in `tgt`. */
  readonly temp: string;
  readonly source: Stats;
  /** When `source` was opened and stat'ed (`performance.now()`): the grace period counts from it (held.ts). */
  readonly readAt: number;
  readonly metadata: FileMetadata;
  /** The ciphertext file as written (and read back): only it may stand for the plaintext. */
  readonly written: WrittenFile;
}

export interface EncryptContext {
  readonly sodium: SodiumBackend;
  /** Files at least this large are authenticated while they are written, on a second thread. */
  readonly tailVerifyFrom: number;
  readonly probe: OpenFileProbe;
  readonly held: HeldPlaintexts;
  readonly journal: TempJournal | null;
}

/** Returns one result per item, in order; one file's problem never stops the others. */
export function encryptBatch(
  ctx: EncryptContext,
  items: readonly { path: string; target: string }[],
  options: EncryptManyOptions,
): BatchResult[] {
  ctx.held.check(false);
  const dirs = new DirSet(rootResolver(options.roots));
  try {
    return encryptIn(ctx, dirs, items, options);
  } finally {
    dirs.close();
  }
}

function encryptIn(
  ctx: EncryptContext,
  dirs: DirSet,
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
        ...writeVerifiedTemp(ctx, dirs, path, target, { ...options, ...options.progressFor?.(path) }),
      });
    } catch (error) {
      fail(index, path, error);
    }
  });

  // Barrier 1: every ciphertext is durable before any takes its final name.
  try {
    // Keyed by the temp's own file system (a source may sit elsewhere: a bind-mounted file).
    makeDurable(written.map((w) => ({ path: w.tgt.at(w.temp), dev: w.written.dev })));
  } catch (error) {
    for (const w of written) {
      removeQuietly(w.tgt.at(w.temp));
      fail(w.index, w.path, error);
    }
    return results;
  }
  const renamed = written.filter((w) => {
    try {
      w.tgt.recheck();
      renameNoClobber(w.tgt.at(w.temp), w.tgt.at(w.tgtName));
      return true;
    } catch (error) {
      removeQuietly(w.tgt.at(w.temp));
      fail(w.index, w.path, error);
      return false;
    }
  });
  // Barrier 2: the new names are durable before any plaintext goes. If that cannot be promised, every
  // plaintext stays: both copies are there, and the next run keeps exactly one.
  try {
    for (const dir of new Set(renamed.map((w) => w.tgt))) dir.fsync();
  } catch (error) {
    for (const w of renamed) fail(w.index, w.path, error);
    return results;
  }

  // As late as possible before the removals: which plaintexts another process has open.
  const holders = options.keep
    ? new Map<number, Holder>()
    : ctx.probe.holders(
        renamed.map((w) => ({ dev: w.source.dev, ino: w.source.ino, real: `${w.src.real}/${w.srcName}` })),
        // A scan from before these files were read (an earlier batch's) missed whoever opened them since.
        { openedAt: Math.min(...renamed.map((w) => w.readAt)) },
      );
  renamed.forEach((w, i) => {
    try {
      if (!options.keep) {
        const holder = holders.get(i);
        if (holder) {
          withdraw(w);
          throw new CofferError(
            'IN_USE',
            `${w.path}: open in ${holder.name} (process ${holder.pid}); left as it is`,
            'It will be protected once that program closes it.',
          );
        }
        removePlaintext(ctx, w);
      }
      results[w.index] = {
        ok: true,
        value: { target: w.tgt.display(w.tgtName), metadata: w.metadata, written: w.written },
      };
    } catch (error) {
      fail(w.index, w.path, error);
    }
  });
  // Barrier 3: the removals. Not a condition of safety (a crash before it leaves both copies, which the
  // next run resolves), so a failure here must not turn protected files into failures.
  if (!options.keep) {
    try {
      for (const dir of new Set(renamed.map((w) => w.src))) dir.fsync();
    } catch {
      // see above: nothing is lost, and the next run finishes the removal
    }
  }
  return results;
}

/** The ciphertext of a plaintext that stays goes again (it would be stale, or look like a leftover). */
function withdraw(w: PendingWrite): void {
  w.tgt.recheck();
  unlinkSync(w.tgt.at(w.tgtName));
  w.tgt.fsync();
}

function changedWhileProtected(w: PendingWrite): CofferError {
  return new CofferError(
    'SOURCE_CHANGED',
    `${w.path}: changed while it was being protected`,
    'It will be protected once it stops changing.',
  );
}

/**
 * Removes the plaintext of a protected file, unless it was written to after it was read. The name is
 * first moved aside and checked to be the very inode that was encrypted (an editor saving by rename in
 * that instant put a new file there: it goes back), then removed; its descriptor is held for the grace
 * period.
 */
function removePlaintext(ctx: EncryptContext, w: PendingWrite): void {
  // The protected name must hold the very file that was written and read back: a name swapped after the
  // check (another authentic file under the same key, say) would otherwise stand for this plaintext.
  w.tgt.recheck();
  const placed = lstatSync(w.tgt.at(w.tgtName));
  if (placed.dev !== w.written.dev || placed.ino !== w.written.ino) {
    throw new CofferError(
      'VERIFY_FAILED',
      `${w.path}: ${w.tgtName} is not the file that was written and checked; the original was kept`,
      'Try again; the original was kept.',
    );
  }
  unlinkHeld(ctx, w.path, w.src, w.srcName, { stats: w.source, since: w.readAt }, (why) => {
    withdraw(w);
    return why ?? changedWhileProtected(w);
  });
}

/**
 * Unlinks `name` in `src` if it is still the file `source` was read from (moved aside first, so what is
 * checked is exactly what is removed), keeping its descriptor for the grace period (held.ts). Otherwise
 * throws what `changed` returns (the name is put back first).
 */
function unlinkHeld(
  ctx: EncryptContext,
  path: string,
  src: VerifiedDir,
  name: string,
  read: ReadPlaintext,
  changed: (why?: CofferError) => Error,
): void {
  const source = read.stats;
  let fd: number;
  try {
    fd = openSync(src.at(name), READ_NOFOLLOW);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return; // removed meanwhile: nothing left in the clear
    throw error;
  }
  try {
    const now = fstatSync(fd);
    if (!sameFile(now, source)) throw changed();
    // Another name made since the walk looked (a streamed run reads a chunk long after walking it) would
    // keep this content in the clear: never claimed protected (issue 10 item 4).
    if (now.nlink > 1) throw changed(hardLinked(path, now.nlink));
    const aside = tempNameFor(name);
    ctx.journal?.record(`${src.real}/${aside}`, fd);
    src.recheck();
    renameSync(src.at(name), src.at(aside));
    const moved = lstatSync(src.at(aside));
    if (moved.dev !== source.dev || moved.ino !== source.ino) {
      renameNoClobber(src.at(aside), src.at(name));
      throw changed();
    }
    unlinkSync(src.at(aside));
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  // A name made in the instant between the check and the unlink: the ciphertext stays, but this is no
  // success (that name keeps the content in the clear).
  const { nlink } = fstatSync(fd);
  ctx.held.hold(fd, src, name, read);
  if (nlink > 0) throw hardLinked(path, nlink + 1);
}

function hardLinked(path: string, nlink: number): CofferError {
  return new CofferError(
    'HARD_LINK',
    `${path}: ${nlink - 1} other hard link(s) share its content, which they would keep in the clear`,
    'Remove the other names (`find / -samefile FILE` lists them) or replace this one with a copy of itself, then protect again.',
  );
}

/**
 * The plaintext of a file protected by other means (`coffer encrypt --replace`: encrypted with `keep`,
 * then renamed over the old `.coffer`) goes under the rules of every removal (issue 10 item 2): not while
 * another process has it open (IN_USE), only if it is still the file read (`before`; STILL_CHANGING
 * otherwise), and held for the grace period.
 */
export function removeProtectedPlaintext(
  ctx: EncryptContext,
  path: string,
  before: Stats,
  roots: readonly string[] | undefined,
  protectedBy: { readonly path: string; readonly written: WrittenFile },
): void {
  const dirs = new DirSet(rootResolver(roots));
  try {
    const src = dirs.get(dirname(path));
    const name = basename(path);
    // Fresh: an earlier file's scan (seconds old on a loaded machine) missed whoever opened this one since.
    const [holder] = ctx.probe
      .holders([{ dev: before.dev, ino: before.ino, real: `${src.real}/${name}` }], { fresh: true })
      .values();
    if (holder) {
      throw new CofferError(
        'IN_USE',
        `${path}: open in ${holder.name} (process ${holder.pid}); left as it is`,
        'It will be protected once that program closes it.',
      );
    }
    // Last, as in removePlaintext: the protected name must hold the very file written and read back.
    const tgt = dirs.get(dirname(protectedBy.path));
    tgt.recheck();
    const placed = lstatSync(tgt.at(basename(protectedBy.path)));
    if (placed.dev !== protectedBy.written.dev || placed.ino !== protectedBy.written.ino) {
      throw new CofferError(
        'VERIFY_FAILED',
        `${path}: ${protectedBy.path} is not the file that was written and checked; the original was kept`,
        'Try again; the original was kept.',
      );
    }
    // No `since`: when `before` was taken is not known here, so the full grace period applies.
    unlinkHeld(ctx, path, src, name, { stats: before }, (why) => {
      if (why) return why;
      return new CofferError(
        'STILL_CHANGING',
        `${path}: changed while it was being protected; the protected file holds the version read, ${path} is kept`,
        'Run the same command again once the program writing it is done.',
      );
    });
    src.fsync();
  } finally {
    dirs.close();
  }
}

/** See SafeFiles.removeDuplicate. */
export function removeDuplicate(
  ctx: EncryptContext,
  path: string,
  other: string,
  roots: readonly string[] | undefined,
  isDuplicate: (path: string, other: string) => boolean,
): boolean {
  const dirs = new DirSet(rootResolver(roots));
  try {
    const dir = dirs.get(dirname(path));
    const name = basename(path);
    if (dirname(other) !== dirname(path))
      throw new Error('removeDuplicate: both copies must be in one folder');
    if (!isDuplicate(dir.at(name), dir.at(basename(other)))) return false;
    const stats = lstatSync(dir.at(name));
    // Fresh, as above: the removal below keeps no descriptor to catch a later write.
    const [holder] = ctx.probe
      .holders([{ dev: stats.dev, ino: stats.ino, real: `${dir.real}/${name}` }], { fresh: true })
      .values();
    if (holder) {
      throw new CofferError(
        'IN_USE',
        `${path}: open in ${holder.name} (process ${holder.pid}); left as it is`,
        'It will be resolved once that program closes it.',
      );
    }
    dir.recheck();
    unlinkSync(dir.at(name));
    dir.fsync();
    return true;
  } finally {
    dirs.close();
  }
}

/** The verifier thread zeroes the keys it is given when done: it gets copies, so the caller's stay intact. */
function copyIdentities(identities: readonly Identity[]): Identity[] {
  return identities.map((i) =>
    i.kind === 'device' ? { kind: 'device', key: i.key.slice() } : { ...i, secretKey: i.secretKey.slice() },
  );
}

/** Encrypts `path` into a temporary file beside `target` and authenticates it by reading it back. */
function writeVerifiedTemp(
  ctx: EncryptContext,
  dirs: DirSet,
  path: string,
  target: string,
  options: EncryptManyOptions & Progress,
): PendingWrite {
  const { sodium } = ctx;
  if (Buffer.byteLength(basename(target)) > MAX_NAME_BYTES) {
    throw new CofferError(
      'NAME_TOO_LONG',
      `${path}: the name is too long to add "${PROTECTED_SUFFIX}"`,
      'Shorten the file name; it stays in the clear until then.',
    );
  }
  const src = dirs.get(dirname(path));
  const tgt = dirs.get(dirname(target));
  const srcName = basename(path);
  const tgtName = basename(target);
  const source = openRegularIn(src, srcName);
  // After the stat (a later start only lengthens the grace period that counts from it).
  const readAt = performance.now();
  // Large files are authenticated on a second thread while they are written; small ones after.
  const verifier =
    source.stats.size >= ctx.tailVerifyFrom
      ? (tempPath: string, written: WrittenFile) => {
          // The verifier thread gets (and later zeroes) clones; the copies made here are zeroed at once.
          const copies = copyIdentities(options.identities);
          const verifier = new TailVerifier(sodium.name, tempPath, written, copies);
          for (const c of copies) sodium.zero(c.kind === 'device' ? c.key : c.secretKey);
          return verifier;
        }
      : null;
  let tail: TailVerifier | null = null;
  let metadata: FileMetadata;
  let temp: string;
  let writtenTemp: WrittenFile | null = null;
  try {
    ({ result: metadata, temp } = writeTempIn(
      tgt,
      tgtName,
      source.stats.mode & 0o666,
      ctx.journal,
      (fd, tempPath) => {
        const { dev, ino } = fstatSync(fd);
        writtenTemp = { dev, ino };
        tail = verifier?.(tempPath, writtenTemp) ?? null;
        const kick = writebackKicker(tempPath);
        const written = encryptFd(sodium, source.fd, fd, {
          ...options,
          name: basename(path),
          onProgress: (bytes) => {
            tail?.wrote();
            kick.wrote(bytes);
            options.onProgress?.(bytes);
          },
        });
        // The last bytes go out while the verifier reads them back (the barrier fsync then waits less).
        kick.done();
        return written;
      },
      { durable: false },
    ));
  } catch (error) {
    (tail as TailVerifier | null)?.abort();
    throw error;
  } finally {
    closeSync(source.fd);
  }
  const writtenFile = writtenTemp as WrittenFile | null;
  if (!writtenFile) throw new Error('writeTempIn did not call fill');
  try {
    const verified =
      (tail as TailVerifier | null)?.finish() ??
      verifyFile(sodium, tgt.at(temp), options.identities, {}, writtenFile);
    if (verified.size !== metadata.size) {
      throw new CofferError(
        'VERIFY_FAILED',
        `${path}: read back a different size`,
        'Report this as a bug; the original was kept.',
      );
    }
  } catch (error) {
    removeQuietly(tgt.at(temp));
    throw error;
  }
  return {
    path,
    src,
    srcName,
    tgt,
    tgtName,
    temp,
    source: source.stats,
    readAt,
    metadata,
    written: writtenFile,
  };
}
