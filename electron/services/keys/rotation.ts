/**
 * Rotation that retires (issue 9 item 2; DESIGN.md "A key set change reaches everything it governs"): after
 * any change of the recovery key set (trust, untrust, a policy change) the escrow record, its copy beside
 * every protected folder, and the header of every `.coffer` file in the registered folders are brought to
 * exactly the current set: the device key re-wraps each file key (FORMAT.md §8, headers only), so a retired
 * organization key opens nothing written or re-wrapped since, and a key trusted later opens the older files.
 *
 * Crash safety: each file is replaced whole by the rewriter (old header or new, never neither), so a kill at
 * any moment leaves every file opening with the device key and with the old set or the new one. A marker in
 * app data says a rotation did not finish; the app runs it again at start, `coffer rewrap` finishes it.
 * Rotations are serialized across processes (withUserLock), and each reads the key set only once it holds
 * the lock, so an older rotation can never finish after a newer one and put a retired key back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CofferError, isCofferError } from '../../../crypto/errors.js';
import { inspectFd } from '../../../crypto/file.js';
import {
  deviceKeyId,
  formatKeyId,
  keyIdOf,
  recoveryKeyId,
  type Identity,
  type Recipient,
} from '../../../crypto/keys.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { LitterFilter } from '../folders/litter.js';
import type { FileIssue } from '../folders/types.js';
import { walkItems } from '../folders/walk.js';
import { toCofferError } from '../fs-errors.js';
import { resealEscrowRecord, type EscrowRecord } from './escrow.js';
import type { HeaderRewriter } from '../headers/header-rewriter.js';
import { withUserLock } from './user-lock.js';

/** Never read a header through a link (Windows has no O_NOFOLLOW; it is 0 there). */
const NOFOLLOW: number = fs.constants.O_NOFOLLOW;

/**
 * What the header rewriter offers (HeaderRewriter, electron/services/headers): headers rewritten in place
 * where possible (FORMAT.md §8.1, journalled), by a copy elsewhere; 'unchanged' when a file already carries
 * exactly the recipients' stanzas; recover() finishes rewrites that a crash interrupted.
 */
export type HeaderRewriterPort = Pick<HeaderRewriter, 'rewrapMany' | 'recover'>;

/** The escrow record in app data (RecoveryService: its one read path and its one write path). */
export interface EscrowStore {
  currentEscrow(): EscrowRecord | null;
  saveEscrow(record: EscrowRecord): void;
}

/** The copies beside protected folders (FolderEscrowCopies). */
export interface EscrowCopies {
  refreshAll(record: EscrowRecord): Promise<void>;
  /** True when a copy beside a protected folder is not exactly `record` (FolderEscrowCopies.stale). */
  stale?(record: EscrowRecord): boolean;
}

export interface RotationDeps {
  readonly sodium: SodiumBackend;
  /**
   * Who files are written for now: this device and the current recovery key set, approved by the policy
   * (WriteKeys.recipients) — the very set new files get, so a re-wrapped file and a new one cannot differ.
   */
  readonly recipients: () => Promise<Recipient[]>;
  /** What opens files here (the device key, and read-only older device keys). */
  readonly identities: () => Promise<Identity[]>;
  /** The current recovery key IDs without touching the keychain (status): trusted + policy keys. */
  readonly recoveryKeyIds: () => readonly string[];
  readonly escrow: EscrowStore;
  readonly copies: EscrowCopies;
  /** The registered (protected) folders. */
  readonly folders: () => readonly string[];
  readonly rewriter: HeaderRewriterPort;
  /** Where the cross-process rotation lock and the unfinished-rotation marker live (app data). */
  readonly stateDir: string;
  /** How long to wait for another process's rotation (default 10 minutes). */
  readonly lockTimeoutMs?: number;
  /** Files per header-rewriter call (one flush each); default BATCH. */
  readonly batchFiles?: number;
}

export interface RotationProgress {
  readonly filesTotal: number;
  readonly filesDone: number;
  readonly bytesTotal: number;
  readonly bytesDone: number;
  readonly bytesPerSecond: number;
  readonly etaMs: number | null;
}

