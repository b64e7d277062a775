/**
 * `coffer audit log|verify`: the tamper-evident audit trail in app data (issue 11 item 2;
 * electron/services/audit-log/). `verify` exits 1 and names the first record that does not verify.
 */
import type { AuditRecord } from '../../electron/services/audit-log/record.js';
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
