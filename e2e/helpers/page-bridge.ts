/**
 * Runs in the test page before the app (bundled by app-harness.ts into an init script): builds
 * `window.coffer` with the very preload builder (electron/preload/api.ts), over a Playwright binding instead
 * of ipcRenderer. Events from the test process arrive through `__cofferDeliver`.
 */
import type { CofferEvent } from '../../electron/shared/contract.js';
import { buildApi } from '../../electron/preload/api.js';

interface BridgeWindow {
  __cofferInvoke(channel: string, payload: unknown): Promise<unknown>;
  __cofferDeliver?: (event: CofferEvent) => void;
  coffer?: unknown;
}

const w = globalThis as unknown as BridgeWindow;
const listeners = new Set<(event: CofferEvent) => void>();
w.__cofferDeliver = (event) => {
  for (const l of listeners) l(event);
};
Object.defineProperty(globalThis, 'coffer', {
  value: buildApi(
    (channel, payload) => w.__cofferInvoke(channel, payload),
    (_channel, listener) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  ),
  writable: false,
  configurable: false,
});
