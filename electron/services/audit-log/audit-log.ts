/**
 * The append-only audit trail in app data (`<home>/audit/log.jsonl`, one record a line; record.ts says how
 * each is chained and MAC'd). Several processes append (the app, its watcher, CLI runs): each append holds
 * a short file lock (`audit/append.lock`, user-lock.ts), re-reads where the chain ends, appends one line
 * with O_APPEND and fsyncs, so records never interleave and the chain never forks.
 *
 * The head (`audit/head.json`: last seq + hash, MAC'd) is rewritten after each append, so a log cut short
 * or replaced by an older copy no longer reaches the head. A crash between the two writes leaves the log
 * one record ahead of the head, which verifies (that record carries a valid MAC and chains to the head).
 *
 * Known limit: someone who replaces both files by older copies of both is not caught (the keychain holds
 * only the key, not the head); a report sent off the laptop (auditForward) is what catches that.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError } from '../../../crypto/errors.js';
import type { KeyStore } from '../keys/key-store.js';
import { withUserLock } from '../keys/user-lock.js';
import { writeFileAtomic } from '../state/atomic-write.js';
import { createKeychainKey, readKeychainKey } from '../state/state-files.js';
import {
  AUDIT_KEY_BYTES,
  GENESIS_HASH,
  RecordCodec,
  boundDetails,
  parseRecord,
  type AuditRecord,
  type DetailValue,
  type Tip,
} from './record.js';

export const AUDIT_KEY_ACCOUNT = 'audit-key';
/** Written first, when the key is made: a key with no log then means the log was removed. */
export const LOG_STARTED = 'audit-log-started';
/** Written when an append finds the head missing or altered: the damage stays on record. */
export const LOG_DAMAGED = 'audit-log-damaged';

const KEY_HINT =
  'The audit key in the keychain is damaged: IT must look at the audit log as it is, then delete the keychain entry "audit-key" and move the audit folder away.';

export function auditDirIn(home: string): string {
  return path.join(home, 'audit');
}

export interface AuditLogDeps {
  sodium: SodiumBackend;
  keyStore: KeyStore;
  /** The per-user lock folder (lockDirIn(home)); the key is created under its `audit-key` lock. */
  lockDir: string;
  /** The audit folder (auditDirIn(home)). */
  dir: string;
  now?: () => Date;
  /** How long an append waits for another process's append (default 10 s). */
  lockTimeoutMs?: number;
  /**
   * Keep the key in memory between appends (the app: a keychain read costs a process start, ~0.3 s);
   * close() zeroes it. Without it each append reads the key and zeroes it after use.
   */
  cacheKey?: boolean;
}

export interface BadRecord {
  /** 1-based line of log.jsonl, when the problem is on a line. */
  readonly line?: number;
  readonly seq?: number;
  readonly problem: string;
}

export interface Verification {
  readonly ok: boolean;
  readonly records: number;
  /** The first record (or the head) that does not verify; absent when ok. */
  readonly firstBad?: BadRecord;
  /** Damage earlier appends found and recorded (LOG_DAMAGED records). */
  readonly damageRecorded: readonly AuditRecord[];
  /** The records `keep` picked, from the pass that verified them (only when ok). */
  readonly kept?: readonly AuditRecord[];
}

interface Head extends Tip {
  readonly mac: string;
}

