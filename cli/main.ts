/**
 * The `coffer` command: a thin layer over electron/services for staff, IT scripts and the helpdesk.
 * Exit codes: 0 success, 1 some item failed, 2 usage.
 */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { appVersion } from '../electron/services/app-version.js';
import { createContext } from './context.js';
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  Output,
  UsageError,
  pipeSafe,
  printableLines,
  toFailure,
  type Writer,
} from './output.js';
import type { CommandGroup } from './commands/types.js';
import { registerFileCommands } from './commands/files.js';
import { registerRecoveryCommands } from './commands/recovery.js';
import { registerHelpdeskCommands } from './commands/helpdesk.js';
import { registerFolderCommands } from './commands/folders.js';
import { registerOpenCommand } from './commands/open.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerRewrapCommands } from './commands/rewrap.js';
import { registerDeviceCommands } from './commands/device.js';
import { registerStateCommands } from './commands/state.js';
import { recordThrown, registerAuditCommands } from './commands/audit.js';
import { publishAfterChange, registerReportCommands } from './commands/report.js';

/** The command groups, in help order. Adding a group is one line here. */
const groups: CommandGroup[] = [
  registerFileCommands,
  registerFolderCommands,
  registerOpenCommand,
  registerHelpdeskCommands,
  registerRecoveryCommands,
  registerRewrapCommands,
  registerDeviceCommands,
  registerPolicyCommands,
  registerStateCommands,
  registerAuditCommands,
  registerReportCommands,
];

export interface MainIo {
  env?: NodeJS.ProcessEnv;
  stdout?: Writer;
  stderr?: Writer;
}

export async function main(argv: readonly string[], io: MainIo = {}): Promise<number> {
  const out = new Output(io.stdout ?? pipeSafe(process.stdout), io.stderr ?? pipeSafe(process.stderr));
  // Known before parsing, so a usage error of a --json run is a JSON document too.
  out.json = argv.slice(2).includes('--json');
  const ctx = createContext(io.env ?? process.env, out);
  const program = new Command('coffer')
    .description(
      'Coffer keeps files encrypted at rest, file by file. App data: $COFFER_HOME or the platform default.',
    )
    .version(appVersion(), '-V, --version', 'print the version')
    .option('--json', 'print one JSON document on stdout (for scripts)')
    .showHelpAfterError('(run `coffer --help` for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout.write(s),
      // Usage errors quote the argument, which may be a file name from a glob: never raw controls.
      writeErr: (s) => out.stderr.write(printableLines(s)),
    });
  program.hook('preAction', (_root, action) => {
    out.json = action.optsWithGlobals<{ json?: boolean }>().json === true;
  });
  for (const register of groups) register(program, ctx);
  for (const command of program.commands) command.exitOverride();

  try {
    await program.parseAsync(argv, { from: 'node' });
    // A run that changed something (a security event) leaves policy reportDir the new state (docs/REPORT.md §7).
    await publishAfterChange(ctx);
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version are successes; every other parse error is a usage error.
      if (error.exitCode === 0) return EXIT_OK;
      const failure = toFailure(new UsageError(error.message.replace(/^error: /, '')));
      out.document({ ok: false, failures: [failure] });
      return EXIT_USAGE;
    }
    const failure = toFailure(error);
    await recordThrown(ctx, failure);
    await publishAfterChange(ctx);
    out.failure(failure);
    out.document({ ok: false, failures: [failure] });
    return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILED;
  }
}

// Run when executed directly (`node --import tsx cli/main.ts …`); bin/coffer.js calls main() itself.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv);
}
