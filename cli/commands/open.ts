/**
 * `coffer open FILE`: the app's "open for editing" from a terminal, through the same workspace
 * (folders/workspace.ts, `<app data>/workspace`): the file is decrypted there, handed to $VISUAL/$EDITOR
 * (waited for) or to the OS default app (then Enter ends the edit), encrypted back over FILE.coffer when
 * it changed, and the copy wiped. A copy left by a crash is saved back and wiped by the app's next start.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
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

/**
 * Signals that end `coffer open` (a closed terminal, `kill`, Ctrl-C while waiting for Enter): caught, so the
 * copy is saved back and wiped before the process ends instead of staying readable in the workspace.
 * SIGINT is caught only when `interrupt` says so: while an editor runs in the terminal, Ctrl-C is the
 * editor's (as `git commit` does), never a reason to take its file away.
 */
function stopSignals(interrupt: () => boolean): {
  stopped: Promise<NodeJS.Signals>;
  received: () => NodeJS.Signals | null;
  dispose: () => void;
} {
  let received: NodeJS.Signals | null = null;
  let stop: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => (stop = resolve));
  const handlers = (['SIGTERM', 'SIGHUP', 'SIGINT'] as const).map((signal) => {
    const handler = (): void => {
      if (signal === 'SIGINT' && !interrupt()) return;
      received ??= signal;
      stop(signal);
    };
    process.on(signal, handler);
    return () => process.removeListener(signal, handler);
  });
  return {
    stopped,
    received: () => received,
    dispose: () => {
      for (const remove of handlers) remove();
    },
  };
}

/** How long an editor asked to stop (it got the same signal) may take to write what it has. */
const EDITOR_STOP_GRACE_MS = 2000;

/**
 * Runs `command` (which may carry arguments, like `code --wait`) on `file` and waits for it to end, or for
 * a stop signal: then the editor gets it too, and a short grace to exit.
 */
function runEditor(command: string, file: string, stopped: Promise<NodeJS.Signals>): Promise<number> {
  const [program, ...args] = command.trim().split(/\s+/);
  if (!program) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    // No shell: the file name is one argument whatever characters it holds.
    const child = spawn(program, [...args, file], { stdio: 'inherit' });
    void stopped.then((signal) => {
      child.kill(signal);
      setTimeout(() => {
        resolve(1);
      }, EDITOR_STOP_GRACE_MS).unref();
    });
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
async function openWithDefaultApp(
  ctx: CliContext,
  file: string,
  runnable: boolean,
  stopped: Promise<unknown>,
): Promise<void> {
  if (runnable) {
    ctx.out.note(
      `${file} is a program or script: the default app would run it, so Coffer does not open it. Open it in an editor (or set $EDITOR), save it, then press Enter here to encrypt it back.`,
    );
    await waitForEnter(stopped);
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
  await waitForEnter(stopped);
}

/** Resolves on the next line of standard input, when it closes (a script), or on a stop signal. */
async function waitForEnter(stopped: Promise<unknown>): Promise<void> {
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => {
    rl.once('line', () => {
      resolve();
    });
    rl.once('close', resolve); // stdin closed (a script): done
    void stopped.then(() => {
      resolve();
    });
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
      let savedMeanwhile = false;
      const workspace = new EditWorkspace({
        sodium,
        // Device + trusted + policy recovery keys, as for every write.
        keys: writeKeys,
        dir: path.join(paths.home, 'workspace'),
        // Saves while the editor runs count: "No changes" only when nothing was saved at all.
        onSaved: () => {
          savedMeanwhile = true;
        },
        // A copy that could not be saved back is kept (never wiped): say where it is.
        onError: (session, error) => {
          ctx.out.note(
            `Could not encrypt ${session.editPath} back (${error instanceof Error ? error.message : String(error)}); it is kept, and saved by the next \`coffer open\` or app start.`,
          );
        },
      });
      // Keys first: a refused write (no recovery key, policy) fails before anything is decrypted.
      await writeKeys.recipients();
      // Copies a killed `coffer open` (or app) left: saved back if edited, then wiped. Live sessions of
      // the app or of another terminal are theirs (workspace.ts SessionOwner).
      const recovered = await workspace.recover();
      for (const f of recovered.saved) ctx.out.note(`Saved the edit a stopped session left of ${f}.`);
      let editorRuns = false;
      const stop = stopSignals(() => !editorRuns);
      let saved: boolean;
      try {
        const session = await workspace.openFile(source);
        await recordEvent(ctx, 'open-for-edit', { file: path.resolve(source), copy: session.editPath });
        try {
          const editor = ctx.env.VISUAL || ctx.env.EDITOR; // an empty VISUAL is unset
          if (stop.received()) {
            // stopped while decrypting: nothing to edit
          } else if (editor) {
            editorRuns = true;
            const code = await runEditor(editor, session.editPath, stop.stopped);
            editorRuns = false;
            if (code !== 0) ctx.out.note(`The editor ended with exit code ${code}; saving what it left.`);
          } else {
            await openWithDefaultApp(ctx, session.editPath, session.runnable, stop.stopped);
          }
        } finally {
          // Saved back if changed, then wiped, whatever happened above (a stop signal included).
          saved = (await workspace.close(session.id)).saved || savedMeanwhile;
        }
      } finally {
        stop.dispose();
      }
      const signal = stop.received();
      if (signal) ctx.out.note(`Stopped by ${signal}: what the editor saved is encrypted, the copy wiped.`);
      ctx.out.info(saved ? `Saved ${source} (encrypted again).` : `No changes to ${source}.`);
      ctx.out.document({
        command: 'open',
        ok: true,
        file: source,
        saved,
        ...(signal ? { stoppedBy: signal } : {}),
      });
      // The shell's convention for a command ended by a signal: 128 + its number.
      ctx.exitCode = signal ? 128 + os.constants.signals[signal] : EXIT_OK;
    });
};
