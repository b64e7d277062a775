/**
 * `coffer report [--out FILE]` and `coffer report verify FILE [--expect-key ID]`: the signed breach-readiness
 * report of this laptop (issue 11 item 3; docs/REPORT.md). `verify` needs no keychain and no app data: it runs
 * on any machine. After a command that recorded a security event, the report goes to policy `reportDir`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReportSigningKey } from '../../electron/services/report/signing-key.js';
import { collectReport, type ReportReason } from '../../electron/services/report/collect.js';
import { lastAttestedScan } from '../../electron/services/audit/attested-scan.js';
import {
  normalizeKeyId,
  signReport,
  verifyReportFile,
  type ReportFile,
  type Verdict,
} from '../../electron/services/report/report-file.js';
import { ReportPublisher, reportText, type PublishResult } from '../../electron/services/report/publisher.js';
import { lockDirIn } from '../../electron/services/folders/folder-service.js';
import { writeFileAtomic } from '../../electron/services/state/atomic-write.js';
import { CofferError } from '../../crypto/errors.js';
import type { CliContext } from '../context.js';
import { EXIT_FAILED, UsageError, localTime, printable } from '../output.js';
import { folderService } from './folders.js';
import { CliPresence } from '../presence.js';
import { rotationFor } from './rewrap.js';
import type { CommandGroup } from './types.js';

/** Set by registerReportCommands: the version the report names (the CLI's own). */
let appVersion = 'unknown';

async function makeReport(ctx: CliContext, reason: ReportReason): Promise<ReportFile> {
  const s = await ctx.services();
  const rotation = await rotationFor(ctx);
  const { service, close } = await folderService(ctx);
  const presence = new CliPresence(s.paths.home);
  try {
    const body = await collectReport(
      {
        sodium: s.sodium,
        appVersion,
        hostname: os.hostname(),
        user: os.userInfo().username,
        platform: process.platform,
        deviceKeys: s.deviceKeys,
        trustedKeys: s.trustedKeys,
        policy: s.policy,
        folders: () => Promise.resolve(service.status()),
        coverage: (folder) => rotation.coverage(folder),
        isProtected: (folder) => s.folders.covering(folder) !== undefined,
        lastScan: () => lastAttestedScan(s.auditLog, s.audit.requiredRoots()),
        // A folder gone or whose drive is not mounted is not reported as protected (as `coffer status`).
        presence: (folder) => presence.check(folder),
        auditTrail: async () => {
          const v = await s.auditLog.verify();
          return { records: v.records, verified: v.ok };
        },
      },
      reason,
    );
    const key = new ReportSigningKey({
      sodium: s.sodium,
      keyStore: s.keyStore,
      lockDir: lockDirIn(s.paths.home),
    });
    return await key.use((sign) => signReport(body, sign));
  } finally {
    await close();
  }
}

const publishers = new WeakMap<CliContext, Promise<ReportPublisher>>();

function publisherFor(ctx: CliContext): Promise<ReportPublisher> {
  let publisher = publishers.get(ctx);
  if (!publisher) {
    publisher = ctx.services().then(
      (s) =>
        new ReportPublisher({
          reportDir: () => s.policy.reportDir(),
          make: (reason) => makeReport(ctx, reason),
          events: s.events,
          stateDir: path.join(s.paths.home, 'report'),
        }),
    );
    publishers.set(ctx, publisher);
  }
  return publisher;
}

function noteFailedDelivery(ctx: CliContext, result: Extract<PublishResult, { status: 'failed' }>): void {
  ctx.out.note(
    `Note: the report for IT could not be written to ${result.reportDir} (${result.error}). Your command is not affected; Coffer tries again after the next change and daily, or run \`coffer report\`.`,
  );
}

/**
 * After a command: when it recorded a security event (a change) and the policy names a reportDir, the report
 * goes there (docs/REPORT.md §7). Bounded in time and never throws: the command's outcome stands.
 */
export async function publishAfterChange(ctx: CliContext): Promise<void> {
  const built = ctx.builtServices();
  if (built === undefined) return;
  try {
    const s = await built;
    if (s.changesRecorded() === 0 || s.policy.reportDir() === undefined) return;
    const result = await (await publisherFor(ctx)).publish('change');
    if (result.status === 'failed') noteFailedDelivery(ctx, result);
  } catch (error) {
    ctx.out.note(
      `Note: the report for IT was not made (${error instanceof Error ? error.message : String(error)}); Coffer tries again later.`,
    );
  }
}

/** `value` with each string made printable() (line breaks too, shown as \u{A}). */
function oneLine<T>(value: T): T {
  if (typeof value === 'string') return printable(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => oneLine(v)) as T;
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, oneLine(v)])) as T;
  return value;
}

