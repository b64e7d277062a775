/**
 * The organization recovery public keys this user trusts, kept in the user's (signed) settings. Every file
 * written carries a recovery stanza for each (DESIGN.md "Keys"), unless the policy deploys the recovery keys
 * itself and does not allow the user's own (`allowUserRecoveryKeys`).
 *
 * Key IDs are always recomputed from the public key, never read from storage: a stored ID beside an edited
 * key would make every view show the old, trusted name for the intruder's key.
 */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError } from '../../../crypto/errors.js';
import { formatKeyId, parseKeyId, recoveryKeyId } from '../../../crypto/keys.js';
import type { SettingsStore, StoredRecoveryKey, TrustLogEntry } from '../settings.js';
import type { PolicyState } from '../policy/policy-service.js';
import { encodePublicKey, parsePublicKey } from './public-key-text.js';

export interface TrustedRecoveryKey {
  /** The FORMAT.md §11.2 text line. */
  publicKey: string;
  /** Recomputed from `publicKey`. */
  keyId: string;
  addedAt: string;
  label?: string;
}

/** Whether keys the user trusts may be added to files, as the policy says. */
export type UserKeyRule = { allowed: true } | { allowed: false; code: string; reason: string };

/** The rule for a policy state: refused when the policy deploys recovery keys and does not allow the user's. */
export function userKeyRule(state: PolicyState): UserKeyRule {
  if (state.status === 'invalid') {
    return {
      allowed: false,
      code: 'POLICY_INVALID',
      reason: 'the organization policy cannot be read, so it may forbid recovery keys of your own',
    };
  }
  if (state.status === 'active') {
    const { recoveryPublicKeys, allowUserRecoveryKeys } = state.policy;
    if ((recoveryPublicKeys?.length ?? 0) > 0 && allowUserRecoveryKeys !== true) {
      return {
        allowed: false,
        code: 'POLICY_FORBIDS',
        reason:
          'your organization deploys its recovery keys by policy and does not allow other recovery keys (allowUserRecoveryKeys)',
      };
    }
  }
  return { allowed: true };
}

/** The trust log keeps this many entries (the newest). */
const MAX_LOG = 500;

export class TrustedRecoveryKeys {
  constructor(
    private readonly sodium: SodiumBackend,
    private readonly settings: SettingsStore,
    /** The policy's rule (userKeyRule over PolicyService.state); absent = allowed (unit tests). */
    private readonly rule: () => UserKeyRule = () => ({ allowed: true }),
  ) {}

  /** Every key the user trusted, with its ID recomputed (whether or not the policy lets it be used). */
  list(): TrustedRecoveryKey[] {
    return this.settings.read().trustedRecoveryKeys.map((entry) => this.view(entry));
  }

  /** The policy's rule on these keys now (for `recovery list` and the app). */
  userKeyRule(): UserKeyRule {
    return this.rule();
  }

  /**
   * The public keys files and escrow records are sealed to; each re-checked against its checksum. Empty
   * when the policy refuses user-trusted keys: they are then kept, shown, and not used.
   */
  publicKeys(): Uint8Array[] {
    const stored = this.settings.read().trustedRecoveryKeys;
    if (!this.rule().allowed) return [];
    return stored.map((entry) => parsePublicKey(this.sodium, entry.publicKey));
  }

  /** Every change of the trusted set, oldest first. */
  log(): TrustLogEntry[] {
    return this.settings.read().trustLog;
  }

