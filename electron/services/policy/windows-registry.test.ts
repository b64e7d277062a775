/**
 * Issue 9 item 7: reg.exe is run by absolute path, never looked up in the current folder or along PATH.
 * Tests run on Linux, so they check the command line the real policy source builds and hands to its runner.
 */
import { describe, expect, it } from 'vitest';
import { policySourceFor } from './platform.js';
import type { CommandResult } from './sources.js';

async function regCommands(env: Record<string, string>): Promise<string[]> {
  const commands: string[] = [];
  const run = (command: string): Promise<CommandResult> => {
    commands.push(command);
    // A missing key, then a parent that lists no Coffer key: both queries are made.
    return Promise.resolve(
      commands.length === 1
        ? { exitCode: 1, stdout: '', stderr: 'ERROR: not found' }
        : { exitCode: 0, stdout: '\r\nHKEY_LOCAL_MACHINE\\Software\\Policies\\Microsoft\r\n', stderr: '' },
    );
  };
  const source = policySourceFor({ platform: 'win32', env, userName: 'ada', run, allowEnvOverride: false });
  expect((await source.read()).kind).toBe('absent');
  return commands;
}

describe('Windows policy source runs reg.exe by absolute path', () => {
  it('uses %SystemRoot%\\System32\\reg.exe for every query', async () => {
    expect(await regCommands({ SystemRoot: 'D:\\WINDOWS' })).toEqual([
      'D:\\WINDOWS\\System32\\reg.exe',
      'D:\\WINDOWS\\System32\\reg.exe',
    ]);
    // A copied environment keeps whatever case Windows gave it.
    expect(await regCommands({ SYSTEMROOT: 'C:\\Win' })).toEqual([
      'C:\\Win\\System32\\reg.exe',
      'C:\\Win\\System32\\reg.exe',
    ]);
  });

  it('falls back to C:\\Windows when SystemRoot is unset or not an absolute drive path', async () => {
    const envs: Record<string, string>[] = [
      {},
      { SystemRoot: '' },
      { SystemRoot: '.' },
      { SystemRoot: 'tools' },
    ];
    for (const env of envs) {
      expect(new Set(await regCommands(env))).toEqual(new Set(['C:\\Windows\\System32\\reg.exe']));
    }
  });
});
