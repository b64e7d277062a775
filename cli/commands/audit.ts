/**
 * `coffer audit log|verify`: the tamper-evident audit trail in app data (issue 11 item 2;
 * electron/services/audit-log/). `verify` exits 1 and names the first record that does not verify.
 */
import path from 'node:path';
import type { AuditRecord } from '../../electron/services/audit-log/record.js';
import {
  recordFailureEvents,
  type EventDetails,
  type SecurityEventType,
} from '../../electron/services/audit-log/security-events.js';
import { runVerdict } from '../../electron/services/folders/clear-state.js';
import type { RunReport } from '../../electron/services/folders/types.js';
import type { RotationReport } from '../../electron/services/keys/rotation.js';
import type { RestoreRef, RestoreResult } from '../../electron/services/keys/recovery-service.js';
import type { CliContext } from '../context.js';
import os from 'node:os';
import { AuditForwarder } from '../../electron/services/audit-log/forwarder.js';
import { EXIT_FAILED, UsageError, localTime, printable } from '../output.js';
import type { CommandGroup } from './types.js';

function sinceMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw new UsageError(
      `--since ${text}: not a date`,
      'Give a date such as 2026-11-29 or 2026-11-29T14:00:00Z: `coffer audit log --since 2026-11-29`.',
    );
  }
  return ms;
}

function describe(r: AuditRecord): string {
  const details = Object.entries(r.details)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(', ') : String(v)}`)
    .join('; ');
  return printable(`#${r.seq} ${localTime(Date.parse(r.time))} ${r.type}${details ? `  ${details}` : ''}`);
}

/*
 * The recording calls of the command actions, one line at each call site (the services stay unaware).
 * Each resolves once the event is written or its failure was printed as a warning.
 */

export async function recordEvent(
  ctx: CliContext,
  type: SecurityEventType,
  details: EventDetails,
): Promise<void> {
  await (await ctx.services()).events.record(type, details);
}

/** A folder protect/unprotect: the folder and counts; what was left in the clear; failed authentication. */
export async function recordFolderRun(ctx: CliContext, report: RunReport): Promise<void> {
  const { events } = await ctx.services();
  const verdict = runVerdict(report);
  // Paths as a run names them (relative to the folder, or absolute), always absolute in the log.
  const where = (p: string): string => path.resolve(report.folder, p);
  await events.record(report.op, {
    folder: report.folder,
    filesDone: report.filesDone,
    filesTotal: report.filesTotal,
    cancelled: report.cancelled,
  });
  if (report.op === 'protect' && verdict.problems.length > 0) {
    await events.record('left-in-clear', {
      folder: report.folder,
      files: verdict.problems.map((p) => where(p.path)),
      codes: [...new Set(verdict.problems.map((p) => p.code))],
    });
  }
  await recordFailureEvents(
    events,
    report.op,
    [...report.failed, ...report.skipped].map((f) => ({ ...f, path: where(f.path) })),
  );
}

/** A rotation that changed something (headers re-wrapped, escrow re-sealed) or failed somewhere. */
export async function recordRotation(ctx: CliContext, report: RotationReport): Promise<void> {
  const rewrapped = report.inPlace + report.copied;
  if (rewrapped === 0 && report.escrow !== 'resealed' && report.failed.length === 0) return;
  const { events } = await ctx.services();
  await events.record('rewrap', {
    recoveryKeyIds: report.recoveryKeyIds,
    rewrapped,
    escrow: report.escrow,
    failed: report.failed.map((f) => f.path),
  });
  await recordFailureEvents(events, 'rewrap', report.failed);
}

/** `coffer recover`: files decrypted with the organization recovery key (in place, or copies elsewhere). */
export async function recordRecover(
  ctx: CliContext,
  outDir: string | undefined,
  results: readonly { path: string; target: string }[],
  failures: readonly { path?: string; code: string }[],
): Promise<void> {
  const { events } = await ctx.services();
  if (results.length > 0) {
    await events.record(outDir === undefined ? 'unprotect' : 'decrypt-copy', {
      command: 'recover',
      with: 'organization recovery key',
      files: results.map((r) => path.resolve(r.path)),
      written: results.map((r) => path.resolve(r.target)),
    });
  }
  await recordFailureEvents(events, 'recover', failures);
}

/** `coffer rekey`: files given to this device with the organization recovery key. */
export async function recordRekey(
  ctx: CliContext,
  deviceKeyId: string,
  results: readonly { path: string; outcome: string }[],
  failures: readonly { path?: string; code: string }[],
): Promise<void> {
  const { events } = await ctx.services();
  const changed = results.filter((r) => r.outcome !== 'unchanged');
  if (changed.length > 0) {
    await events.record('rekey', { deviceKeyId, files: changed.map((r) => path.resolve(r.path)) });
  }
  await recordFailureEvents(events, 'rekey', failures);
}

