/**
 * Personal recovery codes and device restore (DESIGN.md "Keys", FORMAT.md §11.3–11.4): issue a code and
 * its escrow record, confirm a code, export the record, and put a device key back from a record.
 */
import fs from 'node:fs';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError, isCofferError } from '../../../crypto/errors.js';
import { formatKeyId, recoveryKeyId, type Identity, type Recipient } from '../../../crypto/keys.js';
import { toCofferError } from '../fs-errors.js';
import type { SettingsStore } from '../settings.js';
import { stateStorage, type StateAuth } from '../state/state-file.js';
import type { DeviceKeyList, DeviceKeyService } from './device-key.js';
import type { TrustedRecoveryKeys } from './trusted-keys.js';
import {
  createEscrowRecord,
  openEscrowWithCode,
  openEscrowWithRecoveryKey,
  parseEscrowRecord,
  serializeEscrowRecord,
  type EscrowRecord,
} from './escrow.js';
import { formatRecoveryCode, generateRecoveryCode, recoveryCodeKeyId } from './recovery-code.js';

export interface RecoveryServiceDeps {
  sodium: SodiumBackend;
  deviceKeys: DeviceKeyService;
  trustedKeys: TrustedRecoveryKeys;
  settings: SettingsStore;
  /** Where this account's escrow record lives (AppPaths.escrowFile). */
  escrowFile: string;
  /** Signs `escrowFile` (state/envelope.ts); absent = plain JSON (unit tests). */
  stateAuth?: StateAuth;
  /**
   * The organization recovery keys deployed by policy (PolicyService.recoveryRecipients): the record is
   * sealed to them as well as to the keys the user trusts, so the helpdesk's key restores the device key.
   */
  policyRecipients?: () => readonly Recipient[];
}

/**
 * Re-wraps every file of the registered folders to the current recipients (RotationService.run), given to
 * a restore or a device key rotation by the caller, so files carry the new device key's stanza.
 */
export type RewrapRegistered = () => Promise<RewrapSummary>;

export interface DeviceChangeOptions {
  /** Absent: nothing is re-wrapped (files keep opening with the read-only key). */
  rewrapRegistered?: RewrapRegistered;
}

/** What a re-wrap of the registered folders did (RotationReport satisfies it). */
export interface RewrapSummary {
  readonly filesTotal: number;
  readonly inPlace: number;
  readonly copied: number;
  readonly unchanged: number;
  readonly failed: readonly { path?: string; code: string; message: string }[];
}

export interface IssuedCode {
  /** The code as shown to the user, once: 8 groups joined by dashes. */
  code: string;
  keyId: string;
  deviceKeyId: string;
  /** Key IDs of the organization recovery keys the record is also sealed to. */
  sealedTo: string[];
  /**
   * What went wrong after the record was written (copies beside protected folders). The code is valid
   * anyway and must still be shown, so these are reported, never thrown.
   */
  warnings: string[];
}

/** Called with each new escrow record (FolderEscrowCopies refreshes the copies beside folders). */
export type EscrowListener = (record: EscrowRecord) => Promise<void>;

export type RestoreSecret =
  | { kind: 'code'; code: Uint8Array }
  | { kind: 'recovery'; identity: Extract<Identity, { kind: 'recovery' }> };

/** Which secret will open the record, known before any passphrase is asked for. */
export type RestoreRef = { kind: 'code'; codeKeyId: string } | { kind: 'recovery'; keyId: string };

/** What `checkRestore` found: everything a restore can check before the key file's passphrase. */
export interface RestorePlan {
  /** The device key ID the record names (checked again against the key once it is opened). */
  restoredKeyId: string;
  /** This account's keys now. */
  keys: DeviceKeyList;
  /** A fresh device key will be made (none here yet, its key is missing, or `replace`). */
  freshKey: boolean;
}

