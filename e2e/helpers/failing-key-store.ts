/**
 * A keychain that fails on its Nth call, for the tests of a rotation or restore cut between keychain steps
 * (electron/services/keys/device-key.test.ts, recovery-service.test.ts): `before` (nothing happens) or
 * `after` (the call took effect, then the answer was lost). A fake on purpose: no real keychain can be made
 * to fail at an exact step.
 */
import type { KeyStore } from '../../electron/services/keys/key-store.js';

export class FailingKeyStore implements KeyStore {
  calls = 0;
  constructor(
    private readonly inner: KeyStore,
    private readonly failAt: number,
    private readonly mode: 'before' | 'after',
  ) {}
  private async step<T>(run: () => Promise<T>): Promise<T> {
    this.calls++;
    if (this.calls !== this.failAt) return run();
    if (this.mode === 'after') await run();
    throw new Error(`keychain failed at call ${this.failAt}`);
  }
  get(account: string) {
    return this.step(() => this.inner.get(account));
  }
  set(account: string, secret: Uint8Array) {
    return this.step(() => this.inner.set(account, secret));
  }
  delete(account: string) {
    return this.step(() => this.inner.delete(account));
  }
}
