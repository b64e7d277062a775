/**
 * The Activity log as people read it (issue 12 item 6): folder IDs become the folder's path, raw errno
 * text and `CODE: ` prefixes become words, Coffer's temporary file names become "a temporary file". What is
 * recorded is unchanged (the audit trail classifies the raw entries); only what is listed and exported is.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { securityEventOf } from '../../services/audit-log/activity-events.js';
import { toCofferError } from '../../services/fs-errors.js';
import { matchesFilter, serializeActivity } from '../../shared/activity-view.js';
import { UNKNOWN_ERRNO_WORDS, codeInWords } from '../../shared/code-words.js';
import { plainMessage } from '../../shared/plain-words.js';
import type { ActivityEntry, ActivityFilter, TrailCheck } from '../../shared/contract.js';
import type { ActivityPort } from '../ports.js';

/** `.name.coffer.tmp-0123456789ab` and friends (safe-file's temp names, FORMAT.md §9). */
const TEMP_NAME = /(?:[^\s'"]*[/\\])?[^\s'"/\\]*\.(?:coffer\.)?tmp-[0-9a-f]{6,}[^\s'"/\\]*/g;

export function plainDetail(detail: string): string {
  let text = detail.replace(TEMP_NAME, 'a temporary file');
  // `ENOENT: no such file or directory, open '/x'` → `not found: /x`
  text = text.replace(
    /\b(E[A-Z]{2,})(?::[^,;]*)?,\s*[a-z]+\s+'([^']*)'(?:\s*->\s*'[^']*')?/g,
    (_m, code: string, file: string) => `${codeInWords(code) ?? UNKNOWN_ERRNO_WORDS}: ${file}`,
  );
  // `CODE: message` at the start (handlers.ts `recorded`): the message says it.
  text = text.replace(/^[A-Z][A-Z0-9_]{2,}: /, '');
  // `path: CODE` in a run's problem list.
  text = text.replace(/: ([A-Z][A-Z0-9_]{2,})\b/g, (m, code: string) => {
    const words = codeInWords(code);
    return words === undefined ? m : `: ${words}`;
  });
  text = text.replace(/\(\s*errno\s*-?\d+\s*\)/gi, '').trim();
  // "escrow", "re-wrapped", "stanza" and leftover errno said for people, as on every other screen.
  return plainMessage(text);
}

/** A record of the audit trail as AuditLog.read gives it (electron/services/audit-log/record.ts). */
export interface TrailRecord {
  readonly seq: number;
  readonly time: string;
  readonly type: string;
  readonly details: Readonly<Record<string, string | number | boolean | readonly string[]>>;
}

/** The audit trail (issue 11 item 2): its records, and its check. */
export interface TrailSource {
  read(): readonly TrailRecord[];
  verify(): Promise<{
    ok: boolean;
    records: number;
    firstBad?: { seq?: number; line?: number; problem: string };
  }>;
}

/** Security event types (security-events.ts and others) as the table names them. */
const TRAIL_ACTIONS: Record<string, string> = {
  protect: 'Protect finished',
  unprotect: 'Unprotect finished',
  'decrypt-copy': 'Decrypt a copy',
  'open-for-edit': 'Open for editing',
  rekey: 'Rekey',
  rewrap: 'Re-wrap to recovery keys',
  'restore-device': 'Device key restored',
  'rotate-device-key': 'New device key',
  'recovery-code-made': 'Make recovery code',
  'recovery-code-used': 'Recovery code used',
  'trusted-keys-changed': 'Trust recovery key',
  'policy-changed': 'Policy changed',
  'state-tampered': 'Settings changed outside Coffer',
  'auth-failed': 'Failed authentication',
  'left-in-clear': 'Files left in the clear',
  'data-audit': 'Data audit',
  'data-deleted': 'Delete file (audit)',
  'audit-log-damaged': 'Audit trail damaged',
  'report-written': 'Breach-readiness report',
  'report-failed': 'Breach-readiness report failed',
};
const TRAIL_PROBLEMS = new Set([
  'auth-failed',
  'state-tampered',
  'left-in-clear',
  'audit-log-damaged',
  'report-failed',
]);
/** The trail's own bookkeeping: not something that happened to files or keys. */
const TRAIL_SKIP = new Set(['audit-log-started']);
/** How many trail records the table reads (newest); the CLI's `coffer audit log` has them all. */
const TRAIL_READ = 1000;
/** An app action is on both logs; the trail's copy within this window of the Activity entry is dropped. */
const SAME_EVENT_MS = 15_000;

