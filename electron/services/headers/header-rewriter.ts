/**
 * Re-wraps `.coffer` files for another set of recipients without touching their payload (docs/FORMAT.md
 * §8): in place when the header has room (§4.1), crash-safe through a journal (§8.1); by a copy that adds
 * room otherwise, so the next rewrite is in place.
 *
 * In place, a batch costs one journal write, one pwrite per file and one syncfs: a 1 GiB file re-wraps in
 * about the time of a 1 KiB one.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  writeSync,
  type BigIntStats,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import {
  deriveKeys,
  fitsHeaderLength,
  parseHeader,
  parsePrefix,
  PREFIX_BYTES,
  recipientStanzas,
  roomyHeaderLength,
  serializeHeader,
  stanzaKind,
  unwrapFileKey,
  wrapFileKey,
  type Header,
} from '../../../crypto/header.js';
import { formatKeyId, keyIdOf, type Identity, type Recipient } from '../../../crypto/keys.js';
import { METADATA_BYTES } from '../../../crypto/metadata.js';
import { STREAM_ABYTES, type SodiumBackend } from '../../../crypto/sodium.js';
import { errnoOf, toCofferError } from '../fs-errors.js';
import { fsyncDir, makeDurable, removeQuietly } from '../safe-file/durable.js';
import { isProtectedName, tempPathFor } from '../safe-file/names.js';
import { isInside, rootResolver } from '../safe-file/dir.js';
import { NOFOLLOW } from '../safe-file/open.js';
import {
  journalIdentity,
  listJournals,
  readJournal,
  removeJournal,
  writeJournal,
  type JournalEntry,
} from './journal.js';

export type RewrapOutcome = 'unchanged' | 'in-place' | 'copied';

export interface RewrapResult {
  readonly path: string;
  readonly outcome: RewrapOutcome;
}

export type BatchResult = RewrapResult | { readonly path: string; readonly error: CofferError };

export interface RecoverReport {
  /** Files whose interrupted rewrite was finished (the new header written). */
  readonly completed: readonly string[];
  /** Files that already carried the journalled header: nothing to write. */
  readonly alreadyDone: readonly string[];
  /** Journals or entries that were not acted on, and why. Nothing was written for them. */
  readonly refused: readonly { readonly journal: string; readonly path?: string; readonly reason: string }[];
}

export interface HeaderRewriterDeps {
  readonly sodium: SodiumBackend;
  /** App-data folder for the journal (created by the caller). */
  readonly journalDir: string;
}

interface Plan {
  readonly path: string;
  readonly fd: number;
  readonly stats: BigIntStats;
  readonly writable: boolean;
  readonly oldHeader: Uint8Array;
  readonly newHeader: Uint8Array | null;
}

const MAC_BYTES = 32;
/** Files held open at once by a batch (one journal and one flush each). */
const FILES_PER_CHUNK = 512;
const STREAM_HEADER_BYTES = 24;

function notCoffer(path: string, why: string): CofferError {
  return new CofferError(
    'NOT_A_FILE',
    `${path}: ${why}`,
    'Only regular .coffer files are re-wrapped; links and folders are never followed.',
  );
}

function changed(path: string): CofferError {
  return new CofferError(
    'SOURCE_CHANGED',
    `${path}: changed while it was being re-wrapped`,
    'Nothing was changed; try again once the file is no longer being saved.',
  );
}

function preadFully(fd: number, length: number, position: number): Uint8Array {
  const buffer = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buffer.subarray(0, done);
}

