/**
 * Reads a passphrase from --passphrase-file, COFFER_PASSPHRASE, or a prompt without echo (with a
 * confirmation when it protects something new). The passphrase is never printed or logged.
 */
import fs from 'node:fs';
import { CofferError } from '../crypto/errors.js';
import { UsageError } from './output.js';

export const PASSPHRASE_ENV = 'COFFER_PASSPHRASE';

/** Passphrases taken out of an environment object by takeEnvPassphrase, keyed by that object. */
const taken = new WeakMap<NodeJS.ProcessEnv, string>();

/**
 * Moves COFFER_PASSPHRASE out of `env` (process.env in a real run) into this module, before anything starts
 * a child: the keychain helper, worker threads and OS tools inherit the environment, and a child's
 * environment is readable by other tools (/proc/PID/environ, crash reports). readPassphrase still finds it.
 */
export function takeEnvPassphrase(env: NodeJS.ProcessEnv): void {
  const value = env[PASSPHRASE_ENV];
  if (value === undefined) return;
  taken.set(env, value);
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a constant name; process.env needs delete
  delete env[PASSPHRASE_ENV];
}

export interface PassphraseSource {
  passphraseFile?: string | undefined;
  env: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
}

export async function readPassphrase(
  source: PassphraseSource,
  options: { confirm: boolean; purpose: string },
): Promise<string> {
  let passphrase: string;
  const fromEnv = source.env[PASSPHRASE_ENV] ?? taken.get(source.env);
  if (source.passphraseFile !== undefined) {
    try {
      // One line: a trailing newline from `echo` or an editor is not part of the passphrase.
      passphrase = fs.readFileSync(source.passphraseFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new UsageError(
        `Cannot read the passphrase file ${source.passphraseFile}: ${(error as Error).message}`,
        'Check the path given to --passphrase-file.',
      );
    }
  } else if (fromEnv !== undefined) {
    passphrase = fromEnv;
  } else {
    const stdin = source.stdin ?? process.stdin;
    const stderr = source.stderr ?? process.stderr;
    if (!stdin.isTTY) {
      throw new UsageError(
        `A passphrase is needed ${options.purpose}, and there is no terminal to ask for it`,
        'Pass --passphrase-file FILE, or set COFFER_PASSPHRASE.',
      );
    }
    passphrase = await promptHidden(`Passphrase ${options.purpose}: `, stdin, stderr);
    if (options.confirm) {
      const again = await promptHidden('Type it again: ', stdin, stderr);
      if (again !== passphrase) {
        throw new CofferError(
          'PASSPHRASE_MISMATCH',
          'The two passphrases differ',
          'Run the command again and type the same passphrase twice.',
        );
      }
    }
  }
  if (options.confirm && passphrase.length < 12) {
    throw new CofferError(
      'WEAK_PASSPHRASE',
      'The passphrase is shorter than 12 characters',
      'Choose a longer passphrase: it is all that protects the organization recovery key.',
    );
  }
  if (passphrase.length === 0)
    throw new CofferError('BAD_PASSPHRASE', 'The passphrase is empty', 'Type the passphrase.');
  return passphrase;
}

/** Reads one line from a TTY in raw mode, echoing nothing. */
export function promptHidden(
  prompt: string,
  stdin: NodeJS.ReadStream,
  stderr: NodeJS.WriteStream,
): Promise<string> {
  return new Promise((resolve, reject) => {
    stderr.write(prompt);
    let value = '';
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (error?: Error): void => {
      stdin.setRawMode(wasRaw);
      stdin.pause();
      stdin.removeListener('data', onData);
      stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          return;
        }
        if (ch === '\u0003') {
          done(new UsageError('Cancelled', 'Nothing was changed.'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Reads a visible line from a TTY (for a recovery code typed back). */
export async function promptLine(
  prompt: string,
  stdin: NodeJS.ReadStream = process.stdin,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: stdin, output: stderr });
  try {
    return await rl.question(prompt);
  } finally {
    rl.close();
  }
}

/**
 * The recovery code given as `--code CODE`, or with `--code -` typed at a prompt (or piped as the first line
 * of standard input), which keeps it out of the command line, `ps` and shell history.
 */
export async function readRecoveryCodeText(value: string): Promise<string> {
  if (value !== '-') return value;
  if (process.stdin.isTTY) return promptLine('Recovery code: ');
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.split('\n')[0] ?? '';
}
