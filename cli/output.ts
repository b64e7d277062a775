/**
 * What the CLI prints and how it exits: 0 success, 1 some item failed (one line each: path, code, what to
 * do), 2 usage. With --json, one JSON document on stdout instead of the human text.
 */
import { CofferError, isCofferError } from '../crypto/errors.js';
import { printable } from '../electron/shared/printable.js';

/** File names and paths as people see them: controls and bidi overrides made visible (issue 9 item 7). */
export { printable };

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Raised for a wrong command line; ends with exit code 2. */
export class UsageError extends CofferError {
  constructor(message: string, hint = 'Run `coffer --help` or `coffer <command> --help`.') {
    super('USAGE', message, hint);
  }
}

export interface Failure {
  path?: string;
  code: string;
  message: string;
  hint: string;
}

export interface Writer {
  write(text: string): unknown;
  isTTY?: boolean;
}

export function toFailure(error: unknown, path?: string): Failure {
  if (isCofferError(error)) {
    return {
      ...(path === undefined ? {} : { path }),
      code: error.code,
      message: error.message,
      hint: error.hint,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    ...(path === undefined ? {} : { path }),
    code: 'INTERNAL',
    message,
    hint: 'This is a bug in Coffer: report it with the command you ran.',
  };
}

export class Output {
  json = false;

  constructor(
    readonly stdout: Writer,
    readonly stderr: Writer,
  ) {}

  /** Human text on stdout (suppressed in --json mode). */
  info(text: string): void {
    if (!this.json) this.stdout.write(text + '\n');
  }

  /** Notes for people on stderr, never in the way of --json or piped output. */
  note(text: string): void {
    this.stderr.write(text + '\n');
  }

  /** One line per failure, `path: CODE: message. hint`, on stderr. */
  failure(failure: Failure): void {
    const where = failure.path === undefined ? 'coffer' : failure.path;
    const message = failure.path !== undefined ? stripPath(failure.message, failure.path) : failure.message;
    // Paths and messages carry file names (from disk or a header's metadata): never raw controls.
    const line = `${where}: ${failure.code}: ${message}${failure.hint ? ` — ${failure.hint}` : ''}`;
    this.stderr.write(`${printable(line)}\n`);
  }

  /** The one JSON document of a --json run. */
  document(value: unknown): void {
    if (this.json) this.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }
}

/** Error messages often begin with the path already; do not print it twice. */
function stripPath(message: string, path: string): string {
  return message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
}
