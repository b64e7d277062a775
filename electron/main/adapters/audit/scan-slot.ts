/**
 * One scan at a time: the user's audit, and the re-read of a finding kept in app data, share the scanner's
 * cache and pool. An action on the findings waits for neither: it is refused while one runs.
 */
import type { CofferError } from '../../../../crypto/errors.js';

export class ScanSlot {
  private current: AbortController | null = null;

  get busy(): boolean {
    return this.current !== null;
  }

  /** Runs `work` in the slot, or throws `whenBusy()` if a scan holds it; the slot is free again after. */
  async run<T>(whenBusy: () => CofferError, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.current) throw whenBusy();
    const controller = new AbortController();
    this.current = controller;
    try {
      return await work(controller.signal);
    } finally {
      this.current = null;
    }
  }

  /** Aborts the scan that holds the slot; false when none does. */
  cancel(): boolean {
    if (!this.current) return false;
    this.current.abort();
    return true;
  }
}