function pwriteFully(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/** `kind:keyId` of each recipient stanza, sorted: two headers with equal lists name the same keys. */
function recipientSet(recipients: readonly Recipient[], ids: readonly Uint8Array[]): string {
  return recipients
    .map((r, i) => `${r.kind}:${formatKeyId(ids[i] ?? new Uint8Array())}`)
    .sort()
    .join(',');
}

/** Files written in place but not yet flushed, and the journals to remove once they are. */
interface Pending {
  readonly written: { path: string; dev: number }[];
  readonly journals: string[];
}

/** Key IDs computed once per batch, not once per file. */
interface Batch {
  readonly identities: readonly Identity[];
  readonly identityIds: readonly Uint8Array[];
  readonly recipients: readonly Recipient[];
  readonly recipientIds: readonly Uint8Array[];
  readonly wanted: string;
  /** The protected folder (or file) a file must lie in (safe-file/dir.ts rootResolver); null: anywhere. */
  readonly rootFor: ((dir: string) => string | null) | null;
}

/**
 * Where the file open on `fd` really is: the kernel's own answer for that descriptor on Linux, so a folder
 * swapped for a link after the path was listed cannot send the rewrite elsewhere; elsewhere its real path
 * now (a window of microseconds remains there, docs/SECURITY.md).
 */
function realPathOf(fd: number, path: string): string {
  if (process.platform === 'linux') {
    try {
      return readlinkSync(`/proc/${process.pid}/fd/${fd}`);
    } catch {
      // no /proc: fall through
    }
  }
  return realpathSync.native(path);
}

/** §3: the header at the start of `fd`, in one read for the usual sizes. */
function readHeaderAt(fd: number): Uint8Array {
  const first = preadFully(fd, 4096, 0);
  const length = parsePrefix(first);
  if (length <= first.length) return first.slice(0, length);
  const rest = preadFully(fd, length - first.length, first.length);
  if (rest.length !== length - first.length)
    throw new CofferError('TRUNCATED', 'the file ends inside its header', '');
  const header = new Uint8Array(length);
  header.set(first);
  header.set(rest, first.length);
  return header;
}

/** Whether every byte of `bytes` is the same byte of `a` or of `b` (all three the same length). */
function isMixOf(bytes: Uint8Array, a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== a[i] && bytes[i] !== b[i]) return false;
  return true;
}

function headerSet(header: Header): string {
  return recipientStanzas(header)
    .map((s) => `${stanzaKind(s.type)}:${formatKeyId(s.keyId)}`)
    .sort()
    .join(',');
}

export class HeaderRewriter {
  private readonly sodium: SodiumBackend;
  private readonly journalDir: string;
  /**
   * Journals of this rewriter's batches still running (written, their files not yet flushed): `recover`
   * must not take them for a crash's and delete them before the flush.
   */
  private readonly inFlight = new Set<string>();

  constructor(deps: HeaderRewriterDeps) {
    this.sodium = deps.sodium;
    this.journalDir = deps.journalDir;
  }

  /**
   * Re-wraps one file so that it carries exactly `recipients` (FORMAT.md §8). `identities` must open
   * its current header. Throws a CofferError (the file untouched) when it cannot.
   */
  async rewrap(
    path: string,
    identities: readonly Identity[],
    recipients: readonly Recipient[],
  ): Promise<RewrapResult> {
    const [result] = await this.rewrapMany([path], identities, recipients);
    if (!result) throw new CofferError('INVALID_ARGUMENT', 'no result for the file', '');
    if ('error' in result) throw result.error;
    return result;
  }