export interface RotationOptions {
  /** Files or folders to re-wrap (default: every registered folder). The escrow is re-sealed either way. */
  readonly paths?: readonly string[];
  readonly onProgress?: (progress: RotationProgress) => void;
  readonly signal?: AbortSignal;
}

export interface RotationReport {
  /** The recovery key IDs everything now carries (or would, once the failures are fixed). */
  readonly recoveryKeyIds: string[];
  /** 'none': no personal recovery code was made yet, so there is no record to re-seal. */
  readonly escrow: 'resealed' | 'unchanged' | 'none' | 'failed';
  readonly filesTotal: number;
  readonly bytesTotal: number;
  /** Headers rewritten in place (no payload copied) and by a copy (where in place was not possible). */
  readonly inPlace: number;
  readonly copied: number;
  /** Files that already carried exactly the current set. */
  readonly unchanged: number;
  /** Everything that did not reach the current set: files, the escrow record, folder copies. */
  readonly failed: FileIssue[];
  readonly cancelled: boolean;
  readonly durationMs: number;
}

const MARKER = 'rotation-pending.json';
/** Checks after the walk for files moved past it (runLocked); a tree still changing after them is not done. */
const SWEEPS = 3;

/**
 * The header rewriter's journal folder in app data, made if missing: one place for the app and the CLI, so
 * either finishes what the other's crash left (HeaderRewriter.recover).
 */
