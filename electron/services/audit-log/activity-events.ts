/**
 * The app's side of the audit trail: every entry of its Activity log (what the handlers and the composition
 * root record for each user action and background run) that is a security event is also put on the audit
 * trail. One wrapper at the composition root, so no adapter or service others are editing changes.
 * Entries name files, folders and key IDs (activity.ts), never secrets.
 */
import { isAbsolute, join } from 'node:path';
import { recordFailureEvents, type SecurityEventType, type SecurityEvents } from './security-events.js';

export interface ActivityLike {
  readonly action: string;
  readonly target: string;
  readonly outcome: 'ok' | 'error' | 'cancelled';
  readonly detail?: string;
}

/** The Activity actions (handlers.ts, composition.ts) that are security events when they succeed. */
// Runs (protect, unprotect, helpdesk) are recorded when they finish, with what they did; their start only
// says a run began, and a refused start changed nothing.
const ON_SUCCESS: Readonly<Record<string, SecurityEventType>> = {
  'Protect finished': 'protect',
  'Auto-protect': 'protect',
  'Unprotect finished': 'unprotect',
  'Decrypt a copy': 'decrypt-copy',
  'Open for editing': 'open-for-edit',
  'Make recovery code': 'recovery-code-made',
  'Trust recovery key': 'trusted-keys-changed',
  'Stop trusting recovery key': 'trusted-keys-changed',
  'Helpdesk rekey finished': 'rekey',
  'Helpdesk restore finished': 'unprotect',
  'Re-wrap to recovery keys': 'rewrap',
  'Confirm settings': 'state-tampered',
  // Customer data erased from this laptop (adapters/audit.ts): what a DPO asks after an erasure request.
  'Delete file (audit)': 'data-deleted',
};

/** The security event an Activity entry stands for, or null when it is none. */
export function securityEventOf(
  entry: ActivityLike,
): { type: SecurityEventType; details: Record<string, string> } | null {
  const details = {
    action: entry.action,
    target: entry.target,
    outcome: entry.outcome,
    ...(entry.detail === undefined ? {} : { detail: entry.detail }),
  };
  // Failures carry their code first (handlers.ts `recorded`): `CODE: message`.
  const code = entry.outcome === 'error' ? /^([A-Z_]+):/.exec(entry.detail ?? '')?.[1] : undefined;
  if (code === 'AUTH_FAILED' || code === 'HEADER_AUTH_FAILED') return { type: 'auth-failed', details };
  if (code === 'STATE_TAMPERED') return { type: 'state-tampered', details };
  const type = ON_SUCCESS[entry.action];
  if (type === undefined) return null;
  // A run that failed part way may still have changed files: record it with its outcome.
  if (entry.outcome === 'error' && !['protect', 'unprotect', 'rewrap', 'rekey'].includes(type)) return null;
  return { type, details };
}

/** A finished run's problems (the app's RunTracker): files left in the clear, failed authentication. */
export async function recordRunProblems(
  events: SecurityEvents,
  run: {
    readonly kind: string;
    readonly state: string;
    readonly errors: readonly { readonly path: string; readonly code: string }[];
  },
  folderOf: () => string | undefined,
): Promise<void> {
  if (run.state === 'running' || run.errors.length === 0) return;
  let folder: string | undefined;
  try {
    folder = folderOf();
  } catch {
    folder = undefined; // an unreadable folder list (STATE_TAMPERED): the files are still named
  }
  // A run names its files relative to the folder.
  const errors = run.errors.map((e) => ({
    code: e.code,
    path: folder !== undefined && !isAbsolute(e.path) ? join(folder, e.path) : e.path,
  }));
  if (run.kind === 'protect') {
    await events.record('left-in-clear', {
      ...(folder === undefined ? {} : { folder }),
      files: errors.map((e) => e.path),
      codes: [...new Set(errors.map((e) => e.code))],
    });
  }
  await recordFailureEvents(events, run.kind, errors);
}

/** An Activity log that also puts each security event on the audit trail. */
export class AuditedActivity<E extends ActivityLike, L> {
  constructor(
    private readonly inner: { list(): L[]; record(entry: E): void },
    private readonly events: SecurityEvents,
    /** The folder path of a folder ID (Protect and Unprotect entries name the ID only). */
    private readonly folderPath: (id: string) => string | undefined = () => undefined,
  ) {}

  list(): L[] {
    return this.inner.list();
  }

  record(entry: E): void {
    this.inner.record(entry);
    const event = securityEventOf(entry);
    // Never throws (AuditTrail reports a failed write as a warning); the app's writes do not wait for it.
    if (!event) return;
    let folder: string | undefined;
    try {
      folder = this.folderPath(entry.target);
    } catch {
      folder = undefined; // an unreadable folder list (STATE_TAMPERED) must not break the Activity log
    }
    void this.events.record(event.type, folder === undefined ? event.details : { ...event.details, folder });
  }
}
