/** `coffer protect | unprotect | status | watch`: protected folders (issue #4), over FolderService. */
import fs from 'node:fs';
import os from 'node:os';
import cliProgress from 'cli-progress';
import { appDataHome } from '../../electron/services/app-paths.js';
import { guardRailsFor } from '../../electron/services/folders/guard-rails.js';
import { escrowCopyPath } from '../../electron/services/keys/folder-escrow.js';
import { FolderService, lockDirIn } from '../../electron/services/folders/folder-service.js';
import { WorkerPool } from '../../electron/services/folders/pool.js';
import type { RunProgress, RunReport } from '../../electron/services/folders/types.js';
import { FolderWatcher } from '../../electron/services/folders/watcher.js';
import type { CliContext } from '../context.js';
import { EXIT_FAILED, EXIT_OK, printable, toFailure } from '../output.js';
import type { CommandGroup } from './types.js';

async function folderService(
  ctx: CliContext,
): Promise<{ service: FolderService; close: () => Promise<void> }> {
  const { sodium, paths, writeKeys, policy, folders, escrowCopies, guard } = await ctx.services();
  let pool: WorkerPool | null = null;
  const service = new FolderService({
    registry: folders,
    // Device + trusted + policy recovery keys, approved by the policy on every run.
    keys: writeKeys,
    pool: () => (pool ??= new WorkerPool({ backend: sodium.name })),
    lockDir: lockDirIn(paths.home),
    policy,
    // The escrow record beside each protected folder, so its backups can restore the device key.
    escrow: escrowCopies,
    guard,
  });
  return { service, close: async () => pool?.close() };
}

const mib = (n: number): string => (n / 1048576).toFixed(1);

/** A files bar on stderr, only on a terminal; its numbers come from the run's progress events. */
function progressBar(ctx: CliContext, verb: string): { update: (p: RunProgress) => void; stop: () => void } {
  const stream = process.stderr;
  if (!stream.isTTY || ctx.out.json) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${verb} {bar} {value}/{total} files | {done}/{all} MiB | {rate} MiB/s | ETA {eta}s`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (p) => {
      const payload = {
        done: mib(p.bytesDone),
        all: mib(p.bytesTotal),
        rate: mib(p.bytesPerSecond),
        eta: p.etaMs === null ? '?' : Math.ceil(p.etaMs / 1000),
      };
      if (!started) bar.start(p.filesTotal, p.filesDone, payload);
      else bar.update(p.filesDone, payload);
      started = true;
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

function printReport(ctx: CliContext, report: RunReport): void {
  const { out } = ctx;
  const verb = report.op === 'protect' ? 'Protected' : 'Unprotected';
  out.info(
    `${verb} ${report.filesDone} of ${report.filesTotal} files (${mib(report.bytesDone)} MiB) in ${report.folder} in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  if (report.alreadyDone)
    out.info(`Already ${report.op === 'protect' ? 'protected' : 'in the clear'}: ${report.alreadyDone}`);
  if (report.leftoversResolved)
    out.info(`Leftovers of an interrupted run cleaned up: ${report.leftoversResolved}`);
  if (report.ignored) out.info(`Ignored (OS and editor litter): ${report.ignored}`);
  if (report.cancelled)
    out.note('Cancelled: files not reached are unchanged; run the command again to finish.');
  for (const s of report.skipped)
    out.failure({ path: s.path, code: s.code, message: s.message, hint: s.hint });
  for (const f of report.failed) out.failure(f);
  out.document({ command: report.op, ok: report.failed.length === 0 && !report.cancelled, report });
  ctx.exitCode = report.failed.length === 0 && !report.cancelled ? EXIT_OK : EXIT_FAILED;
}

/**
 * The policy gates, before the folder is registered or a file touched: a refused protect must not leave a
 * registered folder behind, and a refused unprotect must not decrypt half a folder.
 */
async function checkPolicy(ctx: CliContext, op: 'protect' | 'unprotect', dir: string): Promise<void> {
  if (op === 'protect') {
    // First, before app data or a key is made: a forbidden folder (home, app data, a keyring…) is refused.
    const appHome = appDataHome({ env: ctx.env, platform: process.platform, homedir: os.homedir() });
    guardRailsFor(appHome, ctx.env).assertCanProtect(realOr(dir));
  }
  const { policy, writeKeys } = await ctx.services();
  if (op === 'protect') {
    await writeKeys.recipients(); // throws NO_RECOVERY_KEY / POLICY_INVALID
  } else {
    policy.assertCanUnprotect();
    policy.assertCanRemoveFolder(dir);
  }
}

/** A refusal of the whole run (policy, missing folder) is one failure line naming the folder. */
function refuse(ctx: CliContext, op: 'protect' | 'unprotect', dir: string, error: unknown): void {
  const failure = toFailure(error, dir);
  ctx.out.failure(failure);
  ctx.out.document({ command: op, ok: false, failures: [failure] });
  ctx.exitCode = EXIT_FAILED;
}

/** After an unprotect that removed the folder from the protected list, its escrow copy goes too. */
async function forgetEscrowCopy(ctx: CliContext, folder: string, wasProtected: boolean): Promise<void> {
  const { folders, escrowCopies } = await ctx.services();
  // Never protected here (a backup decrypted in place): not ours to remove. Still protected: keep it.
  if (!wasProtected || folders.list().some((f) => f.path === folder)) return;
  try {
    await escrowCopies.removeBeside(folder);
  } catch (error) {
    ctx.out.note(
      `Note: could not remove ${folder}/.coffer-escrow.json (${String(error)}); it is safe to delete.`,
    );
  }
}

