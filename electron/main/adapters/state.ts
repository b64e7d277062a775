/**
 * The app's view of the signed state files (issue 9 item 1): the same StateFiles and describeState as
 * `coffer state show/confirm`, so the banner on Overview and the CLI say the same thing.
 */
import { createHash } from 'node:crypto';
import { CofferError } from '../../../crypto/errors.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import type { TrustedRecoveryKeys } from '../../services/keys/trusted-keys.js';
import { describeState } from '../../services/state/describe.js';
import type { StateFiles, StateReport } from '../../services/state/state-files.js';
import type { StateReview } from '../../shared/contract.js';
import type { StatePort } from '../ports.js';

export interface StateAdapterDeps {
  sodium: SodiumBackend;
  state: StateFiles;
  trustedKeys: TrustedRecoveryKeys;
}

/**
 * What the user decides on: each file that does not verify, with why and exactly what it holds. The review
 * and the confirmation are two calls, with time between them for anyone to edit the files again.
 */
function digest(reports: readonly StateReport[]): string {
  const shown = reports.flatMap((r) =>
    r.state.status === 'tampered'
      ? [[r.kind, r.state.problem, r.state.generation ?? null, r.state.body ?? null]]
      : [],
  );
  return createHash('sha256').update(JSON.stringify(shown)).digest('hex');
}

export class StateAdapter implements StatePort {
  constructor(private readonly deps: StateAdapterDeps) {}

  review(): StateReview {
    return this.view(this.deps.state.inspect());
  }

  async confirm(reviewed: string): Promise<StateReview> {
    const reports = this.deps.state.inspect();
    // Signed only as shown: an edit made while the banner's dialog was open must not be signed unseen.
    if (digest(reports) !== reviewed) {
      throw new CofferError(
        'STATE_TAMPERED',
        'The settings files changed again after they were shown; nothing was confirmed',
        'Check what the banner on Overview shows now, then confirm again if it is what you or IT set.',
      );
    }
    const confirmed = await this.deps.state.confirm(reports);
    // The trusted set may have changed without trust/untrust: the log records what the user accepted.
    if (confirmed.some((r) => r.kind === 'settings')) this.deps.trustedKeys.recordConfirmed();
    return this.review();
  }

  private view(reports: readonly StateReport[]): StateReview {
    const files = reports.map((r) => {
      const v = describeState(this.deps.sodium, r);
      return {
        kind: v.kind,
        file: v.file,
        status: v.status,
        ...(v.detail !== undefined ? { detail: v.detail } : {}),
        lines: v.lines,
      };
    });
    return {
      tampered: files.filter((f) => f.status === 'tampered').length,
      reviewed: digest(reports),
      files,
    };
  }
}