function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The log's lines; a last line without its newline (a torn write) is kept, as a line. */
function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export class AuditLog {
  readonly logFile: string;
  readonly headFile: string;
  private readonly codec: RecordCodec;
  private readonly now: () => Date;
  /** Appends of this process, in call order (the file lock orders processes). */
  private queue: Promise<unknown> = Promise.resolve();
  private cachedKey: Uint8Array | null = null;

  constructor(private readonly deps: AuditLogDeps) {
    this.logFile = path.join(deps.dir, 'log.jsonl');
    this.headFile = path.join(deps.dir, 'head.json');
    this.codec = new RecordCodec(deps.sodium);
    this.now = deps.now ?? (() => new Date());
  }

  /** Appends one record; throws (AUDIT_KEY_MISSING, KEYCHAIN_*, LOCK_TIMEOUT, I/O) when it could not. */
  append(type: string, details: Readonly<Record<string, DetailValue | undefined>>): Promise<AuditRecord> {
    const run = async (): Promise<AuditRecord> => {
      const key = this.cachedKey ?? (await this.keyForAppend());
      if (this.deps.cacheKey === true) this.cachedKey = key;
      try {
        return await withUserLock(
          this.deps.dir,
          'append',
          () => Promise.resolve(this.appendLocked(key, type, boundDetails(details))),
          this.deps.lockTimeoutMs ?? 10_000,
        );
      } finally {
        if (this.cachedKey !== key) this.deps.sodium.zero(key);
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Resolves when this process's appends so far are done (the app awaits it before quitting). */
  async idle(): Promise<void> {
    await this.queue;
  }

  /** Waits for pending appends, then zeroes a cached key. */
  async close(): Promise<void> {
    await this.idle();
    if (this.cachedKey) this.deps.sodium.zero(this.cachedKey);
    this.cachedKey = null;
  }

  /** Every record as stored, parsed (unparseable lines skipped); verify() says whether to trust them. */
  read(): AuditRecord[] {
    const text = readIfExists(this.logFile) ?? '';
    return linesOf(text)
      .map(parseRecord)
      .filter((r): r is AuditRecord => r !== null);
  }

  /**
   * Checks every record and the head; names the first that does not verify. `keep` picks records to return
   * (`kept`) from this very pass: what a caller states from the log is then what was checked, not a second
   * read that a local process could have swapped in since (audit/attested-scan.ts).
   */
  async verify(options: { readonly keep?: (record: AuditRecord) => boolean } = {}): Promise<Verification> {
    const key = await readKeychainKey(this.deps.keyStore, AUDIT_KEY_ACCOUNT, AUDIT_KEY_BYTES, KEY_HINT);
    const text = readIfExists(this.logFile);
    const headText = readIfExists(this.headFile);
    if (key === null) {
      if (text === null && headText === null) return { ok: true, records: 0, damageRecorded: [] };
      return {
        ok: false,
        records: 0,
        firstBad: { problem: `the audit key "${AUDIT_KEY_ACCOUNT}" is missing from the keychain` },
        damageRecorded: [],
      };
    }
    try {
      return this.verifyWith(key, text, headText, options.keep);
    } finally {
      this.deps.sodium.zero(key);
    }
  }

  private verifyWith(
    key: Uint8Array,
    text: string | null,
    headText: string | null,
    keep?: (record: AuditRecord) => boolean,
  ): Verification {
    const damageRecorded: AuditRecord[] = [];
    const kept: AuditRecord[] = [];
    if (text === null) {
      return {
        ok: false,
        records: 0,
        firstBad: { problem: `${this.logFile} is missing, though this account has an audit key` },
        damageRecorded,
      };
    }
    const lines = linesOf(text);
    let tip: Tip = { seq: 0, hash: GENESIS_HASH };
    const hashes = new Map<number, string>();
    const fail = (firstBad: BadRecord): Verification => ({
      ok: false,
      records: tip.seq,
      firstBad,
      damageRecorded,
    });
    for (const [i, line] of lines.entries()) {
      const at = { line: i + 1 };
      const record = parseRecord(line);
      if (record === null) return fail({ ...at, problem: 'not a well-formed record' });
      if (record.seq !== tip.seq + 1) {
        return fail({
          ...at,
          seq: record.seq,
          problem:
            record.seq > tip.seq + 1
              ? `seq ${record.seq} follows seq ${tip.seq}: records ${tip.seq + 1}..${record.seq - 1} were removed`
              : `seq ${record.seq} follows seq ${tip.seq}: records were reordered or copied`,
        });
      }
      if (record.prev !== tip.hash) {
        return fail({ ...at, seq: record.seq, problem: 'does not chain to the record before it' });
      }
      const hash = this.codec.check(key, record);
      if (hash === null) {
        return fail({ ...at, seq: record.seq, problem: 'its MAC does not verify: edited or forged' });
      }
      if (record.type === LOG_DAMAGED) damageRecorded.push(record);
      if (keep?.(record)) kept.push(record);
      tip = { seq: record.seq, hash };
      hashes.set(record.seq, hash);
    }
    const head = this.parseHead(key, headText);
    if (head === 'absent' || head === 'invalid') {
      return fail({
        problem: `the head (${this.headFile}) is ${head === 'absent' ? 'missing' : 'altered'}`,
      });
    }
    if (head.seq > tip.seq) {
      return fail({
        seq: tip.seq + 1,
        problem: `the log ends at seq ${tip.seq} but the head records seq ${head.seq}: records ${tip.seq + 1}..${head.seq} were cut off or the log was replaced by an older copy`,
      });
    }
    // One record past the head is the window between the two writes of an append (a crash).
    if (head.seq < tip.seq - 1 || (head.seq > 0 && hashes.get(head.seq) !== head.hash)) {
      return fail({ seq: head.seq, problem: 'the head does not match the record it names' });
    }
    if (damageRecorded.length > 0) {
      const first = damageRecorded[0];
      return {
        ok: false,
        records: tip.seq,
        firstBad: {
          seq: first?.seq,
          problem: `an append found the log damaged at ${first?.time ?? '?'}: ${String(first?.details.problem ?? '')}`,
        },
        damageRecorded,
      };
    }
    return { ok: true, records: tip.seq, damageRecorded, kept };
  }

  private parseHead(key: Uint8Array, text: string | null): Head | 'absent' | 'invalid' {
    if (text === null) return 'absent';
    try {
      const value = JSON.parse(text) as Partial<Head>;
      if (
        Number.isSafeInteger(value.seq) &&
        typeof value.hash === 'string' &&
        typeof value.mac === 'string' &&
        this.codec.checkHead(key, { seq: value.seq as number, hash: value.hash }, value.mac)
      ) {
        return { seq: value.seq as number, hash: value.hash, mac: value.mac };
      }
    } catch {
      // fall through
    }
    return 'invalid';
  }

  /**
   * The key, made once (under the per-user lock) when this account has none and no log exists yet. With
   * a log but no key, nothing is appended: a new key would let whoever removed the entry rewrite history.
   */
  private async keyForAppend(): Promise<Uint8Array> {
    const existing = await readKeychainKey(this.deps.keyStore, AUDIT_KEY_ACCOUNT, AUDIT_KEY_BYTES, KEY_HINT);
    if (existing) return existing;
    const made = await withUserLock(
      this.deps.lockDir,
      AUDIT_KEY_ACCOUNT,
      async () => {
        const raced = await readKeychainKey(this.deps.keyStore, AUDIT_KEY_ACCOUNT, AUDIT_KEY_BYTES, KEY_HINT);
        if (raced) return raced;
        if ((readIfExists(this.logFile) ?? '') !== '' || fs.existsSync(this.headFile)) {
          throw new CofferError(
            'AUDIT_KEY_MISSING',
            `The audit key "${AUDIT_KEY_ACCOUNT}" is missing from the keychain, but ${this.logFile} exists`,
            'IT must look at the audit log (`coffer audit log`), then move the audit folder away so that a new log starts.',
          );
        }
        const key = await createKeychainKey(
          this.deps.sodium,
          this.deps.keyStore,
          AUDIT_KEY_ACCOUNT,
          AUDIT_KEY_BYTES,
        );
        await withUserLock(this.deps.dir, 'append', () =>
          Promise.resolve(this.appendLocked(key, LOG_STARTED, {})),
        );
        return key;
      },
      60_000,
    );
    return made;
  }

  private appendLocked(
    key: Uint8Array,
    type: string,
    details: Readonly<Record<string, DetailValue>>,
  ): AuditRecord {
    fs.mkdirSync(this.deps.dir, { recursive: true, mode: 0o700 });
    const found = this.tip(key);
    let tip: Tip = found;
    if (found.damage !== undefined) {
      // Keep the finding on record before anything else, so a later head rewrite cannot hide it.
      const noted = this.codec.make(key, tip, LOG_DAMAGED, { problem: found.damage }, this.now());
      tip = this.write(key, noted);
    }
    return this.writeRecord(key, tip, type, details);
  }

  private writeRecord(
    key: Uint8Array,
    tip: Tip,
    type: string,
    details: Readonly<Record<string, DetailValue>>,
  ): AuditRecord {
    const record = this.codec.make(key, tip, type, details, this.now());
    this.write(key, record);
    return record;
  }

  /** Appends one line (O_APPEND, fsync), then the head; returns the new tip. */
  private write(key: Uint8Array, record: AuditRecord): Tip {
    const line = `${JSON.stringify(record)}\n`;
    const fd = fs.openSync(this.logFile, 'a+', 0o600); // O_APPEND; readable for the torn-line check
    try {
      // A torn last line (a crash mid-write) must not swallow this record's start.
      const size = fs.fstatSync(fd).size;
      let text = line;
      if (size > 0) {
        const last = Buffer.alloc(1);
        fs.readSync(fd, last, 0, 1, size - 1);
        if (last[0] !== 0x0a) text = `\n${line}`;
      }
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    const hash = this.codec.hash(record);
    const tip = { seq: record.seq, hash };
    writeFileAtomic(this.headFile, JSON.stringify({ ...tip, mac: this.codec.headMac(key, tip) }) + '\n');
    return tip;
  }

  /**
   * Where the next record chains from. The MAC'd head is authoritative: when the log was cut short, the
   * next record still follows the head, so the gap stays visible. Without a valid head, the last record
   * that verifies is used and the damage is recorded first.
   */
  private tip(key: Uint8Array): Tip & { damage?: string } {
    const head = this.parseHead(key, readIfExists(this.headFile));
    const last = this.lastRecord(key);
    if (head !== 'absent' && head !== 'invalid') {
      // The crash window: the log holds one record past the head, chained to it.
      if (last && last.record.seq === head.seq + 1 && last.record.prev === head.hash) {
        return { seq: last.record.seq, hash: last.hash };
      }
      return { seq: head.seq, hash: head.hash };
    }
    const empty = (readIfExists(this.logFile) ?? '') === '';
    if (head === 'absent' && empty) return { seq: 0, hash: GENESIS_HASH };
    const found = last ?? this.lastValidAnywhere(key);
    const base = found ? { seq: found.record.seq, hash: found.hash } : { seq: 0, hash: GENESIS_HASH };
    return { ...base, damage: `the head was ${head === 'absent' ? 'missing' : 'altered'}` };
  }

  /** The last line as a record whose MAC verifies, or null. */
  private lastRecord(key: Uint8Array): { record: AuditRecord; hash: string } | null {
    const line = this.lastLine();
    const record = line === null ? null : parseRecord(line);
    const hash = record ? this.codec.check(key, record) : null;
    return record && hash ? { record, hash } : null;
  }

  private lastValidAnywhere(key: Uint8Array): { record: AuditRecord; hash: string } | null {
    let best: { record: AuditRecord; hash: string } | null = null;
    for (const line of linesOf(readIfExists(this.logFile) ?? '')) {
      const record = parseRecord(line);
      const hash = record ? this.codec.check(key, record) : null;
      if (record && hash && (!best || record.seq > best.record.seq)) best = { record, hash };
    }
    return best;
  }

  /** Reads only the end of the file: appends stay cheap however long the log grows. */
  private lastLine(): string | null {
    let fd: number;
    try {
      fd = fs.openSync(this.logFile, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      const size = fs.fstatSync(fd).size;
      for (let want = 16_384; ; want *= 4) {
        const length = Math.min(size, want);
        const buf = Buffer.alloc(length);
        fs.readSync(fd, buf, 0, length, size - length);
        const lines = linesOf(buf.toString('utf8'));
        // The first line of a partial read may be cut: only trust it when the whole file was read.
        if (lines.length >= 2 || length === size) return lines.at(-1) ?? null;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}
