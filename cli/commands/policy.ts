/** `coffer policy`: the machine-wide policy as this run sees it, for IT and the helpdesk (issue #6). */
import { EXIT_FAILED, EXIT_OK } from '../output.js';
import type { CommandGroup } from './types.js';

function show(value: unknown): string {
  if (Array.isArray(value)) return value.length ? value.map(String).join(', ') : '(empty list)';
  return String(value);
}

export const registerPolicyCommands: CommandGroup = (program, ctx) => {
  const { out } = ctx;
  program
    .command('policy')
    .description(
      'show the organization policy: where it is read from, whether it is valid, and the settings it manages',
    )
    .action(async () => {
      const { policy } = await ctx.services();
      const state = policy.state;
      const managed = policy.managedSettings();
      const warnings = policy.warnings();
      out.info(`Policy source: ${state.origin}`);
      if (state.status === 'none') {
        out.info('State: no policy (Coffer’s defaults and this user’s settings apply)');
      } else if (state.status === 'active') {
        out.info('State: valid, applied');
        out.info(managed.length ? 'Managed settings:' : 'Managed settings: none');
        const width = Math.max(...managed.map((m) => m.key.length));
        for (const m of managed) out.info(`  ${m.key.padEnd(width)}  ${show(m.value)}`);
        for (const warning of warnings) out.info(`Warning: ${warning}`);
      } else {
        out.info('State: INVALID — Coffer refuses encryption and every operation a policy could forbid');
        out.info('Problems:');
        for (const problem of state.problems) out.info(`  - ${problem}`);
        out.failure({
          path: state.origin,
          code: 'POLICY_INVALID',
          message: `the policy is invalid (${state.problems.length} problem${state.problems.length === 1 ? '' : 's'})`,
          hint: 'Fix the problems listed (docs/DEPLOYMENT.md §5 "Settings"), then run `coffer policy` again.',
        });
      }
      out.document({
        command: 'policy',
        ok: state.status !== 'invalid',
        origin: state.origin,
        status: state.status,
        ...(state.status === 'invalid' ? { problems: state.problems } : {}),
        managed,
        ...(warnings.length > 0 ? { warnings } : {}),
      });
      ctx.exitCode = state.status === 'invalid' ? EXIT_FAILED : EXIT_OK;
    });
};
