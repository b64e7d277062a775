/** Runs an OS tool (reg.exe, plutil) without a shell, with a timeout, and reports its exit code and output. */
import { execFile } from 'node:child_process';
import { childEnv } from '../child-env.js';
import type { CommandResult, RunCommand } from './sources.js';

export const runCommand: RunCommand = (command, args) =>
  new Promise<CommandResult>((resolve) => {
    execFile(
      command,
      [...args],
      // No secrets in a tool's environment (issue 9 item 7): it needs none.
      { encoding: 'utf8', timeout: 15_000, windowsHide: true, maxBuffer: 1024 * 1024, env: childEnv() },
      (error, stdout, stderr) => {
        // A missing tool or a timeout is an exit code too: the caller reports it as an unreadable policy.
        const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : 127;
        resolve({ exitCode, stdout, stderr: error !== null && stderr === '' ? error.message : stderr });
      },
    );
  });
