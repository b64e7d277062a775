/** `coffer protect | unprotect | status | forget | watch`: protected folders (issue #4), over FolderService. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appDataHome } from '../../electron/services/app-paths.js';
import { guardRailsFor } from '../../electron/services/folders/guard-rails.js';
import { escrowCopyPath } from '../../electron/services/keys/folder-escrow.js';
import { FolderService, lockDirIn } from '../../electron/services/folders/folder-service.js';
import { WorkerPool } from '../../electron/services/folders/pool.js';
import { runVerdict, type ProtectionState } from '../../electron/services/folders/clear-state.js';
import type { FileIssue, RunReport } from '../../electron/services/folders/types.js';
import { FolderWatcher } from '../../electron/services/folders/watcher.js';
import type { CliContext } from '../context.js';
import { filesBar, mib } from '../progress.js';
import { CofferError } from '../../crypto/errors.js';
import { EXIT_FAILED, EXIT_OK, localTime, printable, toFailure } from '../output.js';
import type { CommandGroup } from './types.js';
import { recordFolderRun } from './audit.js';
import { rewrapAfterProtect, rotationFor } from './rewrap.js';
import { SettlingWorkerPool } from '../../electron/services/keys/settling-pool.js';
import { seenClear, unavailableLine } from '../../electron/shared/clear-split.js';
import type { Absence } from '../../electron/main/folder-presence.js';
import { CliPresence } from '../presence.js';

/** The folder service of a run (also `coffer report`'s source of folder counts). */
export async function folderService(
  ctx: CliContext,
): Promise<{ service: FolderService; close: () => Promise<void> }> {
  const { sodium, paths, writeKeys, policy, folders, escrowCopies, guard } = await ctx.services();
  const rotation = await rotationFor(ctx);
  let pool: WorkerPool | null = null;
  const service = new FolderService({
    registry: folders,
    // Device + trusted + policy recovery keys, approved by the policy on every run.
    keys: writeKeys,
    // Each protect run is settled against the key set once written (a concurrent untrust, issue 9 item 2).
    pool: () =>
      (pool ??= new SettlingWorkerPool({ backend: sodium.name }, rotation, (issues) => {
        for (const i of issues) ctx.out.failure(i);
      })),
    lockDir: lockDirIn(paths.home),
    policy,
    // The escrow record beside each protected folder, so its backups can restore the device key.
    escrow: escrowCopies,
    guard,
  });
  return { service, close: async () => pool?.close() };
}

const files = (n: number): string => `${n} file${n === 1 ? '' : 's'}`;

/**
 * Per-file lines first (stderr), the summary last. The exit code and `ok` come from clear-state.ts, the
 * definition the app shares: a file left in the clear for any reason fails the run.
 */
