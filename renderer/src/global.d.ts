import type { CofferApi } from '@shared/contract.js';

declare global {
  interface Window {
    /** The only way the UI talks to Coffer: exposed by the preload (electron/preload). */
    readonly coffer: CofferApi;
  }
}
