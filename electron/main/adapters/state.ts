/**
 * The app's view of the signed state files (issue 9 item 1): the same StateFiles and describeState as
 * `coffer state show/confirm`, so the banner on Overview and the CLI say the same thing.
 */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import type { TrustedRecoveryKeys } from '../../services/keys/trusted-keys.js';
import { describeState } from '../../services/state/describe.js';
import type { StateFiles } from '../../services/state/state-files.js';
import type { StateReview } from '../../shared/contract.js';
import type { StatePort } from '../ports.js';

export interface StateAdapterDeps {
  sodium: SodiumBackend;
  state: StateFiles;
  trustedKeys: TrustedRecoveryKeys;
}

export class StateAdapter implements StatePort {
  constructor(private readonly deps: StateAdapterDeps) {}

  review(): StateReview {
    const files = this.deps.state.inspect().map((r) => {
      const v = describeState(this.deps.sodium, r);
      return {
        kind: v.kind,
        file: v.file,
        status: v.status,
        ...(v.detail !== undefined ? { detail: v.detail } : {}),
        lines: v.lines,
      };
    });
    return { tampered: files.filter((f) => f.status === 'tampered').length, files };
  }

  async confirm(): Promise<StateReview> {
    const confirmed = await this.deps.state.confirm();
    // The trusted set may have changed without trust/untrust: the log records what the user accepted.
    if (confirmed.some((r) => r.kind === 'settings')) this.deps.trustedKeys.recordConfirmed();
    return this.review();
  }
}
