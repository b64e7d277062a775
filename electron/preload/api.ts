/**
 * Builds `window.coffer` from two transport functions: one typed function per contract method and one event
 * subscription, frozen. No Electron import, so the e2e tests build the same object over Playwright bindings.
 * There is deliberately no generic `invoke(channel)` on the result: the renderer can only call the methods
 * the contract names.
 */
import {
  EVENT_CHANNEL,
  channelOf,
  methodNames,
  type CofferApi,
  type CofferEvent,
  type Result,
} from '../shared/contract.js';

export type Invoke = (channel: string, payload: unknown) => Promise<unknown>;
export type Subscribe = (channel: string, listener: (event: CofferEvent) => void) => () => void;

export function buildApi(invoke: Invoke, subscribe: Subscribe): CofferApi {
  const api: Record<string, unknown> = {};
  for (const method of methodNames) {
    const channel = channelOf(method);
    api[method] = (request: unknown) => invoke(channel, request) as Promise<Result<unknown>>;
  }
  api.onEvent = (listener: (event: CofferEvent) => void) => {
    if (typeof listener !== 'function') throw new TypeError('onEvent needs a function');
    return subscribe(EVENT_CHANNEL, listener);
  };
  return Object.freeze(api) as CofferApi;
}
