import { describe, expect, it } from 'vitest';
import { coalesce } from './tray-refresh.js';

describe('coalesce', () => {
  it('runs one refresh at a time and one more after a burst of calls', async () => {
    let active = 0;
    let most = 0;
    let runs = 0;
    const gates: (() => void)[] = [];
    const refresh = coalesce(
      async () => {
        active++;
        most = Math.max(most, active);
        runs++;
        await new Promise<void>((resolve) => gates.push(resolve));
        active--;
      },
      () => undefined,
    );
    const first = refresh();
    const burst = [refresh(), refresh(), refresh()];
    expect(runs).toBe(1);
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
    expect(runs).toBe(2); // the burst became one more refresh
    gates.shift()?.();
    await Promise.all([first, ...burst]);
    expect(runs).toBe(2);
    expect(most).toBe(1);
    // Idle again: the next call starts at once.
    const next = refresh();
    expect(runs).toBe(3);
    gates.shift()?.();
    await next;
  });

  it('keeps refreshing after a failed refresh, and reports the failure', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const refresh = coalesce(
      () => (++n === 1 ? Promise.reject(new Error('list failed')) : Promise.resolve()),
      (e) => errors.push(e),
    );
    await refresh();
    await refresh();
    expect(n).toBe(2);
    expect(errors.map(String)).toEqual(['Error: list failed']);
  });
});