export interface RestoreResult {
  /** The restored key: kept read-only, never used to write. */
  restoredKeyId: string;
  /** The key that writes from now on. */
  deviceKeyId: string;
  /** The key that wrote before `--replace` (now read-only too); null when none was replaced. */
  replacedKeyId: string | null;
  /** Files of the registered folders re-wrapped to `deviceKeyId` (null: no re-wrap wired). */
  rewrap: RewrapSummary | null;
  /** The new personal recovery code, for `deviceKeyId` (rotation after use; always after a new key). */
  newCode?: IssuedCode;
  /** What did not work after the keys were safely in place (re-wrap, a lost key); never thrown. */
  warnings: string[];
}

export interface RotateResult {
  /** The key that wrote until now, kept read-only. */
  previousKeyId: string;
  deviceKeyId: string;
  rewrap: RewrapSummary | null;
  newCode: IssuedCode;
  warnings: string[];
}

export class RecoveryService {
  private readonly listeners = new Set<EscrowListener>();

  constructor(private readonly deps: RecoveryServiceDeps) {}

  /** Hears every new escrow record (a new code, or rotation after use). Returns an unsubscribe function. */
  onEscrowChanged(listener: EscrowListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Makes a new code and replaces the escrow record with one for it. */
  async issueCode(): Promise<IssuedCode> {
    const { sodium, deviceKeys, trustedKeys } = this.deps;
    const code = generateRecoveryCode(sodium);
    try {
      // Made and saved for the key that writes, which no other process changes meanwhile (R5 review: an
      // app that cached its key before a CLI rotation saved a record for the rotated-out key over it).
      const record = await deviceKeys.withCurrentKey((deviceKey) => {
        const made = createEscrowRecord(sodium, {
          deviceKey,
          code,
          recoveryPublicKeys: this.recoveryPublicKeys(trustedKeys.publicKeys()),
        });
        this.saveEscrow(made);
        return Promise.resolve(made);
      });
      const settled = await Promise.allSettled([...this.listeners].map((listener) => listener(record)));
      return {
        code: formatRecoveryCode(code),
        keyId: record.code.keyId,
        deviceKeyId: record.deviceKeyId,
        sealedTo: record.recovery.map((r) => r.keyId),
        warnings: settled.flatMap((r) => (r.status === 'rejected' ? [describe(r.reason)] : [])),
      };
    } finally {
      sodium.zero(code);
    }
  }

  /** The trusted keys and the policy's, each once (by key ID). */
  private recoveryPublicKeys(trusted: readonly Uint8Array[]): Uint8Array[] {
    const { sodium } = this.deps;
    const fromPolicy = (this.deps.policyRecipients?.() ?? []).flatMap((r) =>
      r.kind === 'recovery' ? [r.publicKey] : [],
    );
    const seen = new Set<string>();
    return [...trusted, ...fromPolicy].filter((key) => {
      const id = formatKeyId(recoveryKeyId(sodium, key));
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }

  /**
   * The one write path of this account's escrow record (a new code, or a re-seal to a new recovery key set
   * by RotationService). Listeners are not called: the caller refreshes the folder copies itself.
   */
  saveEscrow(record: EscrowRecord): void {
    stateStorage(this.deps.escrowFile, 'escrow', this.deps.stateAuth).write(serializeEscrowRecord(record));
  }

  /** This account's escrow record, or null when no recovery code has been made yet. */
  currentEscrow(): EscrowRecord | null {
    try {
      return this.readEscrow();
    } catch (error) {
      if (isCofferError(error, 'NO_ESCROW')) return null;
      throw error;
    }
  }

  readEscrow(file = this.deps.escrowFile): EscrowRecord {
    let text: string | null = null;
    try {
      // This account's record is a signed state file (STATE_TAMPERED when replaced); one given by path
      // (an export, a folder copy) is the plain §11.4 record, checked when it is opened.
      text =
        file === this.deps.escrowFile
          ? stateStorage(file, 'escrow', this.deps.stateAuth).read()
          : fs.readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text === null) {
      throw new CofferError(
        'NO_ESCROW',
        `There is no escrow record at ${file}`,
        file === this.deps.escrowFile
          ? 'Run `coffer recovery code` to make a personal recovery code and its escrow record.'
          : 'Check the path of the escrow file.',
      );
    }
    return parseEscrowRecord(text);
  }

  /** Checks a code the user typed back against the current record (`coffer recovery confirm`). */
  async confirmCode(code: Uint8Array): Promise<{ keyId: string; deviceKeyId: string }> {
    const { sodium, deviceKeys } = this.deps;
    const record = this.readEscrow();
    const key = openEscrowWithCode(sodium, record, code);
    sodium.zero(key);
    const current = await deviceKeys.deviceKeyId();
    if (current !== record.deviceKeyId) {
      throw new CofferError(
        'STALE_ESCROW',
        `The escrow record is for device key ${record.deviceKeyId}, but this account uses ${current}`,
        'Run `coffer recovery code` to make a new code for the current device key.',
      );
    }
    return { keyId: record.code.keyId, deviceKeyId: record.deviceKeyId };
  }

  exportEscrow(out: string): EscrowRecord {
    const record = this.readEscrow();
    try {
      fs.writeFileSync(out, serializeEscrowRecord(record), { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new CofferError('FILE_EXISTS', `${out} already exists`, 'Choose another --out path.');
      }
      // A place it may not write, a folder gone, a full disk: a stable code and the path, not INTERNAL.
      throw toCofferError(error, out);
    }
    return record;
  }

  /**
   * Everything a restore can check before the key file's passphrase is asked for (issue 9 item 3): the
   * record parses, is sealed to this code / this organization key, the code was not used here, and the
   * keychain answers with no damaged entry.
   */
  async checkRestore(
    escrowFile: string,
    ref: RestoreRef,
    options: { replace?: boolean } = {},
  ): Promise<RestorePlan> {
    const { settings, deviceKeys } = this.deps;
    const record = this.readEscrow(escrowFile);
    if (ref.kind === 'code') {
      if (settings.read().usedRecoveryCodeIds.includes(ref.codeKeyId)) {
        throw new CofferError(
          'RECOVERY_CODE_USED',
          `Recovery code ${ref.codeKeyId} was already used on this machine and has been replaced`,
          'Use the new code issued at that restore, or the organization recovery key.',
        );
      }
      if (record.code.keyId !== ref.codeKeyId) {
        throw new CofferError(
          'WRONG_RECOVERY_CODE',
          `This recovery code (key ID ${ref.codeKeyId}) is not the one for this escrow record (key ID ${record.code.keyId})`,
          'Use the most recent recovery code of this user (codes are replaced after use), or the organization recovery key.',
        );
      }
    } else if (!record.recovery.some((r) => r.keyId === ref.keyId)) {
      throw new CofferError(
        'NO_MATCHING_KEY',
        `This escrow record is not sealed to recovery key ${ref.keyId}; it is for ${
          record.recovery.map((r) => r.keyId).join(', ') || 'no recovery key'
        }`,
        'Use the organization recovery key whose ID is named, or the user’s personal recovery code.',
      );
    }
    // A damaged current entry is moved aside, never overwritten (DeviceKeyService.replaceCurrent).
    const keys = await deviceKeys.list();
    const freshKey = options.replace === true || keys.current === null || keys.current.state !== 'ok';
    return { restoredKeyId: record.deviceKeyId, keys, freshKey };
  }

  /**
   * Brings back the device key in `escrowFile` as a read-only key (a restored key only reads: DESIGN.md
   * "Guarantees"). A fresh device key writes from now on when the account has none (or with `replace`, the
   * current one becoming read-only too, so nothing is orphaned); files in registered folders are re-wrapped
   * to the key that writes; a new code is issued when the code was used or the record is not for that key.
   * A forged record (sealed to the right organization key, for a key its maker knows) then opens only what
   * that key already opened.
   */
  async restoreDevice(
    escrowFile: string,
    secret: RestoreSecret,
    options: { replace?: boolean } & DeviceChangeOptions = {},
  ): Promise<RestoreResult> {
    const { sodium, deviceKeys, settings } = this.deps;
    const ref: RestoreRef =
      secret.kind === 'code'
        ? { kind: 'code', codeKeyId: formatKeyId(recoveryCodeKeyId(sodium, secret.code)) }
        : { kind: 'recovery', keyId: formatKeyId(recoveryKeyId(sodium, secret.identity.publicKey)) };
    const plan = await this.checkRestore(escrowFile, ref, options);
    const record = this.readEscrow(escrowFile);
    const key =
      secret.kind === 'code'
        ? openEscrowWithCode(sodium, record, secret.code)
        : openEscrowWithRecoveryKey(sodium, record, secret.identity);
    let restoredKeyId: string;
    try {
      restoredKeyId = (await deviceKeys.keepReadOnly(key)).keyId;
    } finally {
      sodium.zero(key);
    }
    const warnings: string[] = [];
    let replacedKeyId: string | null = null;
    if (plan.freshKey) {
      const replaced = await deviceKeys.replaceCurrent();
      replacedKeyId = replaced.previousKeyId === restoredKeyId ? null : replaced.previousKeyId;
      if (replaced.lostKeyId !== null && replaced.lostKeyId !== restoredKeyId) {
        warnings.push(
          `Device key ${replaced.lostKeyId} is still missing from the keychain: its files open with the organization key or its own escrow record.`,
        );
      }
    }
    if (ref.kind === 'code') {
      // Rotation after use: the code was read out over the phone, so it is no longer secret.
      const used = ref.codeKeyId;
      settings.update((s) => ({ ...s, usedRecoveryCodeIds: [...new Set([...s.usedRecoveryCodeIds, used])] }));
    }
    const deviceKeyId = await deviceKeys.deviceKeyId();
    // The escrow record first, for the key that writes: a crash during the re-wrap must not leave new
    // files under a key that no code opens.
    const newCode =
      ref.kind === 'code' || this.escrowIsStale(deviceKeyId) ? await this.issueCode() : undefined;
    const rewrap = await this.rewrap(options.rewrapRegistered, warnings);
    return {
      restoredKeyId,
      deviceKeyId,
      replacedKeyId,
      rewrap,
      ...(newCode ? { newCode } : {}),
      warnings,
    };
  }

  /**
   * `coffer rotate-device-key`: a fresh device key, the old one kept read-only (never deleted), a new code
   * and escrow record for the new key, then every file of the registered folders re-wrapped to it.
   */
  async rotateDeviceKey(options: DeviceChangeOptions = {}): Promise<RotateResult> {
    const { deviceKeys } = this.deps;
    await deviceKeys.getDeviceKey(); // NO_DEVICE_KEY before anything changes
    const replaced = await deviceKeys.replaceCurrent();
    const warnings: string[] = [];
    const newCode = await this.issueCode();
    const rewrap = await this.rewrap(options.rewrapRegistered, warnings);
    return {
      previousKeyId: replaced.previousKeyId ?? 'none',
      deviceKeyId: replaced.deviceKeyId,
      rewrap,
      newCode,
      warnings,
    };
  }

  private escrowIsStale(deviceKeyId: string): boolean {
    try {
      return this.currentEscrow()?.deviceKeyId !== deviceKeyId;
    } catch {
      return true; // unreadable or tampered: a new record replaces it
    }
  }

  /** Re-wrap failures are reported, never thrown: the keys are in place and every file still opens. */
  private async rewrap(run: RewrapRegistered | undefined, warnings: string[]): Promise<RewrapSummary | null> {
    if (!run) return null;
    try {
      const summary = await run();
      if (summary.failed.length > 0) {
        warnings.push(
          `${summary.failed.length} item(s) were not re-wrapped to the new device key (they still open here): run \`coffer rewrap\` again.`,
        );
      }
      return summary;
    } catch (error) {
      warnings.push(`Files were not re-wrapped (they still open here): ${describe(error)}`);
      return null;
    }
  }
}

function describe(reason: unknown): string {
  if (isCofferError(reason))
    return `${reason.code}: ${reason.message}${reason.hint ? ` — ${reason.hint}` : ''}`;
  return reason instanceof Error ? reason.message : String(reason);
}