function printVerdict(ctx: CliContext, verdict: Verdict): void {
  const { out } = ctx;
  if (!verdict.ok) {
    out.failure({
      path: verdict.file,
      code: verdict.code,
      message: verdict.problem,
      hint:
        verdict.code === 'REPORT_UNREADABLE'
          ? 'Check the path and permissions.'
          : 'Do not rely on this report: take the previous one that verifies, and tell IT security (HELPDESK.md F).',
    });
    out.document({ command: 'report verify', ...verdict });
    ctx.exitCode = EXIT_FAILED;
    return;
  }
  // Every string of the report on one line: out.info keeps line breaks, and a forger's host name must not
  // add a line of verify's own ("signer checked against …") under the warning.
  const r = oneLine(verdict.report);
  out.info(`${verdict.file}: verified, signed by report key ${verdict.signerKeyId}.`);
  if (verdict.signerChecked) out.info(`  signer checked against ${verdict.checkedAgainst ?? '?'}`);
  else
    out.note(
      'Warning: the signer was not checked (no --expect-key, and no earlier report of this laptop beside the file): the signature alone shows only that some key signed it.',
    );
  out.info(
    `  ${r.device.user}@${r.device.hostname} (${r.device.platform}), ${localTime(Date.parse(r.createdAt))}, Coffer ${r.app.version}`,
  );
  out.info(
    `  device key ${r.device.deviceKeyId ?? 'none'} (${r.device.deviceKeyState}); recovery keys ${r.recoveryKeys.current.join(', ') || 'none'}`,
  );
  out.info(
    `  ${r.totals.folders} protected folder(s): ${r.totals.protected} files protected, ${r.totals.inTheClear} in the clear, ${r.totals.excluded ?? '?'} left out by rule (plain on disk: hidden, excluded, unprotected subfolders), ${r.totals.notRecoverableByIt} not recoverable by IT${r.totals.unavailable ? `, ${r.totals.unavailable} folder(s) Coffer cannot see (gone, or a drive not connected): not all protected` : ''}`,
  );
  out.info(
    r.audit.state === 'none'
      ? `  data audit: ${r.audit.note}`
      : `  data audit ${r.audit.at}: ${r.audit.filesWithFindingsOutsideProtected} file(s) with customer data outside protected folders`,
  );
  out.document({ command: 'report verify', ...verdict });
}

/** --out: a clear error for a folder or an unwritable place (writeFileAtomic's own error read as a bug). */
function writeOut(target: string, text: string): void {
  const fail = (why: string): CofferError =>
    new CofferError(
      'REPORT_OUT_FAILED',
      `${target}: the report could not be written there (${why})`,
      'Give --out the path of a file in a folder you can write, or leave it out to print the report.',
    );
  let isFolder = false;
  try {
    isFolder = fs.statSync(target).isDirectory();
  } catch {
    // not there yet: the usual case
  }
  if (isFolder) throw fail('it is a folder');
  try {
    writeFileAtomic(target, text, 0o644);
  } catch (error) {
    throw fail(error instanceof Error ? error.message : String(error));
  }
}

export const registerReportCommands: CommandGroup = (program, ctx) => {
  const { out } = ctx;
  appVersion = program.version() ?? 'unknown';
  const report = program
    .command('report')
    .description(
      'write a signed breach-readiness report of this laptop (keys, protected folders and counts, audit, policy); also to policy reportDir',
    )
    .option('--out <file>', 'write the report to this file (default: print it)')
    .action(async (options: { out?: string }) => {
      const file = await makeReport(ctx, 'manual');
      if (options.out !== undefined) {
        writeOut(path.resolve(options.out), reportText(file));
        out.info(`Report written to ${path.resolve(options.out)}.`);
      } else if (!out.json) {
        out.stdout.write(reportText(file));
      }
      out.note(
        `Signed by report key ${file.signer.keyId}: IT checks it with \`coffer report verify FILE --expect-key ${file.signer.keyId}\`.`,
      );
      const delivered = await (await publisherFor(ctx)).deliver(file, 'manual');
      // On stderr: without --out, stdout carries the report itself (`coffer report > FILE`).
      if (delivered.status === 'written') out.note(`Report delivered to ${delivered.file}.`);
      if (delivered.status === 'failed') {
        out.failure({
          path: delivered.reportDir,
          code: 'REPORT_DELIVERY_FAILED',
          message: `the report could not be written to reportDir: ${delivered.error}`,
          hint: 'Check that the share is reachable; Coffer tries again after the next change and daily.',
        });
        ctx.exitCode = EXIT_FAILED;
      }
      out.document({
        command: 'report',
        ok: delivered.status !== 'failed',
        ...(options.out !== undefined ? { out: path.resolve(options.out) } : {}),
        signerKeyId: file.signer.keyId,
        delivery: delivered,
        file,
      });
    });

  report
    .command('verify')
    .description(
      'check a report on any machine: signature, and signer against --expect-key or earlier reports beside it',
    )
    .argument('<file>', 'the report file')
    .option('--expect-key <id>', "the laptop's report key ID, as IT recorded it")
    .action((file: string, options: { expectKey?: string }) => {
      let expectKeyId: string | undefined;
      if (options.expectKey !== undefined) {
        const normalized = normalizeKeyId(options.expectKey);
        if (normalized === null)
          throw new UsageError(
            `--expect-key ${options.expectKey}: not a key ID`,
            'Give the 16 hex digits `coffer report` printed, e.g. 3f9a-12bc-0e77-a1d4.',
          );
        expectKeyId = normalized;
      }
      printVerdict(
        ctx,
        verifyReportFile(path.resolve(file), expectKeyId === undefined ? {} : { expectKeyId }),
      );
    });
};