function printReport(ctx: CliContext, report: RunReport): void {
  const { out } = ctx;
  const verdict = runVerdict(report);
  const problems = new Set<FileIssue>(verdict.problems);
  // Skips that hold no data of their own (links, special files) are told, not counted against the run.
  for (const s of report.skipped) if (!problems.has(s)) out.failure(s);
  for (const p of verdict.problems) out.failure(p);
  if (report.alreadyDone)
    out.info(`Already ${report.op === 'protect' ? 'protected' : 'in the clear'}: ${report.alreadyDone}`);
  if (report.leftoversResolved)
    out.info(`Leftovers of an interrupted run cleaned up: ${report.leftoversResolved}`);
  if (report.ignored) out.info(`Ignored (OS and editor litter): ${report.ignored}`);
  if (report.cancelled)
    out.note('Cancelled: files not reached are unchanged; run the command again to finish.');
  const verb = report.op === 'protect' ? 'Protected' : 'Unprotected';
  const left = verdict.problems.length
    ? report.op === 'protect'
      ? `; ${files(verdict.problems.length)} left in the clear (listed above)`
      : `; ${files(verdict.problems.length)} not brought back (listed above)`
    : '';
  out.info(
    `${verb} ${report.filesDone} of ${files(report.filesTotal)} (${mib(report.bytesDone)} MiB) in ${report.folder} in ${(report.durationMs / 1000).toFixed(1)} s${left}.`,
  );
  out.document({
    command: report.op,
    ok: verdict.ok,
    report,
    ...(report.op === 'protect' ? { inTheClear: verdict.problems } : { notUnprotected: verdict.problems }),
  });
  ctx.exitCode = verdict.ok ? EXIT_OK : EXIT_FAILED;
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
  if (op === 'unprotect') {
    try {
      assertSomethingToUnprotect(service, dir);
    } catch (error) {
      await close();
      refuse(ctx, op, dir, error);
      return;
    }
  }
  const controller = new AbortController();
  // Ctrl-C: finish or roll back the files in flight, then report; a second Ctrl-C is the default (exit).
  const onSigint = (): void => {
    ctx.out.note('Stopping after the files in flight…');
    controller.abort();
    process.removeListener('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  const bar = filesBar(op === 'protect' ? 'Protecting' : 'Unprotecting', ctx.out.json);
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
    // Files there written before the last recovery key change get the current set (issue 9 item 2).
    if (op === 'protect') report = await rewrapAfterProtect(ctx, report);
    // The drives mounted in it now, so a later `coffer status` tells one unmounted since (cli/presence.ts).
    if (op === 'protect') await rememberMounts(ctx, report.folder);
    await recordFolderRun(ctx, report);
    printReport(ctx, report);
  } finally {
    bar.stop();
    process.removeListener('SIGINT', onSigint);
    await close();
  }
}

async function rememberMounts(ctx: CliContext, folder: string): Promise<void> {
  const { folders, paths } = await ctx.services();
  const presence = new CliPresence(paths.home);
  await presence.check(folder);
  presence.save(folders.list().map((f) => f.path));
}

/**
 * `unprotect` of a folder Coffer does not know and that holds no protected file is a mistake (a typo, the
 * wrong folder), not "Unprotected 0 of 0". A folder with `.coffer` files that is not registered (a backup
 * restored elsewhere) is still decrypted in place.
 */
function assertSomethingToUnprotect(service: FolderService, dir: string): void {
  // Not a status: that walked the whole tree before the run walked it again (issue 10 scale target).
  const found = service.holdsProtected(dir);
  if (!found.registered && !found.protectedFiles) {
    throw new CofferError(
      'NOT_PROTECTED',
      `${found.path}: not a protected folder, and it holds no protected files`,
      'Check the path; `coffer status` lists the protected folders.',
    );
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
    .description(
      'stop protecting a folder: decrypt every file in it in place and forget it; a subfolder of a protected folder is excluded from it (`coffer protect` of it takes it back)',
    )
    .argument('<dir>', 'the folder')
    .action((dir: string) => run(ctx, 'unprotect', dir));

  program
    .command('status')
    .description('protected folders: files protected, plaintext waiting, leftovers, last run')
    .argument('[dir]', 'one folder (default: every protected folder)')
    .action(async (dir: string | undefined) => {
      const { service, close } = await folderService(ctx);
      const { policy, folders, paths } = await ctx.services();
      const rotation = await rotationFor(ctx);
      try {
        // A folder gone, swapped for a symlink or whose drive is not mounted: what the app's tray says.
        const presence = new CliPresence(paths.home);
        // Asked by name, the path as typed first: a protected folder (or one above) swapped for a symlink
        // resolves into another folder, and that folder's status (a protected one: "All files protected")
        // answered for the one that is gone.
        const typed = dir === undefined ? undefined : folders.covering(path.resolve(dir));
        const gone = typed !== undefined && (await presence.check(typed.path)) === 'missing';
        const found = gone ? service.status().filter((s) => s.id === typed.id) : service.status(dir);
        const entries = new Map(folders.list().map((f) => [f.id, f.path]));
        const absent = await Promise.all(
          found.map((s) => {
            const registered = s.id === null ? undefined : entries.get(s.id);
            return registered === undefined
              ? Promise.resolve(null)
              : presence.checkWithin(s.path, registered);
          }),
        );
        presence.save(folders.list().map((f) => f.path));
        const statuses = found.map((s, i) => ({
          ...seenStatus(s, absent[i] ?? null),
          escrowCopy: fs.existsSync(escrowCopyPath(s.path)),
          mandatory: policy.isMandatoryFolder(s.path),
          // Header key IDs against the current recovery keys: files the organization's key cannot open.
          recovery: rotation.coverage(s.path),
        }));
        for (const s of statuses) {
          ctx.out.info(
            `${s.path}${s.registered ? '' : ' (not protected)'}${s.mandatory ? ' (required by policy)' : ''}`,
          );
          if (s.unavailable) ctx.out.info(`  ${unavailableLine(s)}`);
          ctx.out.info(`  protected: ${s.protectedFiles} files, ${mib(s.protectedBytes)} MiB`);
          printInTheClear(ctx, s.protection);
          if (s.leftovers) ctx.out.info(`  leftovers: ${s.leftovers} temp files of an interrupted run`);
          if (s.recovery.notRecoverable)
            ctx.out.info(
              `  not recoverable by IT: ${s.recovery.notRecoverable} files (no stanza for a current organization recovery key; \`coffer rewrap\`)`,
            );
          // After an untrust whose rotation did not reach them: a removed key still opens these.
          if (s.recovery.retiredKeyStanzas)
            ctx.out.info(
              `  removed recovery key: ${s.recovery.retiredKeyStanzas} files still open with a key no longer trusted (\`coffer rewrap\`)`,
            );
          if (s.registered && !s.escrowCopy)
            ctx.out.info(
              '  escrow:    no copy of the key escrow record yet (make one: `coffer recovery code`)',
            );
          if (s.lastRun)
            ctx.out.info(
              `  last run:  ${s.lastRun.op} ${localTime(s.lastRun.at)} ${s.lastRun.outcome}, ${s.lastRun.failed} failed`,
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
        // A folder asked about by name that Coffer does not protect: said so, and not a success.
        const unknown = dir !== undefined ? statuses.filter((s) => !s.registered) : [];
        const failures = unknown.map((s) =>
          toFailure(
            new CofferError(
              'NOT_PROTECTED',
              `${s.path}: not a protected folder`,
              `Protect it with \`coffer protect ${s.path}\`; \`coffer status\` lists the protected folders.`,
            ),
            s.path,
          ),
        );
        failures.forEach((f) => {
          ctx.out.failure(f);
        });
        const inTheClear = statuses.reduce((n, s) => n + s.protection.inTheClearFiles, 0);
        // Neither protected nor in the clear: their files are not seen (never "All files protected").
        const unavailable = statuses.flatMap((s) =>
          s.unavailable ? [{ path: s.path, reason: s.unavailable }] : [],
        );
        const ok =
          failures.length === 0 &&
          inTheClear === 0 &&
          unavailable.length === 0 &&
          mandatoryNotProtected.length === 0;
        if (unavailable.length > 0)
          ctx.out.info(
            `Not all files protected: ${unavailable.length === 1 ? '1 folder' : `${unavailable.length} folders`} Coffer cannot see.${inTheClear ? ` ${files(inTheClear)} in the clear.` : ''}`,
          );
        else if (statuses.length > 0)
          ctx.out.info(
            inTheClear === 0
              ? `All files protected in ${statuses.length === 1 ? 'this folder' : `${statuses.length} folders`}.`
              : `${files(inTheClear)} in the clear.`,
          );
        const rotationPending = rotation.pending();
        if (rotationPending)
          ctx.out.note(
            'A change of the recovery keys has not reached everything yet (interrupted): run `coffer rewrap`.',
          );
        ctx.out.document({
          command: 'status',
          ok,
          rotationPending,
          folders: statuses,
          inTheClearFiles: inTheClear,
          ...(unavailable.length ? { unavailable } : {}),
          mandatoryNotProtected,
          ...(failures.length ? { failures } : {}),
        });
        ctx.exitCode = ok ? EXIT_OK : EXIT_FAILED;
      } finally {
        await close();
      }
    });

  program
    .command('forget')
    .description(
      'stop protecting a folder without touching its files (they stay encrypted): for a folder moved or deleted',
    )
    .argument('<dir>', 'the folder, as `coffer status` lists it')
    .action(async (dir: string) => {
      const { folders, policy } = await ctx.services();
      // A deleted folder has no real path any more: match it as written (made absolute) too.
      const wanted = new Set([realOr(dir), path.resolve(dir)]);
      const entry = folders.list().find((f) => wanted.has(f.path));
      if (!entry) {
        const covering = folders.covering(realOr(dir));
        throw new CofferError(
          'NOT_PROTECTED',
          covering
            ? `${dir}: not a protected folder itself; it is inside ${covering.path}`
            : `${dir}: not a protected folder`,
          covering
            ? `To forget the whole folder run \`coffer forget ${covering.path}\`.`
            : '`coffer status` lists the protected folders.',
        );
      }
      policy.assertCanRemoveFolder(entry.path);
      const { service, close } = await folderService(ctx);
      try {
        await service.unregister(entry.id);
      } finally {
        await close();
      }
      const exists = fs.existsSync(entry.path);
      ctx.out.info(
        exists
          ? `Forgot ${entry.path}: its files were not touched (protected files stay encrypted; new files are no longer protected).`
          : `Forgot ${entry.path} (it no longer exists).`,
      );
      ctx.out.document({ command: 'forget', ok: true, folder: entry.path, exists });
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
          // Hidden, excluded and forbidden paths are not even watched (guard-rails.ts).
          skip: service.watchFilter(),
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

/** Human status lines of what is in the clear: each file with its reason, the first few by name. */
function printInTheClear(ctx: CliContext, state: ProtectionState): void {
  const shown = 20;
  if (state.allProtected) ctx.out.info('  in the clear: none');
  else {
    ctx.out.info(`  in the clear: ${files(state.inTheClearFiles)}`);
    for (const f of state.inTheClear.slice(0, shown)) {
      const message = f.message.startsWith(`${f.path}: `) ? f.message.slice(f.path.length + 2) : f.message;
      ctx.out.info(printable(`    ${f.path}: ${f.code}: ${message}`));
    }
    if (state.inTheClearFiles > shown)
      ctx.out.info(`    … and ${state.inTheClearFiles - shown} more (\`coffer --json status\` lists them)`);
  }
  if (state.excluded)
    ctx.out.info(`  excluded:  ${state.excluded} (OS litter, open documents' lock files, exclusions)`);
}

/**
 * A folder's status as far as Coffer can see it (FolderPresence, as the app's FolderView): one it cannot see
 * is never all protected, and only what is the folder's own is counted in the clear (clear-split seenClear).
 */
function seenStatus<S extends { path: string; protection: ProtectionState }>(
  s: S,
  unavailable: Absence | null,
): S & { unavailable?: Absence } {
  if (!unavailable) return s;
  const clear = seenClear(s.path, s.protection, unavailable);
  return { ...s, unavailable, protection: { ...s.protection, ...clear, allProtected: false } };
}

/** The registry keeps real paths; a folder that does not exist yet is compared as written. */
function realOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
