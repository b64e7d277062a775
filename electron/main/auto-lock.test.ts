import { describe, expect, it } from 'vitest';
import { AutoLock } from './auto-lock.js';

describe('AutoLock', () => {
  it('locks once when idle reaches the delay with files open, and again only after activity', () => {
    let minutes: number | null = 5;
    const lock = new AutoLock(() => minutes);
    expect(lock.tick(299, 1)).toBe(false);
    expect(lock.tick(300, 1)).toBe(true);
    expect(lock.tick(315, 1)).toBe(false); // same idle stretch: not again
    expect(lock.tick(10, 1)).toBe(false); // the user came back
    expect(lock.tick(300, 2)).toBe(true);
    minutes = 10; // a policy change applies at the next tick
    expect(lock.tick(20, 1)).toBe(false);
    expect(lock.tick(599, 1)).toBe(false);
    expect(lock.tick(600, 1)).toBe(true);
  });

  it('does nothing with no open file, or with auto-lock off', () => {
    let minutes: number | null = 1;
    const lock = new AutoLock(() => minutes);
    expect(lock.tick(3600, 0)).toBe(false);
    expect(lock.tick(3615, 1)).toBe(true); // a file still open later in the same idle stretch
    minutes = null;
    expect(lock.tick(99_999, 3)).toBe(false);
  });
});
