/**
 * One file of a protect or unprotect run, as a worker runs it: decides between doing the work, resolving a
 * leftover of an interrupted run, and reporting a conflict, then hands the write itself to SafeFiles (which
 * is crash safe). Never throws for a file-level problem: every outcome is a FileOutcome.
 */
import { lstatSync } from 'node:fs';
import type { CofferError } from '../../../crypto/errors.js';
import type { Identity, Recipient } from '../../../crypto/keys.js';
import type { Progress } from '../../../crypto/file.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { errnoOf, toCofferError } from '../fs-errors.js';
import { PROTECTED_SUFFIX, SafeFiles } from '../safe-file.js';
import { sameContent } from './same-content.js';
import type { FileOutcome, Op } from './types.js';

export interface FileOpContext {
  readonly sodium: SodiumBackend;
  readonly safeFiles: SafeFiles;
  readonly recipients: readonly Recipient[];
  readonly identities: readonly Identity[];
  /** Progress and cancel for one file. */
  readonly progressFor?: (path: string) => Progress;
  /** The protected folders every file must stay inside (safe-file/dir.ts). */
  readonly roots?: readonly string[];
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
}

function existsQuietly(path: string): boolean {
  try {
    return exists(path);
  } catch {
    return true;
  }
}

/** `x.coffer` → `x`. */
export function plainPathOf(cofferPath: string): string {
  return cofferPath.slice(0, -PROTECTED_SUFFIX.length);
}

function conflict(path: string, other: string): FileOutcome {
  return {
    path,
    kind: 'skipped',
    code: 'CONFLICT',
    reason: `${path}: both it and ${other} exist, with different content; neither was changed`,
  };
}

/**
 * Both copies exist. When they hold the same content this is what an interrupted run leaves between its
 * rename and its removal: remove `extra`. Otherwise both stay and the user decides.
 */
function resolvePair(ctx: FileOpContext, cofferPath: string, plainPath: string, extra: string): FileOutcome {
  const subject = extra === plainPath ? plainPath : cofferPath;
  const other = extra === plainPath ? cofferPath : plainPath;
  // Read and removed through the verified folder (safe-file/dir.ts), never a path resolved twice.
  const removed = ctx.safeFiles.removeDuplicate(extra, other, ctx.roots, (at, otherAt) =>
    extra === plainPath
      ? sameContent(ctx.sodium, otherAt, at, ctx.identities)
      : sameContent(ctx.sodium, at, otherAt, ctx.identities),
  );
  if (!removed) return conflict(subject, other);
  return { path: subject, kind: 'leftover', removed: extra };
}

/**
 * Protects many files at once: pairs left by an interrupted run are resolved one by one, the rest go
 * through SafeFiles' batch call, which shares its durability barriers across the batch.
 */
export function protectFiles(paths: readonly string[], ctx: FileOpContext): FileOutcome[] {
  const outcomes: FileOutcome[] = [];
  const fresh: { index: number; path: string }[] = [];
  paths.forEach((path, index) => {
    try {
      const target = path + PROTECTED_SUFFIX;
      if (exists(target)) outcomes[index] = resolvePair(ctx, target, path, path);
      else fresh.push({ index, path });
    } catch (raw) {
      outcomes[index] = outcomeOf('protect', path, raw);
    }
  });
  const results = ctx.safeFiles.encryptManyInPlace(
    fresh.map((f) => f.path),
    {
      recipients: ctx.recipients,
      identities: ctx.identities,
      ...(ctx.progressFor ? { progressFor: ctx.progressFor } : {}),
      ...(ctx.roots ? { roots: ctx.roots } : {}),
    },
  );
  results.forEach((result, i) => {
    const file = fresh[i];
    if (!file) return;
    outcomes[file.index] = result.ok
      ? { path: file.path, kind: 'done', bytes: result.value.metadata.size, target: result.value.target }
      : outcomeOf('protect', file.path, result.error);
  });
  return outcomes;
}

/**
 * Unprotects many files at once (x.coffer → x, keeping the name each file has now, not the stored one):
 * pairs left by an interrupted run are resolved one by one, the rest go through SafeFiles' batch call,
 * which shares its durability barriers across the batch (as protectFiles does).
 */
export function unprotectFiles(paths: readonly string[], ctx: FileOpContext): FileOutcome[] {
  const outcomes: FileOutcome[] = [];
  const fresh: { index: number; path: string }[] = [];
  paths.forEach((path, index) => {
    try {
      const target = plainPathOf(path);
      if (exists(target)) outcomes[index] = resolvePair(ctx, path, target, path);
      else fresh.push({ index, path });
    } catch (raw) {
      outcomes[index] = outcomeOf('unprotect', path, raw);
    }
  });
  const results = ctx.safeFiles.decryptManyInPlace(
    fresh.map((f) => f.path),
    {
      identities: ctx.identities,
      ...(ctx.progressFor ? { progressFor: ctx.progressFor } : {}),
      ...(ctx.roots ? { roots: ctx.roots } : {}),
    },
  );
  results.forEach((result, i) => {
    const file = fresh[i];
    if (!file) return;
    outcomes[file.index] = result.ok
      ? { path: file.path, kind: 'done', bytes: result.value.metadata.size, target: plainPathOf(file.path) }
      : outcomeOf('unprotect', file.path, result.error);
  });
  return outcomes;
}

/** What one file's error means for the run: retry later, skip with a reason, or a failure. */
function outcomeOf(op: Op, path: string, raw: unknown): FileOutcome {
  let error: CofferError;
  try {
    error = toCofferError(raw, path);
  } catch {
    const message = raw instanceof Error ? raw.message : String(raw);
    return { path, kind: 'failed', code: 'INTERNAL', message, hint: 'This is a bug in Coffer: report it.' };
  }
  switch (error.code) {
    case 'SOURCE_CHANGED':
      return { path, kind: 'changed' };
    case 'CANCELLED':
      return { path, kind: 'cancelled' };
    case 'NOT_FOUND':
      if (!existsQuietly(path)) {
        return {
          path,
          kind: 'skipped',
          code: 'VANISHED',
          reason: `${path}: deleted before it was processed`,
        };
      }
      break;
    case 'NAME_TOO_LONG':
    case 'NOT_A_FILE':
    case 'SYMLINK':
    case 'IN_USE':
    case 'OUTSIDE_FOLDER':
      return { path, kind: 'skipped', code: error.code, reason: error.message };
    case 'ALREADY_EXISTS':
      return conflict(path, op === 'protect' ? path + PROTECTED_SUFFIX : plainPathOf(path));
  }
  return { path, kind: 'failed', code: error.code, message: error.message, hint: error.hint };
}
