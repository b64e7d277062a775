/**
 * `coffer state …`: the signed state files in app data (settings, folder registry, escrow record). `show`
 * says what each holds, with recovery key IDs recomputed from the keys, and whether it verifies; `confirm`
 * signs the current content after the user (or IT) has seen it (issue 9 item 1).
 */
import { describeState, type StateFileView } from '../../electron/services/state/describe.js';
import { promptLine } from '../passphrase.js';
import { UsageError, type Output } from '../output.js';
import type { CommandGroup } from './types.js';
import { recordEvent } from './audit.js';

function print(out: Output, views: readonly StateFileView[]): void {
  for (const v of views) {
    const verdict =
      v.status === 'ok'
        ? `verified (generation ${v.generation ?? '?'})`
        : v.status === 'absent'
          ? 'not present'
          : `NOT TRUSTED: ${v.detail ?? v.problem ?? 'does not verify'}`;
    out.info(`${v.kind}: ${v.file}\n  ${verdict}`);
    for (const line of v.lines) out.info(`    ${line}`);
  }
}

export const registerStateCommands: CommandGroup = (program, ctx) => {
  const { out } = ctx;
  const state = program
    .command('state')
    .description(
      'the signed settings, folder list and escrow record: show them, confirm them after a change',
    );

  state
    .command('show')
    .description('show what each state file holds and whether its signature verifies')
    .action(async () => {
      const { state: files, sodium } = await ctx.services();
      const views = files.inspect().map((r) => describeState(sodium, r));
      print(out, views);
      const tampered = views.filter((v) => v.status === 'tampered');
      if (tampered.length > 0) {
        await recordEvent(ctx, 'state-tampered', {
          operation: 'state show',
          files: tampered.map((v) => v.file),
        });
        out.note(
          'Files marked NOT TRUSTED are not used. If their content is what you or IT set, run `coffer state confirm`; otherwise restore them from a backup.',
        );
      }
      out.document({ command: 'state show', ok: true, tampered: tampered.length, files: views });
    });

  state
    .command('confirm')
    .description('sign the current content of every state file that does not verify (after `state show`)')
    .option('--yes', 'do not ask (required when there is no terminal)')
    .action(async (options: { yes?: boolean }) => {
      const { state: files, sodium, trustedKeys } = await ctx.services();
      // What the user is shown is what gets signed (files.confirm refuses if it changed since).
      const reviewed = files.inspect();
      const views = reviewed.map((r) => describeState(sodium, r));
      const tampered = views.filter((v) => v.status === 'tampered');
      if (tampered.length === 0) {
        out.info('Every state file verifies; nothing to confirm.');
        out.document({ command: 'state confirm', ok: true, confirmed: [] });
        return;
      }
      print(out, tampered);
      if (!options.yes) {
        if (!process.stdin.isTTY || out.json) {
          throw new UsageError(
            'Refusing to confirm without --yes: there is no terminal to ask',
            'Review `coffer state show` first, then run `coffer state confirm --yes`.',
          );
        }
        const answer = await promptLine('Sign these files as they are now, so Coffer uses them? [y/N] ');
        if (!/^y(es)?$/i.test(answer.trim())) {
          out.info('Nothing was changed.');
          out.document({ command: 'state confirm', ok: true, confirmed: [] });
          return;
        }
      }
      const confirmed = await files.confirm(reviewed);
      await recordEvent(ctx, 'state-tampered', {
        operation: 'state confirm',
        confirmed: confirmed.map((r) => r.file),
      });
      // The trusted set may have changed without a trust/untrust: the log records what was accepted.
      if (confirmed.some((r) => r.kind === 'settings')) trustedKeys.recordConfirmed();
      out.info(`Confirmed: ${confirmed.map((r) => r.file).join(', ')}`);
      out.document({
        command: 'state confirm',
        ok: true,
        confirmed: confirmed.map((r) => ({ kind: r.kind, file: r.file })),
      });
    });
};