function detailText(details: TrailRecord['details'], skip: ReadonlySet<string>): string {
  return Object.entries(details)
    .filter(([key]) => !skip.has(key))
    .map(([key, value]) => {
      if (Array.isArray(value)) {
        const list = value as readonly string[];
        const shown = list.slice(0, 5).join(', ');
        return `${key}: ${shown}${list.length > 5 ? ` and ${list.length - 5} more` : ''}`;
      }
      return `${key}: ${String(value)}`;
    })
    .join('; ');
}

/** The one thing an event is about: a folder, a file, a key, the policy's origin. */
function targetOf(details: TrailRecord['details']): { target: string; used: string | null } {
  for (const key of ['folder', 'file', 'path', 'origin', 'reportDir', 'keyId', 'deviceKeyId', 'codeKeyId']) {
    const value = details[key];
    if (typeof value === 'string' && value) return { target: value, used: key };
  }
  for (const key of ['files', 'roots']) {
    const value = details[key];
    if (Array.isArray(value) && value.length > 0) {
      const list = value as readonly string[];
      return {
        target:
          list.length === 1 ? (list[0] ?? '') : `${list.length} ${key === 'files' ? 'files' : 'folders'}`,
        used: list.length === 1 ? key : null,
      };
    }
  }
  return { target: 'this laptop', used: null };
}

export class ReadableActivity implements ActivityPort {
  constructor(
    private readonly inner: {
      list(): ActivityEntry[];
      record(entry: Omit<ActivityEntry, 'id' | 'at'>): void;
    },
    /** A folder ID's path (Protect and Unprotect entries name the ID only); undefined when unknown. */
    private readonly folderPath: (id: string) => string | undefined,
    /** The audit trail: events the CLI and services wrote there are listed too. */
    private readonly trail?: TrailSource,
  ) {}

  async verify(): Promise<TrailCheck> {
    if (!this.trail) return { ok: true, records: 0 };
    const v = await this.trail.verify();
    if (v.ok) return { ok: true, records: v.records };
    const where = v.firstBad?.seq !== undefined ? `record ${v.firstBad.seq}: ` : '';
    return { ok: false, records: v.records, problem: `${where}${v.firstBad?.problem ?? 'does not verify'}` };
  }

  /**
   * The trail's records that the Activity log does not hold already: what the CLI did on this laptop,
   * policy changes, failed authentication, files left in the clear, and any app action whose Activity
   * entry is gone or changed. The Activity file is plain JSON lines in app data (another process can edit
   * it); the trail is authenticated, so an app action's copy there (AuditedActivity writes it with its
   * `action`, target and outcome: activity-events.ts) is dropped only when an Activity entry says the same
   * within SAME_EVENT_MS, each entry standing for one copy. The data audit's own event (no `action`) is
   * dropped when the app's "Data audit" entry is within SAME_EVENT_MS of it; other trail-only events never
   * are (a CLI protect in the same seconds as an app protect is another event).
   */
  private trailEntries(raw: readonly ActivityEntry[]): {
    entries: ActivityEntry[];
    unverified: ReadonlySet<number>;
  } {
    let records: readonly TrailRecord[];
    try {
      records = this.trail?.read() ?? [];
    } catch {
      // an unreadable trail: the Activity log still lists; verify() says what is wrong
      return { entries: [], unverified: new Set() };
    }
    const used = new Set<number>();
    const claim = (match: (e: ActivityEntry) => boolean): boolean => {
      const i = raw.findIndex((e, n) => !used.has(n) && match(e));
      if (i < 0) return false;
      used.add(i);
      return true;
    };
    const out: ActivityEntry[] = [];
    for (const r of records.slice(-TRAIL_READ)) {
      if (TRAIL_SKIP.has(r.type)) continue;
      const at = Date.parse(r.time);
      if (!Number.isFinite(at)) continue;
      const near = (e: ActivityEntry) => Math.abs(e.at - at) < SAME_EVENT_MS;
      const d = r.details;
      if (typeof d.action === 'string') {
        const copy = claim(
          (e) =>
            near(e) &&
            e.action === d.action &&
            e.target === d.target &&
            e.outcome === d.outcome &&
            (e.detail ?? '') === (typeof d.detail === 'string' ? d.detail : ''),
        );
        if (copy) continue;
        // The app's entry for this action is missing or altered in the Activity file: list the trail's.
        const outcome = d.outcome === 'error' || d.outcome === 'cancelled' ? d.outcome : 'ok';
        const target = typeof d.folder === 'string' ? d.folder : typeof d.target === 'string' ? d.target : '';
        out.push({
          id: `trail-${r.seq}`,
          at,
          action: d.action,
          target: plainDetail(target || 'this laptop'),
          outcome,
          ...(typeof d.detail === 'string' ? { detail: plainDetail(d.detail) } : {}),
        });
        continue;
      }
      const action = TRAIL_ACTIONS[r.type] ?? r.type;
      if (r.type === 'data-audit' && claim((e) => e.action === action && near(e))) continue;
      const { target, used: key } = targetOf(d);
      const detail = detailText(d, new Set(key ? [key] : []));
      out.push({
        id: `trail-${r.seq}`,
        at,
        action,
        target: plainDetail(target),
        outcome: TRAIL_PROBLEMS.has(r.type) || d.cancelled === true ? 'error' : 'ok',
        ...(detail ? { detail: plainDetail(detail) } : {}),
      });
    }
    return { entries: out, unverified: this.unverified(raw, used, records) };
  }