export function headerJournalDir(appData: string): string {
  const dir = path.join(appData, 'header-journal');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
/**
 * Files per rewrapMany call. Each call ends with a journal write and a flush of the file system (syncfs,
 * which also waits for every other program's unwritten data), so they are few: 5,000 small files re-wrap
 * with one flush (256 per call made 20 and took 2-3x as long on a busy disk); progress and cancel come
 * between calls.
 */
const BATCH = 5000;

export class RotationService {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: RotationDeps) {}

  /** True when a rotation started and did not finish (crash, kill, failures): run it again. */
  pending(): boolean {
    return fs.existsSync(path.join(this.deps.stateDir, MARKER));
  }

  /**
   * Whether a rotation must run now, without any key: the marker says one did not finish, or the escrow
   * record, or a copy of it beside a folder, is not sealed to exactly the current set, or a file in a
   * protected folder carries a stanza for a key outside it (header key IDs only). The marker alone is
   * not enough: it is a plain file in app data (deleted by anyone who can write there, or never written when
   * the policy changed while the app was closed), and a copy still sealed to a retired key yields the device
   * key itself, so the retired key would open every file written from then on.
   */
  needsRun(): boolean {
    if (this.pending()) return true;
    try {
      return this.outOfDate();
    } catch {
      return true; // tampered or unreadable state: the run reports why
    }
  }

  private outOfDate(): boolean {
    const record = this.deps.escrow.currentEscrow();
    const current = new Set(this.deps.recoveryKeyIds());
    if (record !== null) {
      const sealed = new Set(record.recovery.map((r) => r.keyId));
      if (sealed.size !== current.size || [...sealed].some((id) => !current.has(id))) return true;
      if (this.deps.copies.stale?.(record) === true) return true;
    }
    // A run killed among the files, its marker then deleted: files still carrying a retired key's stanza
    // (header key IDs only, FORMAT.md §4: no key is needed, no file is written).
    // A subfolder the walk cannot read may hide such files: a run then says why (and stays pending).
    let unwalked = false;
    const files = protectedPaths(this.deps.folders(), ROTATION_LITTER, () => {
      unwalked = true;
    });
    return recoveryCoverage(files, [...current]).retiredKeyStanzas > 0 || unwalked;
  }

  /**
   * Called by a writer once its files are in place (a protect run, the watcher, `coffer encrypt`), with the
   * recipients it wrote them for. Writers read the key set when they start, so a file may land after the
   * rotation for a newer set has already listed its folder (a CLI `untrust` while the app protects, an app
   * untrust while `coffer protect` runs): that file would carry the retired key. Re-checking the set after
   * the write closes the gap either way: a change made before this check is seen here and the files are
   * re-wrapped now; a change made after it is followed by a rotation that finds them in place. Never throws:
   * what could not be re-wrapped is returned, and the marker stays so the next start finishes it.
   */
  async settle(paths: readonly string[], used: readonly Recipient[]): Promise<FileIssue[]> {
    if (paths.length === 0) return [];
    try {
      const current = await this.deps.recipients();
      let same: boolean;
      try {
        same = recipientKeys(this.deps.sodium, current) === recipientKeys(this.deps.sodium, used);
      } finally {
        for (const r of current) if (r.kind === 'device') this.deps.sodium.zero(r.key);
      }
      if (same) return [];
      const report = await this.run({ paths });
      return report.failed;
    } catch (error) {
      this.markPending();
      return [issue(error, 'rotation')];
    }
  }

  /**
   * Brings the escrow record, the folder copies and every file to exactly the current recovery key set.
   * Never throws for one file: every failure is in the report (and keeps the marker, so it runs again).
   */
  run(options: RotationOptions = {}): Promise<RotationReport> {
    const next = this.queue.then(() =>
      withUserLock(
        this.deps.stateDir,
        'rotation',
        () => this.runLocked(options),
        this.deps.lockTimeoutMs ?? 600_000,
      ),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Files under `folder` that no current organization recovery key can open ("not recoverable by IT"):
   * header key IDs against the current set, without any key. CLI status and the app share this definition.
   */
  coverage(folder: string): RecoveryCoverage {
    return folderCoverage(folder, this.deps.recoveryKeyIds());
  }

  private async runLocked(options: RotationOptions): Promise<RotationReport> {
    const started = performance.now();
    // A run over some paths only clears a marker it set itself: an unfinished full rotation stays pending.
    const wasPending = this.pending();
    this.markPending();
    const failed: FileIssue[] = [];
    // Streamed a batch at a time (issue 10 scale target: a protect of 1,000,000 files ends with this
    // rotation over its folder, which held every .coffer path of the tree): memory is one batch.
    const batchFiles = Math.max(1, this.deps.batchFiles ?? BATCH);
    const roots = options.paths ?? this.deps.folders();
    const batches = protectedBatches(roots, ROTATION_LITTER, batchFiles, (i) => failed.push(i));
    const first = batches.next();
    let record: EscrowRecord | null = null;
    try {
      record = this.deps.escrow.currentEscrow();
    } catch (error) {
      failed.push(issue(error, 'escrow record'));
    }
    if (record === null && first.done === true) {
      // Nothing is sealed or wrapped yet (trust before the first protect): no key needed, none created.
      if (failed.length === 0 && (options.paths === undefined || !wasPending)) this.clearPending();
      return {
        recoveryKeyIds: [...this.deps.recoveryKeyIds()],
        escrow: failed.length > 0 ? 'failed' : 'none',
        filesTotal: 0,
        bytesTotal: 0,
        inPlace: 0,
        copied: 0,
        unchanged: 0,
        failed,
        cancelled: false,
        durationMs: performance.now() - started,
      };
    }
    const recipients = await this.deps.recipients();
    const identities = await this.deps.identities();
    const recoveryKeyIds = recipients.flatMap((r) =>
      r.kind === 'recovery' ? [formatKeyId(recoveryKeyId(this.deps.sodium, r.publicKey))] : [],
    );
    const escrow = failed.some((f) => f.path === 'escrow record')
      ? 'failed'
      : await this.resealEscrow(record, recipients, identities, failed);
    // Totals grow as the walk goes (the tree is never listed whole); the ETA waits for the last batch.
    let filesTotal = 0;
    let bytesTotal = 0;
    const counts = { inPlace: 0, copied: 0, unchanged: 0 };
    let filesDone = 0;
    let bytesDone = 0;
    let cancelled = false;
    let walked = false;
    const progress = (): void => {
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? bytesDone / seconds : 0;
      options.onProgress?.({
        filesTotal,
        filesDone,
        bytesTotal,
        bytesDone,
        bytesPerSecond: rate,
        etaMs: walked && rate > 0 ? ((bytesTotal - bytesDone) / rate) * 1000 : null,
      });
    };
    progress();
    // Finish what a crash left half-written first: those files then read as old or new, never torn.
    await this.deps.rewriter.recover(identities);
    // Batches: one journal and one flush per batch (§8.1), with progress and cancel between them.
    const pass = async (source: Iterator<{ path: string; size: number }[], void>, step = source.next()) => {
      let seen = 0;
      for (; step.done !== true; step = source.next()) {
        const batch = step.value;
        seen += batch.length;
        filesTotal += batch.length;
        bytesTotal += batch.reduce((n, f) => n + f.size, 0);
        if (options.signal?.aborted) {
          cancelled = true;
          break;
        }
        // The folders walked: a file reached through a link swapped in since is not written (issue 10 §3).
        const results = await this.deps.rewriter.rewrapMany(
          batch.map((f) => f.path),
          identities,
          recipients,
          { roots },
        );
        for (const result of results) {
          if ('error' in result) failed.push(issue(result.error, result.path));
          else counts[result.outcome === 'in-place' ? 'inPlace' : result.outcome]++;
        }
        filesDone += batch.length;
        bytesDone += batch.reduce((n, f) => n + f.size, 0);
        progress();
        await yieldToLoop(); // the app's main process stays responsive
      }
      return seen;
    };
    await pass(batches, first);
    const wasCancelled = (): boolean => cancelled; // set inside pass()
    // The tree is walked while it is re-wrapped, not listed first: a file moved meanwhile from a folder not
    // read yet into one already read was never seen, and the run would be called done with it still under
    // the retired key. Before that, a check by header key IDs only (FORMAT.md §4, no key, no write) finds
    // what still differs from the new set and re-wraps it; a tree that keeps changing is not done. Only
    // after a pass that re-wrapped something: a tree already on the new set (the rotation that ends every
    // protect) had no file to move under the retired key; that check costs a walk and a header read each
    // (~0.35-0.6 s for 5,000 files here).
    const wanted = new Set(recoveryKeyIds);
    const rewrapped = counts.inPlace + counts.copied > 0;
    for (let sweep = 1; rewrapped && failed.length === 0 && !wasCancelled(); sweep++) {
      const stale = protectedBatches(roots, ROTATION_LITTER, batchFiles, (i) => failed.push(i), wanted);
      if ((await pass(stale)) === 0) break;
      if (sweep === SWEEPS) {
        failed.push({
          path: roots.join(', '),
          code: 'STILL_CHANGING',
          message: `${roots.join(', ')}: files kept moving while the keys were changed`,
          hint: 'Run `coffer rewrap` again once the folder is quiet.',
        });
      }
    }
    walked = true;
    for (const key of [...identities, ...recipients])
      if (key.kind === 'device') this.deps.sodium.zero(key.key); // copies handed to this run
    if (failed.length === 0 && !wasCancelled() && (options.paths === undefined || !wasPending))
      this.clearPending();
    return {
      recoveryKeyIds,
      escrow,
      filesTotal,
      bytesTotal,
      ...counts,
      failed,
      cancelled,
      durationMs: performance.now() - started,
    };
  }

  private async resealEscrow(
    current: EscrowRecord | null,
    recipients: readonly Recipient[],
    identities: readonly Identity[],
    failed: FileIssue[],
  ): Promise<RotationReport['escrow']> {
    const { sodium } = this.deps;
    let outcome: RotationReport['escrow'];
    let record = current;
    if (record === null) return 'none';
    try {
      const recordId = record.deviceKeyId;
      const deviceKey = identities.find(
        (i): i is Extract<Identity, { kind: 'device' }> =>
          i.kind === 'device' && formatKeyId(deviceKeyId(sodium, i.key)) === recordId,
      );
      if (!deviceKey) {
        throw new CofferError(
          'STALE_ESCROW',
          `The escrow record is for device key ${recordId}, which this account no longer has`,
          'Run `coffer recovery code` to make a new code and escrow record for the current device key.',
        );
      }
      const publicKeys = recipients.flatMap((r) => (r.kind === 'recovery' ? [r.publicKey] : []));
      const resealed = resealEscrowRecord(sodium, record, deviceKey.key, publicKeys);
      outcome = resealed === record ? 'unchanged' : 'resealed';
      if (resealed !== record) this.deps.escrow.saveEscrow(resealed);
      record = resealed;
    } catch (error) {
      failed.push(issue(error, 'escrow record'));
      return 'failed';
    }
    try {
      // Every copy, even when the record did not change here: an earlier run may have died before them.
      await this.deps.copies.refreshAll(record);
    } catch (error) {
      failed.push(issue(error, 'escrow copies'));
    }
    return outcome;
  }

  private markPending(): void {
    fs.mkdirSync(this.deps.stateDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(
      path.join(this.deps.stateDir, MARKER),
      JSON.stringify({ startedAt: new Date().toISOString(), pid: process.pid }) + '\n',
      { mode: 0o600 },
    );
  }

  private clearPending(): void {
    fs.rmSync(path.join(this.deps.stateDir, MARKER), { force: true });
  }
}

/** `kind:keyId` of each recipient, sorted: equal strings name the same keys. */
function recipientKeys(sodium: SodiumBackend, recipients: readonly Recipient[]): string {
  return [...new Set(recipients.map((r) => `${r.kind}:${formatKeyId(keyIdOf(sodium, r))}`))].sort().join(',');
}

function issue(error: unknown, where: string): FileIssue {
  const e = isCofferError(error) ? error : toCofferError(error, where);
  return { path: where, code: e.code, message: e.message, hint: e.hint };
}

const NOT_A_ROTATION_ISSUE = new Set(['SYMLINK', 'SPECIAL_FILE', 'IN_USE', 'HARD_LINK']);

/**
 * Every Coffer file a rotation must bring to the current set: the user's ignore patterns do not apply (a
 * `.coffer` file whose name a pattern added later matches still carries the old stanzas), only the names
 * Coffer itself never treats as data.
 */
const ROTATION_LITTER: readonly string[] = [];

/** The `.coffer` files under `paths` (files or folders), walked as protect walks them (no links followed). */
export function listProtected(
  paths: readonly string[],
  ignorePatterns: readonly string[],
): { files: { path: string; size: number }[]; issues: FileIssue[] } {
  const files: { path: string; size: number }[] = [];
  const issues: FileIssue[] = [];
  for (const file of eachProtected(paths, ignorePatterns, (i) => issues.push(i))) files.push(file);
  return { files, issues };
}

/**
 * listProtected, lazily: one file at a time, what the walk finds as it finds it (walk.ts walkItems), so a
 * caller that goes through the files once holds none of them (issue 10 scale target). `onIssue` hears
 * what listProtected returns as `issues`.
 */
export function* eachProtected(
  paths: readonly string[],
  ignorePatterns: readonly string[],
  onIssue: (issue: FileIssue) => void = () => undefined,
): Generator<{ path: string; size: number }, void> {
  const litter = new LitterFilter(ignorePatterns);
  for (const p of paths) {
    let stats: fs.Stats;
    try {
      stats = fs.lstatSync(p);
    } catch (error) {
      // A registered folder that is gone (an unplugged drive) has nothing to re-wrap now; say so.
      onIssue(issue(error, p));
      continue;
    }
    if (stats.isDirectory()) {
      for (const item of walkItems(p, litter)) {
        if (item?.kind === 'protected') yield { path: item.path, size: item.size };
        // Links, special files and plaintext (open in an editor, hard-linked) carry no header to re-wrap:
        // a rotation that counted them as failures would stay pending for ever.
        else if (item?.kind === 'skipped' && !NOT_A_ROTATION_ISSUE.has(item.issue.code)) onIssue(item.issue);
      }
    } else if (stats.isFile()) {
      yield { path: p, size: stats.size };
    } else {
      onIssue({
        path: p,
        code: 'NOT_A_FILE',
        message: `${p}: not a file or folder`,
        hint: 'Give .coffer files or folders holding them.',
      });
    }
  }
}

function* protectedPaths(
  paths: readonly string[],
  ignorePatterns: readonly string[],
  onIssue?: (issue: FileIssue) => void,
): Generator<string, void> {
  for (const file of eachProtected(paths, ignorePatterns, onIssue)) yield file.path;
}

/**
 * eachProtected in batches of up to `size` files; with `staleFor`, only files whose header's recovery key
 * IDs are not exactly that set (or cannot be read: the re-wrap says why).
 */
function* protectedBatches(
  paths: readonly string[],
  ignorePatterns: readonly string[],
  size: number,
  onIssue: (issue: FileIssue) => void,
  staleFor?: ReadonlySet<string>,
): Generator<{ path: string; size: number }[], void> {
  let batch: { path: string; size: number }[] = [];
  for (const file of eachProtected(paths, ignorePatterns, onIssue)) {
    if (staleFor && !isStale(file.path, staleFor)) continue;
    batch.push(file);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * The current recovery key set by key ID (recomputed from the public keys): the user's trusted keys and the
 * policy's, each once. The CLI and the app both compose RotationService.recoveryKeyIds from it.
 */
export function currentRecoveryKeyIds(
  sodium: SodiumBackend,
  trusted: readonly Uint8Array[],
  policy: readonly Recipient[],
): string[] {
  const fromPolicy = policy.flatMap((r) => (r.kind === 'recovery' ? [r.publicKey] : []));
  return [...new Set([...trusted, ...fromPolicy].map((k) => formatKeyId(recoveryKeyId(sodium, k))))];
}

export interface RecoveryCoverage {
  /** Protected files looked at. */
  readonly files: number;
  /** Files that no current organization recovery key opens ("not recoverable by IT"). */
  readonly notRecoverable: number;
  /** Files that still carry a recovery stanza for a key outside the current set (a retired key). */
  readonly retiredKeyStanzas: number;
  /** Files whose header could not be read (counted as not recoverable too). */
  readonly unreadable: number;
  /** Up to 20 of the files not recoverable, for people to look at. */
  readonly examples: string[];
}

/**
 * Reads each header (FORMAT.md §4: stanza key IDs are in the clear) and compares its recovery stanzas with
 * the current key IDs. No key is needed or touched.
 */
export function recoveryCoverage(
  files: Iterable<string>,
  currentRecoveryKeyIds: readonly string[],
  readRecoveryIds: (file: string) => string[] = headerRecoveryIds,
): RecoveryCoverage {
  const current = new Set(currentRecoveryKeyIds);
  let notRecoverable = 0;
  let retiredKeyStanzas = 0;
  let unreadable = 0;
  const examples: string[] = [];
  let count = 0;
  for (const file of files) {
    count++;
    let recoveryIds: string[];
    try {
      recoveryIds = readRecoveryIds(file);
    } catch {
      unreadable++;
      recoveryIds = [];
    }
    if (!recoveryIds.some((id) => current.has(id))) {
      notRecoverable++;
      if (examples.length < 20) examples.push(file);
    }
    if (recoveryIds.some((id) => !current.has(id))) retiredKeyStanzas++;
  }
  return { files: count, notRecoverable, retiredKeyStanzas, unreadable, examples };
}

function isStale(file: string, wanted: ReadonlySet<string>): boolean {
  let ids: string[];
  try {
    ids = headerRecoveryIds(file);
  } catch {
    return true;
  }
  return new Set(ids).size !== wanted.size || ids.some((id) => !wanted.has(id));
}

/** The recovery stanzas' key IDs in a `.coffer` header (FORMAT.md §4), read without following a link. */
export function headerRecoveryIds(file: string): string[] {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | NOFOLLOW);
  try {
    return inspectFd(fd).stanzas.flatMap((s) => (s.kind === 'recovery' ? [s.keyId] : []));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * recoveryCoverage of every protected file under `folder` (the walk rotation uses), for RotationService
 * and the app's coverage worker (coverage-worker.ts), which passes a reader that remembers headers.
 */
export function folderCoverage(
  folder: string,
  currentRecoveryKeyIds: readonly string[],
  readRecoveryIds?: (file: string) => string[],
): RecoveryCoverage {
  // A subfolder the walk could not read (no permission, a link swapped in) may hold files no current key
  // opens: each counts as one unreadable, not recoverable entry, never as "all recoverable".
  const unwalked: string[] = [];
  const found = recoveryCoverage(
    protectedPaths([folder], ROTATION_LITTER, (i) => unwalked.push(i.path)),
    currentRecoveryKeyIds,
    readRecoveryIds,
  );
  if (unwalked.length === 0) return found;
  return {
    ...found,
    notRecoverable: found.notRecoverable + unwalked.length,
    unreadable: found.unreadable + unwalked.length,
    examples: [...found.examples, ...unwalked].slice(0, 20),
  };
}