  /**
   * Re-wraps many files as one batch: one journal and one syncfs for all files rewritten in place. A file
   * that fails is reported in its result and does not stop the others.
   */
  async rewrapMany(
    paths: readonly string[],
    identities: readonly Identity[],
    recipients: readonly Recipient[],
    /**
     * The protected folders the paths were listed in: a file opened elsewhere (a folder on its path was
     * swapped for a link since, issue 10 item 3) is refused as OUTSIDE_FOLDER and not written.
     */
    options: { readonly roots?: readonly string[] } = {},
  ): Promise<BatchResult[]> {
    if (recipients.length === 0) throw new CofferError('INVALID_ARGUMENT', 'a file needs a recipient', '');
    const recipientIds = recipients.map((r) => keyIdOf(this.sodium, r));
    const batch: Batch = {
      identities,
      identityIds: identities.map((i) => keyIdOf(this.sodium, i)),
      recipients,
      recipientIds,
      wanted: recipientSet(recipients, recipientIds),
      rootFor: options.roots ? rootResolver(options.roots) : null,
    };
    const results = new Map<string, BatchResult>();
    const unique = [...new Set(paths)];
    // Files are held open from planning to writing: a chunk at a time keeps under any descriptor limit
    // (256 on macOS), and the event loop gets a turn between chunks.
    // One flush for the whole batch: each chunk's journal stays until the files it names are durable.
    const pending: Pending = { written: [], journals: [] };
    const defer = unique.length > FILES_PER_CHUNK;
    try {
      for (let at = 0; at < unique.length; at += FILES_PER_CHUNK) {
        if (at > 0) await new Promise((resolve) => setImmediate(resolve));
        this.rewrapChunk(unique.slice(at, at + FILES_PER_CHUNK), batch, results, defer ? pending : null);
      }
      if (pending.written.length > 0) makeDurable(pending.written);
      for (const journal of pending.journals) this.finish(journal);
    } finally {
      // A batch that failed before its flush leaves its journals to recover (no longer in flight).
      for (const journal of pending.journals) this.inFlight.delete(journal);
    }
    return paths.map(
      (path) => results.get(path) ?? { path, error: new CofferError('INVALID_ARGUMENT', 'not done', '') },
    );
  }

  private rewrapChunk(
    paths: readonly string[],
    batch: Batch,
    results: Map<string, BatchResult>,
    pending: Pending | null,
  ): void {
    const plans: Plan[] = [];
    try {
      for (const path of paths) {
        try {
          const plan = this.plan(path, batch);
          if (plan.newHeader === null) {
            closeSync(plan.fd);
            results.set(path, { path, outcome: 'unchanged' });
          } else plans.push(plan);
        } catch (error) {
          results.set(path, { path, error: toCofferError(error, path) });
        }
      }
      const inPlace = new Set(plans.filter((p) => p.writable && p.newHeader?.length === p.oldHeader.length));
      for (const r of this.writeInPlace([...inPlace], batch.identities, batch.recipients, pending))
        results.set(r.path, r);
      for (const plan of plans) {
        if (inPlace.has(plan)) continue;
        try {
          this.copyWithNewHeader(plan);
          results.set(plan.path, { path: plan.path, outcome: 'copied' });
        } catch (error) {
          results.set(plan.path, { path: plan.path, error: toCofferError(error, plan.path) });
        }
      }
    } finally {
      for (const plan of plans) closeSync(plan.fd);
    }
  }

