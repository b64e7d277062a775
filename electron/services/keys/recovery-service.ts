/**
 * Personal recovery codes and device restore (DESIGN.md "Keys", FORMAT.md §11.3–11.4): issue a code and
 * its escrow record, confirm a code, export the record, and put a device key back from a record.
 */
import fs from 'node:fs';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError, isCofferError } from '../../../crypto/errors.js';
import { formatKeyId, recoveryKeyId, type Identity, type Recipient } from '../../../crypto/keys.js';
import type { SettingsStore } from '../settings.js';
import { stateStorage, type StateAuth } from '../state/state-file.js';
import type { DeviceKeyService } from './device-key.js';
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

export interface RestoreResult {
  deviceKeyId: string;
  /** After a code was used, the new one that replaces it (rotation after use). */
  newCode?: IssuedCode;
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
    const deviceKey = await deviceKeys.getOrCreateDeviceKey();
    const code = generateRecoveryCode(sodium);
    try {
      const record = createEscrowRecord(sodium, {
        deviceKey,
        code,
        recoveryPublicKeys: this.recoveryPublicKeys(trustedKeys.publicKeys()),
      });
      this.saveEscrow(record);
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
      throw error;
    }
    return record;
  }

  /** Puts the device key from `escrowFile` into this account's keychain. */
  async restoreDevice(
    escrowFile: string,
    secret: RestoreSecret,
    options: { replace?: boolean } = {},
  ): Promise<RestoreResult> {
    const { sodium, deviceKeys, settings } = this.deps;
    const record = this.readEscrow(escrowFile);
    let codeId: string | undefined;
    if (secret.kind === 'code') {
      codeId = formatKeyId(recoveryCodeKeyId(sodium, secret.code));
      if (settings.read().usedRecoveryCodeIds.includes(codeId)) {
        throw new CofferError(
          'RECOVERY_CODE_USED',
          `Recovery code ${codeId} was already used on this machine and has been replaced`,
          'Use the new code issued at that restore, or the organization recovery key.',
        );
      }
    }
    const key =
      secret.kind === 'code'
        ? openEscrowWithCode(sodium, record, secret.code)
        : openEscrowWithRecoveryKey(sodium, record, secret.identity);
    let deviceKeyId: string;
    try {
      deviceKeyId = await deviceKeys.install(key, options);
    } finally {
      sodium.zero(key);
    }
    if (!codeId) return { deviceKeyId };
    // Rotation after use: the code was read out over the phone, so it is no longer secret.
    const used = codeId;
    settings.update((s) => ({ ...s, usedRecoveryCodeIds: [...new Set([...s.usedRecoveryCodeIds, used])] }));
    return { deviceKeyId, newCode: await this.issueCode() };
  }
}

function describe(reason: unknown): string {
  if (isCofferError(reason))
    return `${reason.code}: ${reason.message}${reason.hint ? ` — ${reason.hint}` : ''}`;
  return reason instanceof Error ? reason.message : String(reason);
}
