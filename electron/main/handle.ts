/**
 * The one generic IPC handler: every channel goes through `handle`, which checks the sender frame, validates
 * the payload with the contract's zod schema, runs a plain function and answers the `{ok, value|error}`
 * envelope. No Electron import: main binds it to ipcMain, the e2e tests bind the very same functions to
 * Playwright's exposeBinding.
 */
import { isCofferError } from '../../crypto/errors.js';
import {
  contract,
  IpcErrorCode,
  methodNames,
  type ErrorInfo,
  type MethodName,
  type RequestOf,
  type ResponseOf,
  type Result,
} from '../shared/contract.js';

/** What we know about the frame that sent a request, whatever carried it (ipcMain or a test binding). */
export interface SenderInfo {
  url: string;
  isMainFrame: boolean;
}

export type HandlerFn<M extends MethodName> = (
  request: RequestOf<M>,
) => Promise<ResponseOf<M>> | ResponseOf<M>;
export type HandlerTable = { [M in MethodName]: HandlerFn<M> };
export type BoundHandler = (sender: SenderInfo, payload: unknown) => Promise<Result<unknown>>;

export interface HandleOptions {
  /** The app's own origin, e.g. `app://coffer`; requests from any other origin are refused. */
  trustedOrigin: string;
  /** Where refusals and internal errors are reported. Never receives payloads (they may hold secrets). */
  log?: (line: string) => void;
}

/**
 * `app://coffer/index.html` → `app://coffer`. WHATWG URL gives the origin "null" for schemes it does not
 * know, so the origin is rebuilt from protocol and host; anything unparsable is untrusted.
 */
export function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    if (!parsed.host) return null;
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return null;
  }
}

export function isTrustedSender(sender: SenderInfo | null | undefined, trustedOrigin: string): boolean {
  if (!sender?.isMainFrame) return false;
  return originOf(sender.url) === trustedOrigin;
}

/** Turns anything thrown into the envelope's error, keeping stable codes and hiding internals. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (isCofferError(error)) {
    return error.hint
      ? { code: error.code, message: error.message, hint: error.hint }
      : { code: error.code, message: error.message };
  }
  return {
    code: IpcErrorCode.INTERNAL,
    message: 'Something went wrong inside Coffer.',
    hint: 'Try again; if it happens again, report it with the time it happened.',
  };
}

export function handle<M extends MethodName>(
  method: M,
  fn: HandlerFn<M>,
  options: HandleOptions,
): BoundHandler {
  const schema = contract[method].request;
  const log = options.log ?? (() => undefined);
  return async (sender, payload) => {
    if (!isTrustedSender(sender, options.trustedOrigin)) {
      log(
        `refused ${method}: sender ${sender.isMainFrame ? 'main frame' : 'subframe'} at ${originOf(sender.url) ?? 'unknown origin'}`,
      );
      return {
        ok: false,
        error: {
          code: IpcErrorCode.FORBIDDEN_SENDER,
          message: 'This request did not come from the Coffer window.',
        },
      };
    }
    const parsed = schema.safeParse(payload ?? {});
    if (!parsed.success) {
      // Issue paths and messages only: the received values could be secrets.
      const where = parsed.error.issues
        .map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`)
        .join('; ');
      log(`invalid ${method}: ${where}`);
      return {
        ok: false,
        error: { code: IpcErrorCode.INVALID_REQUEST, message: `Invalid request for ${method}: ${where}` },
      };
    }
    try {
      const value = await fn(parsed.data as RequestOf<M>);
      return { ok: true, value };
    } catch (error) {
      const info = toErrorInfo(error);
      if (info.code === IpcErrorCode.INTERNAL) {
        log(
          `internal error in ${method}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      }
      return { ok: false, error: info };
    }
  };
}

/** Binds every method of the table; `register` is ipcMain.handle in the app, exposeBinding in tests. */
export function bindAll(
  table: HandlerTable,
  options: HandleOptions,
  register: (method: MethodName, handler: BoundHandler) => void,
): void {
  for (const method of methodNames) {
    register(method, handle(method, table[method] as HandlerFn<typeof method>, options));
  }
}