async function run(ctx: CliContext, op: 'protect' | 'unprotect', dir: string): Promise<void> {
  try {
    await checkPolicy(ctx, op, dir);
  } catch (error) {
    refuse(ctx, op, dir, error);
    return;
  }
  const { service, close } = await folderService(ctx);
  const { folders } = await ctx.services();
  const wasProtected = folders.list().some((f) => f.path === realOr(dir));
  const controller = new AbortController();
  // Ctrl-C: finish or roll back the files in flight, then report; a second Ctrl-C is the default (exit).
  const onSigint = (): void => {
    ctx.out.note('Stopping after the files in flight…');
    controller.abort();
    process.removeListener('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  const bar = progressBar(ctx, op === 'protect' ? 'Protecting' : 'Unprotecting');
  try {
    let report: RunReport;
    try {
      report =
        op === 'protect'
          ? await service.protect(dir, { onProgress: bar.update, signal: controller.signal })
          : await service.unprotect(dir, { onProgress: bar.update, signal: controller.signal });
    } catch (error) {
      bar.stop();
      refuse(ctx, op, dir, error);
      return;
    }
    bar.stop();
    if (op === 'unprotect') await forgetEscrowCopy(ctx, report.folder, wasProtected);
    printReport(ctx, report);
  } finally {
    bar.stop();
    process.removeListener('SIGINT', onSigint);
    await close();
  }
}

export const registerFolderCommands: CommandGroup = (program, ctx) => {
  program
    .command('protect')
    .description('protect a folder: encrypt every file in it in place (FILE → FILE.coffer) and remember it')
    .argument('<dir>', 'the folder')
    .action((dir: string) => run(ctx, 'protect', dir));

  program
    .command('unprotect')
    .description('stop protecting a folder: decrypt every file in it in place and forget it')
    .argument('<dir>', 'the folder')
    .action((dir: string) => run(ctx, 'unprotect', dir));

  program
    .command('status')
    .description('protected folders: files protected, plaintext waiting, leftovers, last run')
    .argument('[dir]', 'one folder (default: every protected folder)')
    .action(async (dir: string | undefined) => {
      const { service, close } = await folderService(ctx);
      const { policy, folders } = await ctx.services();
      try {
        const statuses = service.status(dir).map((s) => ({
          ...s,
          escrowCopy: fs.existsSync(escrowCopyPath(s.path)),
          mandatory: policy.isMandatoryFolder(s.path),
        }));
        for (const s of statuses) {
          ctx.out.info(
            `${s.path}${s.registered ? '' : ' (not protected)'}${s.mandatory ? ' (required by policy)' : ''}`,
          );
          ctx.out.info(`  protected: ${s.protectedFiles} files, ${mib(s.protectedBytes)} MiB`);
          ctx.out.info(`  waiting:   ${s.plaintextFiles} files in the clear, ${mib(s.plaintextBytes)} MiB`);
          if (s.leftovers) ctx.out.info(`  leftovers: ${s.leftovers} temp files of an interrupted run`);
          if (s.skipped.length)
            ctx.out.info(`  skipped:   ${s.skipped.length} (links, special files, in use)`);
          if (s.registered && !s.escrowCopy)
            ctx.out.info(
              '  escrow:    no copy of the key escrow record yet (make one: `coffer recovery code`)',
            );
          if (s.lastRun)
            ctx.out.info(
              `  last run:  ${s.lastRun.op} ${new Date(s.lastRun.at).toISOString()} ${s.lastRun.outcome}, ${s.lastRun.failed} failed`,
            );
        }
        if (statuses.length === 0) ctx.out.info('No protected folders. Add one with `coffer protect DIR`.');
        // Folders the policy requires that are not protected yet (the app adds them at start).
        const mandatoryNotProtected =
          dir === undefined
            ? policy.mandatoryFolders().filter((m) => folders.covering(realOr(m)) === undefined)
            : [];
        for (const m of mandatoryNotProtected)
          ctx.out.info(`${m} (required by policy): not protected yet — run \`coffer protect ${m}\``);
        ctx.out.document({ command: 'status', ok: true, folders: statuses, mandatoryNotProtected });
      } finally {
        await close();
      }
    });

  program
    .command('watch')
    .description('protect a folder, then keep protecting new and changed files until Ctrl-C (foreground)')
    .argument('<dir>', 'the folder')
    .option('--stable-ms <ms>', 'how long a file must stay unchanged before it is protected', '1000')
    .action(async (dir: string, options: { stableMs: string }) => {
      try {
        await checkPolicy(ctx, 'protect', dir);
      } catch (error) {
        refuse(ctx, 'protect', dir, error);
        return;
      }
      const { service, close } = await folderService(ctx);
      try {
        printReport(ctx, await service.protect(dir));
        const folder = service.status(dir)[0]?.path ?? dir;
        const watcher = new FolderWatcher([folder], service, {
          stableMs: Number(options.stableMs),
          onOutcomes: (outcomes) => {
            for (const o of outcomes) {
              if (o.kind === 'done') ctx.out.info(printable(`protected ${o.path}`));
              else if (o.kind === 'failed') ctx.out.failure(o);
              else if (o.kind === 'skipped')
                ctx.out.failure({ path: o.path, code: o.code, message: o.reason, hint: '' });
            }
          },
          onError: (error) => {
            ctx.out.note(`watch: ${error instanceof Error ? error.message : String(error)}`);
          },
        });
        await watcher.ready();
        ctx.out.note(`Watching ${folder}; Ctrl-C to stop.`);
        await new Promise<void>((resolve) =>
          process.once('SIGINT', () => {
            resolve();
          }),
        );
        await watcher.close();
      } finally {
        await close();
      }
    });
};

/** The registry keeps real paths; a folder that does not exist yet is compared as written. */
function realOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
