/**
 * When idle time locks the edit workspace (open files saved back and wiped). Plain logic, no timers and no
 * Electron: main calls `tick` every AUTO_LOCK_TICK_MS with powerMonitor.getSystemIdleTime(), and the delay
 * comes from PolicyService.autoLockMinutes(user value) at each tick, so a policy change applies at once.
 */
export const AUTO_LOCK_TICK_MS = 15_000;

export class AutoLock {
  /** Locked already in this idle stretch: one lock per idle period, not one per tick. */
  private lockedThisIdle = false;

  constructor(private readonly minutes: () => number | null) {}

  /** True when the workspace should be locked now. */
  tick(idleSeconds: number, openFiles: number): boolean {
    const minutes = this.minutes();
    if (minutes === null || idleSeconds < minutes * 60) {
      this.lockedThisIdle = false;
      return false;
    }
    if (this.lockedThisIdle || openFiles === 0) return false;
    this.lockedThisIdle = true;
    return true;
  }
}
