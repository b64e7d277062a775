/**
 * Protecting files in place, in batches (DESIGN.md "Writing files safely"). Every ciphertext goes to a
 * temporary file beside its target and is authenticated by reading it back; then, with one durability
 * barrier per step for the whole batch: the temps are made durable, renamed into place (never replacing a
 * file), the folders fsynced, and only then are the plaintexts removed. A crash at any moment leaves the
 * intact source or an intact, verifiable result — never neither — plus at most a temporary file.
 */
import { closeSync, lstatSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import { encryptFd, type Progress } from '../../../crypto/file.js';
import type { Identity } from '../../../crypto/keys.js';
import type { FileMetadata } from '../../../crypto/metadata.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { errnoOf, toCofferError } from '../fs-errors.js';
import { TailVerifier } from '../tail-verify.js';
import { verifyFile } from './decrypt.js';
import {
  fsyncDir,
  fsyncDirs,
  makeDurable,
  removeQuietly,
  renameNoClobber,
  writebackKicker,
} from './durable.js';
import { MAX_NAME_BYTES, PROTECTED_SUFFIX } from './names.js';
import { openRegularForRead, sameFile, writeThroughTemp } from './open.js';
import type { BatchResult, EncryptManyOptions } from './types.js';

interface PendingWrite {
  readonly path: string;
  readonly target: string;
  readonly temp: string;
  readonly source: Stats;
  readonly metadata: FileMetadata;
}

export interface EncryptContext {
  readonly sodium: SodiumBackend;
  /** Files at least this large are authenticated while they are written, on a second thread. */
  readonly tailVerifyFrom: number;
}

/** Returns one result per item, in order; one file's problem never stops the others. */
export function encryptBatch(
  ctx: EncryptContext,
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
        ...writeVerifiedTemp(ctx, path, target, { ...options, ...options.progressFor?.(path) }),
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

/** The verifier thread zeroes the keys it is given when done: it gets copies, so the caller's stay intact. */
function copyIdentities(identities: readonly Identity[]): Identity[] {
  return identities.map((i) =>
    i.kind === 'device' ? { kind: 'device', key: i.key.slice() } : { ...i, secretKey: i.secretKey.slice() },
  );
}

/** Encrypts `path` into a temporary file beside `target` and authenticates it by reading it back. */
function writeVerifiedTemp(
  ctx: EncryptContext,
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
  const source = openRegularForRead(path);
  // Large files are authenticated on a second thread while they are written; small ones after.
  const verifier =
    source.stats.size >= ctx.tailVerifyFrom
      ? (tempPath: string) => {
          // The verifier thread gets (and later zeroes) clones; the copies made here are zeroed at once.
          const copies = copyIdentities(options.identities);
          const verifier = new TailVerifier(sodium.name, tempPath, copies);
          for (const c of copies) sodium.zero(c.kind === 'device' ? c.key : c.secretKey);
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
        return encryptFd(sodium, source.fd, fd, {
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
    const verified = (tail as TailVerifier | null)?.finish() ?? verifyFile(sodium, temp, options.identities);
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
