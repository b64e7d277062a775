/**
 * Who every new file is written for: this device, the recovery keys the user trusts, and the recovery keys
 * the organization policy deploys (DESIGN.md "Keys"), deduplicated by key ID, and checked against the policy
 * before anything is written. One place, so `encrypt`, `protect`, `watch` and `rekey` cannot disagree.
 */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { formatKeyId, keyIdOf, type Identity, type Recipient } from '../../../crypto/keys.js';

/** What the device key service offers (DeviceKeyService satisfies it). */
export interface DeviceRecipients {
  recipients(): Promise<Recipient[]>;
  identities(): Promise<Identity[]>;
}

/** The policy's part (PolicyService satisfies it). */
export interface RecipientPolicy {
  recoveryRecipients(): Recipient[];
  /** Throws NO_RECOVERY_KEY or POLICY_INVALID when files must not be written for these recipients. */
  requireRecipients(recipients: readonly Recipient[]): void;
}

export interface WriteKeysDeps {
  readonly sodium: SodiumBackend;
  readonly deviceKeys: DeviceRecipients;
  readonly policy: RecipientPolicy;
}

/** Keeps the first of each key ID: a key trusted by the user and deployed by policy gets one stanza. */
export function dedupeRecipients(sodium: SodiumBackend, recipients: readonly Recipient[]): Recipient[] {
  const seen = new Set<string>();
  return recipients.filter((r) => {
    const id = `${r.kind}:${formatKeyId(keyIdOf(sodium, r))}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

export class WriteKeys {
  constructor(private readonly deps: WriteKeysDeps) {}

  /**
   * The recipients for a write, already approved by the policy. `extra` adds recipients for this write
   * only (rekey keeps the key that opened the file).
   */
  async recipients(extra: readonly Recipient[] = []): Promise<Recipient[]> {
    const { sodium, deviceKeys, policy } = this.deps;
    const all = dedupeRecipients(sodium, [
      ...(await deviceKeys.recipients()),
      ...extra,
      ...policy.recoveryRecipients(),
    ]);
    policy.requireRecipients(all);
    return all;
  }

  identities(): Promise<Identity[]> {
    return this.deps.deviceKeys.identities();
  }
}