  /** Opens and authenticates one file and builds its new header (null when nothing would change). */
  private plan(path: string, batch: Batch): Plan {
    if (!isProtectedName(basename(path))) throw notCoffer(path, 'not a .coffer file');
    let fd: number;
    let writable = true;
    try {
      fd = openSync(path, constants.O_RDWR | NOFOLLOW);
    } catch (error) {
      // A read-only file (or one on a share that refuses writes to it) can still be replaced by a copy.
      if (errnoOf(error) !== 'EACCES' && errnoOf(error) !== 'EPERM') throw error;
      fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
      writable = false;
    }
    try {
      const root = batch.rootFor?.(path) ?? null; // a root may be the file itself (a run over files)
      // Checked on the descriptor: in-place writes go through it; a copy is renamed only over this inode.
      if (root !== null && !isInside(realPathOf(fd, path), root))
        throw new CofferError(
          'OUTSIDE_FOLDER',
          `${path}: no longer inside ${root} (a folder was moved or replaced by a link)`,
          'Nothing outside the protected folder was touched; check what changes this folder, then run again.',
        );
      const stats = fstatSync(fd, { bigint: true });
      if (!stats.isFile()) throw notCoffer(path, 'not a regular file');
      const oldHeader = readHeaderAt(fd);
      const header = parseHeader(oldHeader);
      const fileKey = unwrapFileKey(this.sodium, header, batch.identities, batch.identityIds);
      const { macKey, payloadKey } = deriveKeys(this.sodium, fileKey);
      try {
        if (headerSet(header) === batch.wanted)
          return { path, fd, stats, writable, oldHeader, newHeader: null };
        const stanzas = batch.recipients.map((r, i) =>
          wrapFileKey(this.sodium, fileKey, r, batch.recipientIds[i]),
        );
        // §4.1: the same length when the stanzas fit it (padding absorbs the change), else a roomy one.
        const length = fitsHeaderLength(stanzas, oldHeader.length)
          ? oldHeader.length
          : (roomyHeaderLength(stanzas) ?? undefined);
        const newHeader = serializeHeader(
          this.sodium,
          header.chunkSize,
          stanzas,
          header.streamHeader,
          macKey,
          length,
        );
        return { path, fd, stats, writable, oldHeader, newHeader };
      } finally {
        for (const secret of [fileKey, macKey, payloadKey]) this.sodium.zero(secret);
      }
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** §8.1: journal, pwrite each header, one syncfs, drop the journal. */
  private writeInPlace(
    plans: readonly Plan[],
    identities: readonly Identity[],
    recipients: readonly Recipient[],
    /** Where to leave the flush and the journal's removal for the caller; null: do both now. */
    pending: Pending | null,
  ): BatchResult[] {
    if (plans.length === 0) return [];
    const identity = journalIdentity(identities, recipients);
    if (!identity) throw new CofferError('INVALID_ARGUMENT', 'no identity to sign the journal with', '');
    const entries: JournalEntry[] = plans.map((p) => ({
      path: p.path,
      dev: p.stats.dev.toString(),
      ino: p.stats.ino.toString(),
      size: Number(p.stats.size),
      oldHeader: p.oldHeader,
      newHeader: p.newHeader ?? p.oldHeader,
    }));
    let journal: string;
    try {
      journal = writeJournal(this.sodium, this.journalDir, identity, entries);
      this.inFlight.add(journal);
    } catch (error) {
      // No journal, no write: every file of the chunk is left as it was.
      const journalError = new CofferError(
        'JOURNAL_WRITE_FAILED',
        `the rewrite journal could not be written in ${this.journalDir}: ${(error as Error).message}`,
        'Nothing was changed. Free some space or fix the permissions of the app-data folder, then try again.',
        { cause: error },
      );
      return plans.map((p) => ({ path: p.path, error: journalError }));
    }
    const results: BatchResult[] = [];
    const written: { path: string; dev: number; fd: number }[] = [];
    let failedMidWrite = false;
    for (const plan of plans) {
      const newHeader = plan.newHeader ?? plan.oldHeader;
      try {
        // Write only onto the very file read: still at its path, header unchanged since it was read.
        const now = lstatSync(plan.path, { bigint: true });
        if (now.dev !== plan.stats.dev || now.ino !== plan.stats.ino) throw changed(plan.path);
        const current = preadFully(plan.fd, plan.oldHeader.length, 0);
        if (!this.sodium.equal(current, plan.oldHeader)) throw changed(plan.path);
      } catch (error) {
        results.push({ path: plan.path, error: toCofferError(error, plan.path) });
        continue;
      }
      try {
        pwriteFully(plan.fd, newHeader, 0);
        written.push({ path: plan.path, dev: Number(plan.stats.dev), fd: plan.fd });
        results.push({ path: plan.path, outcome: 'in-place' });
      } catch (error) {
        failedMidWrite = true; // the header may be torn: the journal stays for recover
        results.push({ path: plan.path, error: toCofferError(error, plan.path) });
      }
    }
    if (pending) {
      pending.written.push(...written.map(({ path, dev }) => ({ path, dev })));
      if (!failedMidWrite) pending.journals.push(journal);
      else this.inFlight.delete(journal); // left for recover
      return results;
    }
    try {
      if (written.length === 1) {
        for (const w of written) fsyncSync(w.fd);
      } else if (written.length > 1) makeDurable(written);
      if (!failedMidWrite) this.finish(journal);
    } finally {
      this.inFlight.delete(journal); // finished, or left for recover
    }
    return results;
  }

  /**
   * A header that cannot be rewritten in place (no room, or a read-only file): a copy with the new, roomy
   * header is written beside the file and renamed over it, only if the file is still the one read.
   */
  private copyWithNewHeader(plan: Plan): void {
    const newHeader = plan.newHeader ?? plan.oldHeader;
    const temp = tempPathFor(plan.path);
    const out = openSync(temp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
    try {
      pwriteFully(out, newHeader, 0);
      const buffer = new Uint8Array(1 << 20);
      let from = plan.oldHeader.length;
      let to = newHeader.length;
      for (;;) {
        const n = readSync(plan.fd, buffer, 0, buffer.length, from);
        if (n === 0) break;
        pwriteFully(out, buffer.subarray(0, n), to);
        from += n;
        to += n;
      }
      if (BigInt(from) !== plan.stats.size) throw changed(plan.path);
      fchmodSync(out, Number(plan.stats.mode) & 0o7777);
      fsyncSync(out);
      // What is on disk must be the header built (the payload bytes are the file's own, §3.2).
      const check = preadFully(out, newHeader.length, 0);
      if (!this.sodium.equal(check, newHeader)) throw changed(plan.path);
      closeSync(out);
      const now = lstatSync(plan.path, { bigint: true });
      if (
        now.dev !== plan.stats.dev ||
        now.ino !== plan.stats.ino ||
        now.size !== plan.stats.size ||
        now.mtimeNs !== plan.stats.mtimeNs ||
        now.ctimeNs !== plan.stats.ctimeNs
      )
        throw changed(plan.path);
      renameSync(temp, plan.path);
    } catch (error) {
      try {
        closeSync(out);
      } catch {
        // already closed
      }
      removeQuietly(temp);
      throw error;
    }
    fsyncDir(dirname(plan.path));
  }

  private finish(journal: string): void {
    removeJournal(journal);
    this.inFlight.delete(journal);
  }

  /**
   * Whether journals of interrupted rewrites are waiting for `recover` (not those of batches running now
   * in this process). Cheap (one readdir): the app calls `recover` at start when this is true, whatever
   * wrote them (a rotation, a helpdesk rekey), since a torn header opens with no key until then.
   */
  pending(): boolean {
    return listJournals(this.journalDir).some((j) => !this.inFlight.has(j));
  }

  /**
   * Finishes rewrites a crash interrupted (§8.1). Writes a journalled header only when the journal is
   * authenticated by one of `identities` and, for that file, the new header authenticates under them,
   * keeps the file's chunk size and stream header, opens the file's own payload, and the file (same
   * device and inode, same size) holds the old header, the new one or a mix of the two. Anything else is
   * reported and left alone.
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- async for callers; the work is synchronous I/O
  async recover(identities: readonly Identity[]): Promise<RecoverReport> {
    const completed: string[] = [];
    const alreadyDone: string[] = [];
    const refused: { journal: string; path?: string; reason: string }[] = [];
    for (const journal of listJournals(this.journalDir)) {
      if (this.inFlight.has(journal)) continue; // a batch of this process, still running
      const read = readJournal(this.sodium, journal, identities);
      if (!read.ok) {
        refused.push({ journal, reason: `the journal ${read.reason}` });
        continue;
      }
      let keep = false;
      for (const entry of read.entries) {
        const outcome = this.recoverEntry(entry, identities);
        if (outcome === 'completed') completed.push(entry.path);
        else if (outcome === 'already-done') alreadyDone.push(entry.path);
        else {
          refused.push({ journal, path: entry.path, reason: outcome.reason });
          keep ||= outcome.transient;
        }
      }
      // An authentic journal whose every entry is done or stale has nothing left to finish.
      if (!keep) removeJournal(journal);
    }
    return { completed, alreadyDone, refused };
  }

  private recoverEntry(
    entry: JournalEntry,
    identities: readonly Identity[],
  ): 'completed' | 'already-done' | { reason: string; transient: boolean } {
    const stale = (reason: string) => ({ reason, transient: false });
    let fd: number;
    try {
      fd = openSync(entry.path, constants.O_RDWR | NOFOLLOW);
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === 'ENOENT' || errno === 'ELOOP') return stale('the file is gone or is now a link');
      return { reason: `the file cannot be opened (${errno ?? 'error'})`, transient: true };
    }
    try {
      const stats = fstatSync(fd, { bigint: true });
      if (!stats.isFile() || stats.dev.toString() !== entry.dev || stats.ino.toString() !== entry.ino)
        return stale('the path now holds another file');
      if (stats.size !== BigInt(entry.size)) return stale('the file changed size since');
      const length = entry.newHeader.length;
      if (length < PREFIX_BYTES || parsePrefix(entry.newHeader) !== length)
        return stale('the journalled header is malformed');
      const newHeader = parseHeader(entry.newHeader);
      const fileKey = unwrapFileKey(this.sodium, newHeader, identities); // MAC checked under the key
      const { macKey, payloadKey } = deriveKeys(this.sodium, fileKey);
      try {
        const current = preadFully(fd, length + METADATA_BYTES + STREAM_ABYTES, 0);
        if (current.length !== length + METADATA_BYTES + STREAM_ABYTES) return stale('the file is too short');
        // In place means same length: the chunk size and stream header sit at the same offsets in both.
        const streamAt = length - MAC_BYTES - STREAM_HEADER_BYTES;
        if (
          !this.sodium.equal(current.subarray(9, 17), entry.newHeader.subarray(9, 17)) ||
          !this.sodium.equal(
            current.subarray(streamAt, streamAt + STREAM_HEADER_BYTES),
            newHeader.streamHeader,
          )
        )
          return stale('the journalled header has another length, chunk size or stream header than the file');
        // The new header's key must open this file's own payload (its metadata message).
        const puller = this.sodium.streamPull(newHeader.streamHeader, payloadKey, METADATA_BYTES);
        if (!puller.pull(current.subarray(length)))
          return stale('the journalled header does not open the payload');
        const onDisk = current.subarray(0, length);
        if (this.sodium.equal(onDisk, entry.newHeader)) return 'already-done';
        // §8.1 rule 6: the file must hold the old header, or one torn between old and new: every byte is
        // the old one or the new one, whatever order the write reached the disk in. A file rewritten since
        // holds a third header (authentic, or torn by that later rewrite): the entry is stale, and writing
        // it would roll the file back to a key set it has left (a replayed journal re-adding a retired key).
        if (entry.oldHeader.length !== length) return stale('the journalled old header has another length');
        if (!isMixOf(onDisk, entry.oldHeader, entry.newHeader))
          return stale('the file holds neither the old nor the new header, nor a write torn between them');
        pwriteFully(fd, entry.newHeader, 0);
        fsyncSync(fd);
        return 'completed';
      } finally {
        for (const secret of [fileKey, macKey, payloadKey]) this.sodium.zero(secret);
      }
    } catch (error) {
      if (error instanceof CofferError) return stale(`the journalled header was refused: ${error.message}`);
      return { reason: `the file cannot be checked (${errnoOf(error) ?? 'error'})`, transient: true };
    } finally {
      closeSync(fd);
    }
  }
}
