/**
 * `coffer rewrap [PATH…]`, and the rotation run after `recovery trust|untrust` and `protect`: the escrow
 * record, the copies beside protected folders and every file's header brought to exactly the current
 * recovery key set, with the device key (electron/services/keys/rotation.ts).
 */
import { HeaderRewriter } from '../../electron/services/headers/header-rewriter.js';
import { RekeyService } from '../../electron/services/keys/rekey.js';
import {
  currentRecoveryKeyIds,
  headerJournalDir,
  RotationService,
  type RotationReport,
} from '../../electron/services/keys/rotation.js';
import type { RunReport } from '../../electron/services/folders/types.js';
import type { CliContext } from '../context.js';
import { filesBar, mib } from '../progress.js';
import { EXIT_FAILED, EXIT_OK } from '../output.js';
import type { CommandGroup } from './types.js';
import { recordRotation } from './audit.js';

const built = new WeakMap<CliContext, Promise<RotationService>>();

/** The one helpdesk rekey (RekeyService, shared with the app), over this run's services. */
export async function rekeyFor(ctx: CliContext): Promise<RekeyService> {
  const s = await ctx.services();
  return new RekeyService({
    sodium: s.sodium,
    recipients: (extra) => s.writeKeys.recipients(extra),
    rewriter: new HeaderRewriter({ sodium: s.sodium, journalDir: headerJournalDir(s.paths.home) }),
  });
}

/** The rotation service of this CLI run, over the run's services (one per context). */
export function rotationFor(ctx: CliContext): Promise<RotationService> {
  let rotation = built.get(ctx);
  if (!rotation) {
    rotation = ctx.services().then((s) => {
      return new RotationService({
        sodium: s.sodium,
        recipients: () => s.writeKeys.recipients(),
        identities: () => s.deviceKeys.identities(),
        recoveryKeyIds: () =>
          currentRecoveryKeyIds(s.sodium, s.trustedKeys.publicKeys(), s.policy.recoveryRecipients()),
        escrow: s.recovery,
        copies: s.escrowCopies,
        folders: () => s.folders.list().map((f) => f.path),
        rewriter: new HeaderRewriter({ sodium: s.sodium, journalDir: headerJournalDir(s.paths.home) }),
        stateDir: s.paths.home,
      });
    });
    built.set(ctx, rotation);
  }
  return rotation;
}

/** Runs a rotation with a progress bar and Ctrl-C (stops after the file in flight); prints the summary. */
export async function rotate(
  ctx: CliContext,
  paths?: readonly string[],
  printFailures = true,
): Promise<RotationReport> {
  const rotation = await rotationFor(ctx);
  const controller = new AbortController();
  const onSigint = (): void => {
    ctx.out.note('Stopping after the file in flight…');
    controller.abort();
    process.removeListener('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  const bar = filesBar('Re-wrapping', ctx.out.json);
  let report: RotationReport;
  try {
    report = await rotation.run({
      ...(paths === undefined ? {} : { paths }),
      onProgress: bar.update,
      signal: controller.signal,
    });
  } finally {
    bar.stop();
    process.removeListener('SIGINT', onSigint);
  }
  printSummary(ctx, report, printFailures);
  await recordRotation(ctx, report);
  return report;
}

function printSummary(ctx: CliContext, report: RotationReport, printFailures: boolean): void {
  const { out } = ctx;
  const set = report.recoveryKeyIds.length
    ? report.recoveryKeyIds.join(', ')
    : 'no organization recovery key';
  const rewrapped = report.inPlace + report.copied;
  out.info(
    `Re-wrapped ${rewrapped} of ${report.filesTotal} files (${mib(report.bytesTotal)} MiB) to ${set} in ${(report.durationMs / 1000).toFixed(1)} s` +
      (report.unchanged ? `; ${report.unchanged} already were` : ''),
  );
  const escrow = {
    resealed: 'Escrow record and folder copies re-sealed to the current recovery keys.',
    unchanged: 'Escrow record already sealed to the current recovery keys.',
    none: 'No escrow record yet (make one with `coffer recovery code`).',
    failed: 'The escrow record could not be re-sealed (see below).',
  }[report.escrow];
  out.info(escrow);
  if (report.cancelled) out.note('Cancelled: run `coffer rewrap` again to finish.');
  if (printFailures) for (const f of report.failed) out.failure(f);
  if (report.failed.length > 0)
    out.note(
      `${report.failed.length} item(s) do not carry the current recovery keys yet; fix them and run \`coffer rewrap\` again.`,
    );
}

export function rotationOk(report: RotationReport): boolean {
  return report.failed.length === 0 && !report.cancelled;
}

/** For the JSON documents: the counts and failures, without the noise. */
export function rotationDoc(report: RotationReport): Record<string, unknown> {
  return { ...report, rewrapped: report.inPlace + report.copied };
}

/** After a protect run: files there that lack the current set (written before a key change) are re-wrapped. */
export async function rewrapAfterProtect(
  ctx: CliContext,
  report: RunReport,
): Promise<RunReport & { rewrap?: Record<string, unknown> }> {
  if (report.cancelled) return report;
  const rotation = await rotate(ctx, [report.folder], false); // printReport lists the failures
  return { ...report, failed: [...report.failed, ...rotation.failed], rewrap: rotationDoc(rotation) };
}

export const registerRewrapCommands: CommandGroup = (program, ctx) => {
  program
    .command('rewrap')
    .description(
      're-wrap files with the device key so they carry exactly the current recovery keys (headers only); also re-seals the escrow record',
    )
    .argument('[path...]', '.coffer files or folders (default: every protected folder)')
    .action(async (paths: string[]) => {
      const report = await rotate(ctx, paths.length > 0 ? paths : undefined);
      ctx.out.document({ command: 'rewrap', ok: rotationOk(report), ...rotationDoc(report) });
      ctx.exitCode = rotationOk(report) ? EXIT_OK : EXIT_FAILED;
    });
};
