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

const pipeSafeWriters = new WeakMap<NodeJS.WriteStream, Writer>();

/**
 * A stream whose reader may go away (`coffer status` piped into `head -1`): once the pipe is broken (EPIPE) further
 * output is dropped quietly, and the command goes on to the end, so a batch is never stopped half-way by
 * its reader. Any other stream error is still an error.
 */
export function pipeSafe(stream: NodeJS.WriteStream): Writer {
  const known = pipeSafeWriters.get(stream);
  if (known) return known; // one listener per stream, however often main() runs in a process
  let broken = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') broken = true;
    else throw error;
  });
  const writer: Writer = {
    get isTTY() {
      return stream.isTTY;
    },
    write: (text: string) => (broken || stream.destroyed ? false : stream.write(text)),
  };
  pipeSafeWriters.set(stream, writer);
  return writer;
}

/** The closing line of a per-file command: `Encrypted 3 of 4 files; 1 failed.` */
export function summaryLine(verb: string, done: number, total: number, failed: number): string {
  const files = `${total} file${total === 1 ? '' : 's'}`;
  return `${verb} ${done} of ${files}${failed ? `; ${failed} failed` : ''}.`;
}

/** A time as people read it here: the machine's local time zone, to the second. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const zone = `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone}`;
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

  /**
   * Human text on stdout (suppressed in --json mode). Names from disk or a header's metadata reach here in
   * many messages: every line is made printable at this one sink, so no call site can forget it.
   */
  info(text: string): void {
    if (!this.json) this.stdout.write(printableLines(text) + '\n');
  }

  /** Notes for people on stderr, never in the way of --json or piped output; printable like info. */
  note(text: string): void {
    this.stderr.write(printableLines(text) + '\n');
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

/** printable() per line: the line breaks a message means stay, every other control is shown escaped. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/** Error messages often begin with the path already; do not print it twice. */
function stripPath(message: string, path: string): string {
  return message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
}
