/**
 * Issue 9 item 7: the processes Coffer starts never receive COFFER_PASSPHRASE, checked with real children
 * that write down the environment they were given, started through the real spawn code paths.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, removeSecrets } from './child-env.js';
import { OsKeyStore } from './keys/key-store.js';
import { runCommand } from './policy/run-command.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-child-env-'));
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** A stand-in "node" for the keychain helper: records its environment, answers like the helper. */
function envRecordingNode(log: string): string {
  const script = path.join(work, 'fake-node.sh');
  fs.writeFileSync(
    script,
    // One request line in, one reply line out (the first call of a store has id 1).
    `#!/bin/sh\nenv > '${log}'\nread -r line\nprintf '{"id":1,"ok":true,"value":null}\\n'\ncat > /dev/null\n`,
    { mode: 0o755 },
  );
  return script;
}

describe('children started by Coffer', () => {
  it('the keychain helper is not given COFFER_PASSPHRASE', async () => {
    const log = path.join(work, 'helper-env.txt');
    const store = new OsKeyStore({
      service: 'CofferTest-child-env',
      nodePath: envRecordingNode(log),
      env: { ...process.env, COFFER_PASSPHRASE: 'correct horse battery staple', COFFER_MARK: 'here' },
    });
    expect(await store.get('device')).toBeNull();
    const seen = fs.readFileSync(log, 'utf8');
    expect(seen).toContain('COFFER_MARK=here'); // the environment did reach the child ...
    expect(seen).not.toContain('COFFER_PASSPHRASE'); // ... without the passphrase
    // A plain Node child: nothing asks a binary to act as Node (the app's runAsNode fuse is off, issue 12).
    expect(seen).not.toContain('ELECTRON_RUN_AS_NODE');
  });

  it('OS tools run for the policy (reg.exe, plutil) are not given COFFER_PASSPHRASE', async () => {
    process.env.COFFER_PASSPHRASE = 'correct horse battery staple';
    try {
      const result = await runCommand('/usr/bin/env', []);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('PATH=');
      expect(result.stdout).not.toContain('COFFER_PASSPHRASE');
    } finally {
      delete process.env.COFFER_PASSPHRASE;
    }
  });

  it('childEnv copies the environment without the secrets and leaves the original alone', () => {
    const env = { A: '1', COFFER_PASSPHRASE: 'x' };
    expect(childEnv(env)).toEqual({ A: '1' });
    expect(env.COFFER_PASSPHRASE).toBe('x');
  });

  it('removeSecrets deletes them from the environment itself', () => {
    const env = { A: '1', COFFER_PASSPHRASE: 'x' };
    removeSecrets(env);
    expect(env).toEqual({ A: '1' });
  });
});
