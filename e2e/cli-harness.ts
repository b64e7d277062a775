/**
 * Runs the real `coffer` CLI (node + tsx on cli/main.ts) as a child process, as one simulated laptop: its
 * own keychain service name and its own app-data folder. Exit codes and output are the real ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const NO_KEYRING: string | null =
  process.env.COFFER_KEYRING_READY === '1'
    ? null
    : (process.env.COFFER_NO_KEYRING_REASON ??
      'not run under scripts/with-keyring.sh (npm run test:unit does that)');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `coffer-${label}-`));
}

export class Laptop {
  readonly home: string;
  readonly service: string;

  constructor(
    readonly name: string,
    readonly extraEnv: Record<string, string> = {},
  ) {
    this.home = tempDir(`home-${name}`);
    this.service = `CofferTest-${name}-${randomBytes(4).toString('hex')}`;
  }

  env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      COFFER_HOME: this.home,
      COFFER_KEYCHAIN_SERVICE: this.service,
      // Test-only (FORMAT.md §11.1): minimal Argon2id limits keep the suite fast.
      COFFER_TEST_INSECURE_KDF: '1',
      ...this.extraEnv,
    };
  }

  spawn(args: string[], env: Record<string, string> = {}, withStdin = false): ChildProcess {
    return spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli/main.ts'), ...args], {
      cwd: ROOT,
      env: { ...this.env(), ...env },
      stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
  }

  /** Runs the CLI; `input`, when given, is piped to its standard input. */
  run(args: string[], env: Record<string, string> = {}, input?: string): Promise<RunResult> {
    const started = performance.now();
    const child = this.spawn(args, env, input !== undefined);
    if (input !== undefined) child.stdin?.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
      });
    });
  }

  /** Runs with --json and parses stdout. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the JSON shape it expects
  async json<T = Record<string, unknown>>(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ result: RunResult; doc: T }> {
    const result = await this.run(['--json', ...args], env);
    let doc: T;
    try {
      doc = JSON.parse(result.stdout) as T;
    } catch {
      throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
    }
    return { result, doc };
  }
}

export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}