/** `coffer restore-device`: the restored key, what opened the record, and the code it used or made. */
export async function recordRestore(
  ctx: CliContext,
  escrow: string,
  ref: RestoreRef,
  result: RestoreResult,
): Promise<void> {
  const { events } = await ctx.services();
  await events.record('restore-device', {
    escrow: path.resolve(escrow),
    restoredKeyId: result.restoredKeyId,
    deviceKeyId: result.deviceKeyId,
    ...(result.replacedKeyId === null ? {} : { replacedKeyId: result.replacedKeyId }),
    openedWith: ref.kind === 'code' ? 'recovery code' : 'organization recovery key',
  });
  if (ref.kind === 'code') await events.record('recovery-code-used', { codeKeyId: ref.codeKeyId });
  if (result.newCode) {
    await events.record('recovery-code-made', {
      codeKeyId: result.newCode.keyId,
      deviceKeyId: result.newCode.deviceKeyId,
      sealedTo: result.newCode.sealedTo,
    });
  }
}

/** A run that ended in an error (main.ts): a tampered state file or a failed authentication is recorded. */
export async function recordThrown(
  ctx: CliContext,
  failure: { code: string; message: string },
): Promise<void> {
  if (
    failure.code !== 'STATE_TAMPERED' &&
    failure.code !== 'AUTH_FAILED' &&
    failure.code !== 'HEADER_AUTH_FAILED'
  )
    return;
  let services;
  try {
    services = await ctx.services();
  } catch {
    return; // nothing was built, so nothing can be recorded; the error itself is reported
  }
  await recordFailureEvents(services.events, 'run', [failure]);
}

export const registerAuditCommands: CommandGroup = (program, ctx) => {
  const { out } = ctx;
  const audit = program
    .command('audit')
    .description('the audit trail of security events on this laptop: list it, verify it');

  audit
    .command('log')
    .description('list the recorded security events (oldest first), and whether the log verifies')
    .option('--since <date>', 'only events at or after this date (e.g. 2026-11-29)')
    .action(async (options: { since?: string }) => {
      const since = sinceMs(options.since);
      const { auditLog } = await ctx.services();
      const verification = await auditLog.verify();
      const records = auditLog.read().filter((r) => since === undefined || Date.parse(r.time) >= since);
      for (const r of records) out.info(describe(r));
      if (records.length === 0) out.info('No events recorded.');
      if (!verification.ok) {
        out.note(
          `Warning: the audit log does not verify (${verification.firstBad?.problem ?? 'unknown'}); run \`coffer audit verify\`.`,
        );
      }
      out.document({
        command: 'audit log',
        ok: true,
        verified: verification.ok,
        records,
      });
    });

  audit
    .command('forward')
    .description("send the events not yet sent to the organization's collector (policy auditForward) now")
    .action(async () => {
      const { auditLog, policy } = await ctx.services();
      const url = policy.auditForward();
      if (url === undefined) {
        out.info('The policy sets no auditForward collector; nothing to send.');
        out.document({ command: 'audit forward', ok: true, sent: 0, pending: 0, dropped: 0 });
        return;
      }
      const result = await new AuditForwarder({
        log: auditLog,
        url: () => url,
        source: os.hostname(),
      }).flush();
      out.info(`Sent ${result.sent} event(s) to ${url}; ${result.pending} waiting.`);
      if (result.dropped > 0)
        out.note(`Warning: ${result.dropped} older event(s) were over the spool's bound and were not sent.`);
      if (result.error !== undefined) {
        out.failure({
          code: 'AUDIT_FORWARD_FAILED',
          message: `the collector ${url} did not take the events: ${result.error}`,
          hint: 'They stay on this laptop and are sent later (the app retries; or run `coffer audit forward` again).',
        });
        ctx.exitCode = EXIT_FAILED;
      }
      out.document({ command: 'audit forward', ok: result.error === undefined, url, ...result });
    });

  audit
    .command('verify')
    .description('check every record and the head; exit 1 naming the first bad record')
    .action(async () => {
      const { auditLog } = await ctx.services();
      const v = await auditLog.verify();
      if (v.ok) {
        out.info(`The audit log verifies: ${v.records} records, ${auditLog.logFile}`);
      } else {
        const where = [
          v.firstBad?.line !== undefined ? `line ${v.firstBad.line}` : undefined,
          v.firstBad?.seq !== undefined ? `seq ${v.firstBad.seq}` : undefined,
        ].filter(Boolean);
        out.failure({
          path: auditLog.logFile,
          code: 'AUDIT_LOG_TAMPERED',
          message: `first bad record${where.length > 0 ? ` (${where.join(', ')})` : ''}: ${v.firstBad?.problem ?? 'unknown'}`,
          hint: 'The log was edited, cut short or replaced: keep a copy of the audit folder and tell IT.',
        });
        ctx.exitCode = EXIT_FAILED;
      }
      out.document({
        command: 'audit verify',
        ok: v.ok,
        records: v.records,
        ...(v.firstBad ? { firstBad: v.firstBad } : {}),
        logFile: auditLog.logFile,
      });
    });
};
