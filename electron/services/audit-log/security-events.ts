/**
 * What services and command actions use to put a security event on the audit trail (issue 11 item 2).
 * Recording never throws: a failed write must not turn a done protect into a failure, nor hide that a
 * file is protected. It is reported instead, through `warn` (stderr in the CLI, the app's log/notice).
 */
import { resolve } from 'node:path';
import type { AuditLog } from './audit-log.js';
import type { DetailValue } from './record.js';

export type SecurityEventType =
  | 'protect'
  | 'unprotect'
  | 'decrypt-copy'
  | 'open-for-edit'
  | 'rekey'
  | 'rewrap'
  | 'restore-device'
  | 'rotate-device-key'
  | 'recovery-code-made'
  | 'recovery-code-used'
  | 'trusted-keys-changed'
  | 'policy-changed'
  | 'state-tampered'
  | 'auth-failed'
  | 'left-in-clear'
  /** A data audit scan (audit/scanner.ts): roots and counts per detector only, never a matched value. */
  | 'data-audit'
  /** A file the data audit found customer data in, deleted from the Audit screen (an erasure). */
  | 'data-deleted'
  /** A breach-readiness report delivered to policy reportDir, or not (report/publisher.ts). */
  | 'report-written'
  | 'report-failed';

/** File names, paths and key IDs only: never contents, passphrases, codes or keys. */
export type EventDetails = Readonly<Record<string, DetailValue | undefined>>;

export interface SecurityEvents {
  /** Resolves once the event is on disk, or once its failure has been reported as a warning. */
  record(type: SecurityEventType, details: EventDetails): Promise<void>;
}

export class AuditTrail implements SecurityEvents {
  constructor(
    private readonly log: AuditLog,
    private readonly warn: (message: string) => void,
    /** Called after each record is written (the app's forwarder sends it on). */
    private readonly onRecorded: () => void = () => undefined,
  ) {}

  async record(type: SecurityEventType, details: EventDetails): Promise<void> {
    try {
      await this.log.append(type, details);
      this.onRecorded();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message : String(error);
      this.warn(
        `Warning: the audit log did not record this ${type}${typeof code === 'string' ? ` (${code})` : ''}: ${message}`,
      );
    }
  }
}

/** Error codes that mean a file or header failed authentication (FORMAT.md: AEAD / header MAC). */
export const AUTH_FAILURE_CODES: ReadonlySet<string> = new Set(['AUTH_FAILED', 'HEADER_AUTH_FAILED']);

/**
 * Records the security events hidden in a run's failures: one `auth-failed` for the files that failed
 * authentication, one `state-tampered` for a state file that did not verify (STATE_TAMPERED).
 */
export async function recordFailureEvents(
  events: SecurityEvents,
  operation: string,
  failures: readonly { readonly path?: string; readonly code: string; readonly message?: string }[],
): Promise<void> {
  const failed = failures.filter((f) => AUTH_FAILURE_CODES.has(f.code));
  if (failed.length > 0) {
    await events.record('auth-failed', {
      operation,
      codes: [...new Set(failed.map((f) => f.code))],
      files: absolutePaths(failed),
    });
  }
  const tampered = failures.filter((f) => f.code === 'STATE_TAMPERED');
  if (tampered.length > 0) {
    // The message names the state file (settings.json, folders.json, escrow.json), never its content.
    await events.record('state-tampered', {
      operation,
      found: tampered.map((f) => f.message ?? f.code),
    });
  }
}

/** Absolute paths of a batch's items, for an event's details (names only, never contents). */
export function absolutePaths(items: readonly { readonly path?: string }[]): string[] {
  return items.flatMap((i) => (i.path === undefined ? [] : [resolve(i.path)]));
}