  /** Trusts a key given as its §11.2 text line; trusting one twice is a no-op that returns the entry. */
  trust(line: string, label?: string, now = new Date()): { entry: TrustedRecoveryKey; added: boolean } {
    const publicKey = parsePublicKey(this.sodium, line);
    const keyId = formatKeyId(recoveryKeyId(this.sodium, publicKey));
    const rule = this.rule();
    if (!rule.allowed) {
      throw new CofferError(
        rule.code,
        `Recovery key ${keyId} cannot be trusted: ${rule.reason}`,
        'Files are already written for the organization recovery keys; ask IT if another key must be added.',
      );
    }
    const existing = this.list().find((entry) => entry.keyId === keyId);
    if (existing) return { entry: existing, added: false };
    const stored: StoredRecoveryKey = {
      publicKey: encodePublicKey(this.sodium, publicKey),
      addedAt: now.toISOString(),
      ...(label ? { label } : {}),
    };
    this.settings.update((s) => ({
      ...s,
      trustedRecoveryKeys: [...s.trustedRecoveryKeys, stored],
      trustLog: appendLog(s.trustLog, [
        { at: stored.addedAt, action: 'trust', keyId, ...(label ? { label } : {}) },
      ]),
    }));
    return { entry: this.view(stored), added: true };
  }

  untrust(keyIdText: string, now = new Date()): TrustedRecoveryKey {
    const id = parseKeyId(keyIdText);
    if (!id) {
      throw new CofferError(
        'BAD_KEY_ID',
        `"${keyIdText}" is not a key ID`,
        'A key ID is 16 hex digits, e.g. 3f9a-12bc-0e77-a1d4; `coffer recovery list` shows them.',
      );
    }
    const keyId = formatKeyId(id);
    const existing = this.list().find((entry) => entry.keyId === keyId);
    if (!existing) {
      throw new CofferError(
        'NOT_TRUSTED',
        `Recovery key ${keyId} is not trusted here`,
        '`coffer recovery list` shows the trusted recovery keys.',
      );
    }
    this.settings.update((s) => ({
      ...s,
      trustedRecoveryKeys: s.trustedRecoveryKeys.filter((entry) => this.view(entry).keyId !== keyId),
      trustLog: appendLog(s.trustLog, [
        {
          at: now.toISOString(),
          action: 'untrust',
          keyId,
          ...(existing.label ? { label: existing.label } : {}),
        },
      ]),
    }));
    return existing;
  }

  /**
   * Records that the user re-confirmed the trusted set after tampering (`coffer state confirm`): a `confirm`
   * for each key now trusted, and an `untrust` for each key the log had as trusted that the confirmed file
   * no longer holds, so replaying the log always gives the set in use (a removal is a change too).
   */
  recordConfirmed(now = new Date()): void {
    const keys = this.list();
    const at = now.toISOString();
    const entries: TrustLogEntry[] = [];
    for (const [keyId, label] of loggedSet(this.log())) {
      if (!keys.some((k) => k.keyId === keyId))
        entries.push({ at, action: 'untrust', keyId, ...(label ? { label } : {}) });
    }
    for (const k of keys)
      entries.push({ at, action: 'confirm', keyId: k.keyId, ...(k.label ? { label: k.label } : {}) });
    if (entries.length === 0) return;
    this.settings.update((s) => ({ ...s, trustLog: appendLog(s.trustLog, entries) }));
  }

  private view(entry: StoredRecoveryKey): TrustedRecoveryKey {
    const publicKey = parsePublicKey(this.sodium, entry.publicKey);
    return {
      publicKey: entry.publicKey,
      keyId: formatKeyId(recoveryKeyId(this.sodium, publicKey)),
      addedAt: entry.addedAt,
      ...(entry.label !== undefined ? { label: entry.label } : {}),
    };
  }
}

/** The trusted set the log describes (key ID → label): trust and confirm add, untrust removes. */
function loggedSet(log: readonly TrustLogEntry[]): Map<string, string | undefined> {
  const set = new Map<string, string | undefined>();
  for (const e of log) {
    if (e.action === 'untrust') set.delete(e.keyId);
    else set.set(e.keyId, e.label);
  }
  return set;
}

function appendLog(log: readonly TrustLogEntry[], entries: readonly TrustLogEntry[]): TrustLogEntry[] {
  return [...log, ...entries].slice(-MAX_LOG);
}
