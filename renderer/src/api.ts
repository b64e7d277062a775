/**
 * The renderer's access to Coffer: `call` unwraps the `{ok, value|error}` envelope into a value or an
 * ApiError that keeps the stable code, so screens can branch on it and show the hint.
 */
import type { CofferEvent, ErrorInfo, MethodName, RequestOf, ResponseOf, Result } from '@shared/contract.js';

export class ApiError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  constructor(readonly info: ErrorInfo) {
    super(info.message);
    this.code = info.code;
    this.hint = info.hint;
  }
}

export async function call<M extends MethodName>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
  const fn = window.coffer[method] as (r: RequestOf<M>) => Promise<Result<ResponseOf<M>>>;
  const result = await fn(request);
  if (result.ok) return result.value;
  throw new ApiError(result.error);
}

export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof ApiError) return error.info;
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

export function onEvent(listener: (event: CofferEvent) => void): () => void {
  return window.coffer.onEvent(listener);
}