  /**
   * The Activity entries that are security events (AuditedActivity puts each on the trail) but have no
   * copy there: written into the plain Activity file by something else, or the trail's write failed.
   * Only entries the trail read could hold are judged: from its first record read on, and older than
   * SAME_EVENT_MS (the trail's copy is written just after the entry).
   */
  private unverified(
    raw: readonly ActivityEntry[],
    copied: ReadonlySet<number>,
    records: readonly TrailRecord[],
  ): ReadonlySet<number> {
    const first = records.slice(-TRAIL_READ)[0];
    const since = first === undefined ? Number.NaN : Date.parse(first.time);
    const out = new Set<number>();
    if (!Number.isFinite(since)) return out;
    const settled = Date.now() - SAME_EVENT_MS;
    raw.forEach((e, i) => {
      if (!copied.has(i) && e.at >= since && e.at < settled && securityEventOf(e) !== null) out.add(i);
    });
    return out;
  }

  record(entry: Omit<ActivityEntry, 'id' | 'at'>): void {
    this.inner.record(entry);
  }

  list(): ActivityEntry[] {
    const paths = new Map<string, string | undefined>();
    const pathOf = (id: string): string | undefined => {
      if (!paths.has(id)) {
        let found: string | undefined;
        try {
          found = this.folderPath(id);
        } catch {
          found = undefined; // an unreadable folder list: the ID stays, the log still lists
        }
        paths.set(id, found);
      }
      return paths.get(id);
    };
    const raw = this.inner.list();
    const { entries: trail, unverified } = this.trailEntries(raw);
    const own = raw.map((e, i) => {
      const target = pathOf(e.target) ?? plainDetail(e.target);
      return {
        ...e,
        target,
        ...(e.detail === undefined ? {} : { detail: plainDetail(e.detail) }),
        ...(unverified.has(i) ? { unverified: true } : {}),
      };
    });
    if (trail.length === 0) return own;
    // Newest first, as the Activity log lists (a stable sort keeps each log's own order on equal times).
    return [...own, ...trail].sort((a, b) => b.at - a.at);
  }

  exportTo(destination: string, format: 'jsonl' | 'csv', filter: ActivityFilter): number {
    const entries = this.list().filter((e) => matchesFilter(e, filter));
    const text = serializeActivity(entries, format);
    // The user chose the destination in the save dialog (which asked before replacing a file): write it
    // whole through a temp beside it, so a failed write never leaves half an export under that name. The
    // temp is created exclusively under an unguessable name: a link planted there is never written through.
    const temp = path.join(
      path.dirname(destination),
      `.${path.basename(destination)}.${randomBytes(8).toString('hex')}.part`,
    );
    let fd: number;
    try {
      fd = fs.openSync(temp, 'wx', 0o600);
    } catch (error) {
      // A folder that cannot be written, a full disk: said in words with a stable code (fs-errors.ts).
      throw toCofferError(error, destination);
    }
    try {
      try {
        fs.writeFileSync(fd, text);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temp, destination);
    } catch (error) {
      fs.rmSync(temp, { force: true });
      throw toCofferError(error, destination);
    }
    return entries.length;
  }
}
