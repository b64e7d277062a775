/**
 * `coffer audit log|verify`: the tamper-evident audit trail in app data (issue 11 item 2;
 * electron/services/audit-log/). `verify` exits 1 and names the first record that does not verify.
 * `coffer audit scan` and `coffer audit find`: the data audit (issue 11 item 1; electron/services/audit/): where customer data
 * is, in counts per detector (never a matched value), and which files hold a customer's terms.
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
import { EXIT_FAILED, EXIT_OK, UsageError, localTime, printable } from '../output.js';
import fs from 'node:fs';
import { isCofferError } from '../../crypto/errors.js';
import { filesBar, mib } from '../progress.js';
import type { AuditProgress, ScanReport, SkippedFile } from '../../electron/services/audit/types.js';
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
    .description(
      'the audit trail of security events on this laptop (log, verify, forward); the data audit (scan, find)',
    );

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

  registerDataAudit(audit, ctx);
};

/** `name=count` pairs, largest first: `email=12 iban=1`. */
function countsText(findings: Readonly<Record<string, number>>): string {
  return Object.entries(findings)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([name, n]) => `${name}=${n}`)
    .join(' ');
}

/** Ctrl-C stops the scan after the pieces in flight and still reports; a second Ctrl-C exits. */
function cancelOnSigint(ctx: CliContext): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const onSigint = (): void => {
    ctx.out.note('Stopping…');
    controller.abort();
    process.removeListener('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, done: () => process.removeListener('SIGINT', onSigint) };
}

/** Skipped files: errors as failures on stderr (they make the run incomplete), content reasons as notes. */
function printSkipped(ctx: CliContext, skipped: readonly SkippedFile[]): void {
  for (const s of skipped) {
    if (s.kind === 'error')
      ctx.out.failure({
        path: s.path,
        code: s.code,
        message: s.reason,
        hint: 'It was not scanned: check that it can be read, then scan again.',
      });
    else if (s.kind === 'content') ctx.out.info(printable(`not read: ${s.path}: ${s.reason}`));
  }
}

function printScan(ctx: CliContext, report: ScanReport): void {
  const { out } = ctx;
  for (const f of report.files) {
    const marks = [f.protected ? 'protected' : 'IN THE CLEAR', ...(f.stale ? ['stale'] : [])];
    out.info(printable(`${f.path}  [${marks.join(', ')}]  ${countsText(f.findings)}`));
  }
  printSkipped(ctx, report.skipped);
  const s = report.summary;
  const read = `Scanned ${s.filesScanned} file${s.filesScanned === 1 ? '' : 's'} (${s.fromCache} unchanged since the last scan, ${mib(s.bytesRead)} MiB read)`;
  const found =
    s.filesWithFindings === 0
      ? 'no customer data found'
      : `${s.filesWithFindings} with customer data: ${s.unprotectedWithFindings} in the clear, ${s.protectedWithFindings} protected; ${s.staleWithFindings} stale (over ${s.retentionDays} days)`;
  const notRead = s.skipped.error > 0 ? `; ${s.skipped.error} could not be read` : '';
  out.info(`${read}: ${found}${notRead}${s.cancelled ? '; cancelled before the end' : ''}.`);
  if (s.filesWithFindings > 0) out.info(`Findings: ${countsText(s.findings)}`);
}

/** Terms from the command line, or one per line from a file (`-`: standard input), kept out of argv. */
function readTerms(terms: readonly string[], file: string | undefined): string[] {
  if (file === undefined) return [...terms];
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--terms-from ${file}: ${error instanceof Error ? error.message : String(error)}`,
      'Give a readable file with one term per line, or - for standard input.',
    );
  }
  return [...terms, ...text.split(/\r?\n/)];
}

function registerDataAudit(audit: ReturnType<Parameters<CommandGroup>[0]['command']>, ctx: CliContext): void {
  const { out } = ctx;
  const progressTo = (bar: ReturnType<typeof filesBar>) => (p: AuditProgress) => {
    if (p.phase === 'reading') bar.update(p);
  };

  audit
    .command('scan')
    .description(
      "look for customer data (e-mail, phone, IBAN, payment card, US SSN, UK NINO, the policy's patterns) in the given paths, or in the policy's audit roots and every protected folder; protected files are decrypted in memory only",
    )
    .argument(
      '[path...]',
      'files or folders (default: auditRoots of the policy, or Desktop, Documents, Downloads; and every protected folder)',
    )
    .action(async (paths: string[]) => {
      const services = await ctx.services();
      if (services.policy.state.status === 'invalid')
        out.note(
          "Warning: the policy is invalid; scanning with the default roots and without the organization's patterns.",
        );
      const bar = filesBar('Scanning', out.json);
      const cancel = cancelOnSigint(ctx);
      let report: ScanReport;
      try {
        report = await services.audit.scan(paths.length > 0 ? paths : undefined, {
          onProgress: progressTo(bar),
          signal: cancel.signal,
        });
      } finally {
        bar.stop();
        cancel.done();
        await services.audit.close();
      }
      printScan(ctx, report);
      out.document(report);
      ctx.exitCode = report.ok ? EXIT_OK : EXIT_FAILED;
    });

  audit
    .command('find')
    .description(
      "list the files (protected or not) whose name or content holds any of the terms (an e-mail, a customer number, a name): for a customer's access or erasure request; case-insensitive",
    )
    .argument(
      '[term...]',
      'what to look for (or use --terms-from, to keep the terms out of the process list)',
    )
    .option('--terms-from <file>', 'read the terms from this file, one per line (- for standard input)')
    .option(
      '--in <path>',
      'search this file or folder instead (repeatable; default: as scan)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .action(async (given: string[], options: { termsFrom?: string; in: string[] }) => {
      const terms = readTerms(given, options.termsFrom).filter((t) => t.trim().length > 0);
      if (terms.length === 0)
        throw new UsageError(
          'audit find: no term given',
          'Give at least one term: `coffer audit find alice@example.com`.',
        );
      const services = await ctx.services();
      const bar = filesBar('Searching', out.json);
      const cancel = cancelOnSigint(ctx);
      let report;
      try {
        report = await services.audit.find(terms, options.in, {
          onProgress: progressTo(bar),
          signal: cancel.signal,
        });
      } catch (error) {
        if (isCofferError(error) && error.code === 'AUDIT_FIND_NO_TERM')
          throw new UsageError(error.message, error.hint);
        throw error;
      } finally {
        bar.stop();
        cancel.done();
        await services.audit.close();
      }
      for (const f of report.files) {
        const where = [
          ...(f.inName.length > 0 ? ['name'] : []),
          ...(f.inContent.length > 0 ? ['content'] : []),
        ];
        out.info(
          printable(`${f.path}  [${f.protected ? 'protected' : 'in the clear'}; in ${where.join(' and ')}]`),
        );
      }
      printSkipped(ctx, report.skipped);
      const s = report.summary;
      out.info(
        `Found ${report.files.length} file${report.files.length === 1 ? '' : 's'} holding ${report.terms === 1 ? 'the term' : `any of ${report.terms} terms`}, of ${s.filesSearched} searched (${mib(s.bytesRead)} MiB read)${s.cancelled ? '; cancelled before the end' : ''}.`,
      );
      out.document(report);
      ctx.exitCode = report.ok ? EXIT_OK : EXIT_FAILED;
    });
}
