/**
 * `coffer open FILE`: the app's "open for editing" from a terminal, through the same workspace
 * (folders/workspace.ts, `<app data>/workspace`): the file is decrypted there, handed to $VISUAL/$EDITOR
 * (waited for) or to the OS default app (then Enter ends the edit), encrypted back over FILE.coffer when
 * it changed, and the copy wiped. A copy left by a crash is saved back and wiped by the app's next start.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { CofferError } from '../../crypto/errors.js';
import { EditWorkspace } from '../../electron/services/folders/workspace.js';
import { PROTECTED_SUFFIX, isProtectedName } from '../../electron/services/safe-file.js';
import type { CliContext } from '../context.js';
import { EXIT_OK } from '../output.js';
import type { CommandGroup } from './types.js';
import { recordEvent } from './audit.js';

/** `x.coffer`, or `x` when `x.coffer` is beside it (people type the name they know). */
function protectedFileOf(file: string): string {
  const candidates = isProtectedName(path.basename(file)) ? [file] : [file + PROTECTED_SUFFIX, file];
  for (const candidate of candidates) {
    const stats = fs.lstatSync(candidate, { throwIfNoEntry: false });
    if (stats?.isFile() && isProtectedName(path.basename(candidate))) return path.resolve(candidate);
  }
  throw new CofferError(
    'NOT_PROTECTED',
    `${file}: no protected file of that name`,
    'Name a .coffer file (`coffer status` lists protected folders).',
  );
}

/** Runs `command` (which may carry arguments, like `code --wait`) on `file` and waits for it to end. */
function runEditor(command: string, file: string): Promise<number> {
  const [program, ...args] = command.trim().split(/\s+/);
  if (!program) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    // No shell: the file name is one argument whatever characters it holds.
    const child = spawn(program, [...args, file], { stdio: 'inherit' });
    child.on('error', (error) => {
      reject(
        new CofferError(
          'OPEN_FAILED',
          `${program}: could not be started (${error.message})`,
          'Check $VISUAL / $EDITOR, or unset them to use the default app.',
        ),
      );
    });
    child.on('exit', (code) => {
      resolve(code ?? 1);
    });
  });
}

/**
 * Hands `file` to the OS default app (which does not say when it is done) and waits for Enter. A program or
 * script (EditSession.runnable) is never handed over: the OS would run it (issue 10 item 6), so the user is
 * told where the copy is and opens it in an editor.
 */
async function openWithDefaultApp(ctx: CliContext, file: string, runnable: boolean): Promise<void> {
  if (runnable) {
    ctx.out.note(
      `${file} is a program or script: the default app would run it, so Coffer does not open it. Open it in an editor (or set $EDITOR), save it, then press Enter here to encrypt it back.`,
    );
    await waitForEnter();
    return;
  }
  const opener =
    process.platform === 'darwin'
      ? { cmd: 'open', args: [file] }
      : process.platform === 'win32'
        ? { cmd: 'explorer.exe', args: [file] }
        : { cmd: 'xdg-open', args: [file] };
  const child = spawn(opener.cmd, opener.args, { stdio: 'ignore', detached: true });
  child.on('error', (error) => {
    ctx.out.note(`Could not start ${opener.cmd} (${error.message}); open ${file} yourself.`);
  });
  child.unref();
  ctx.out.note(`Opened ${file}. Edit and save it, then press Enter here to encrypt it back.`);
  await waitForEnter();
}

/** Resolves on the next line of standard input, or when it closes (a script). */
async function waitForEnter(): Promise<void> {
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => {
    rl.once('line', () => {
      resolve();
    });
    rl.once('close', resolve); // stdin closed (a script): done
  });
  rl.close();
}

export const registerOpenCommand: CommandGroup = (program, ctx) => {
  program
    .command('open')
    .description(
      'edit a protected file: decrypt it to the private workspace, open it ($VISUAL, $EDITOR or the default app), encrypt it back when done, wipe the copy',
    )
    .argument('<file>', 'a .coffer file (or its name without .coffer)')
    .action(async (file: string) => {
      const source = protectedFileOf(file);
      const { sodium, paths, writeKeys } = await ctx.services();
      const workspace = new EditWorkspace({
        sodium,
        // Device + trusted + policy recovery keys, as for every write.
        keys: writeKeys,
        dir: path.join(paths.home, 'workspace'),
      });
      // Keys first: a refused write (no recovery key, policy) fails before anything is decrypted.
      await writeKeys.recipients();
      const session = await workspace.openFile(source);
      await recordEvent(ctx, 'open-for-edit', { file: path.resolve(source), copy: session.editPath });
      let saved: boolean;
      try {
        const editor = ctx.env.VISUAL || ctx.env.EDITOR; // an empty VISUAL is unset
        if (editor) {
          const code = await runEditor(editor, session.editPath);
          if (code !== 0) ctx.out.note(`The editor ended with exit code ${code}; saving what it left.`);
        } else {
          await openWithDefaultApp(ctx, session.editPath, session.runnable);
        }
      } finally {
        // Saved back if changed, then wiped, whatever happened above.
        saved = (await workspace.close(session.id)).saved;
      }
      ctx.out.info(saved ? `Saved ${source} (encrypted again).` : `No changes to ${source}.`);
      ctx.out.document({ command: 'open', ok: true, file: source, saved });
      ctx.exitCode = EXIT_OK;
    });
};
