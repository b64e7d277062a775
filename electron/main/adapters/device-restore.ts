/**
 * Restoring a device key in the app (issue 12 item 5), through the same RecoveryService.restoreDevice as
 * `coffer restore-device`: the restored key is kept read-only, a fresh device key writes, the protected
 * folders are re-wrapped to it (a tracked run, so the window shows progress) and, after a code was used, a
 * new code is made and shown once.
 *
 * The record is picked in main (this account's own record, or a `.coffer-escrow.json` chosen in the native
 * dialog) and remembered here: the renderer never names a path, and a restore with no record picked in
 * this session is refused (NO_RECORD_PICKED). Everything that can be checked is checked before the run
 * starts (typo, wrong code, used code, unreadable record), so those errors leave nothing written. The code
 * itself is zeroed after use and never logged or sent back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CofferError, isCofferError } from '../../../crypto/errors.js';
import { formatKeyId, recoveryKeyId, type Identity } from '../../../crypto/keys.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { ESCROW_COPY_NAME } from '../../services/keys/folder-escrow.js';
import type { DeviceKeyUsage } from '../../services/keys/key-usage.js';
import { parseRecoveryCode, recoveryCodeKeyId } from '../../services/keys/recovery-code.js';
import type {
  RecoveryService,
  RestoreRef,
  RestoreResult,
  RestoreSecret,
  RewrapSummary,
} from '../../services/keys/recovery-service.js';
import type { DeviceRestoreView, EscrowRecordView } from '../../shared/contract.js';
import type { DeviceRestorePort } from '../ports.js';
import type { RunTracker } from '../runs.js';
import { plainMessage, plainRestoreWarning } from '../../shared/plain-words.js';

type RecoveryIdentity = Extract<Identity, { kind: 'recovery' }>;

export interface DeviceRestoreDeps {
  sodium: SodiumBackend;
  recovery: RecoveryService;
  runs: RunTracker;
  /** This account's own record (AppPaths.escrowFile). */
  escrowFile: string;
  /** Re-wraps the registered folders to the key that writes (RotationService.run), with progress. */
  rewrap: (options: {
    onProgress: (p: { filesTotal: number; filesDone: number; bytesTotal: number; bytesDone: number }) => void;
    signal: AbortSignal;
  }) => Promise<RewrapSummary>;
  /** Device key IDs named by the files of the registered folders (headers only). */
  keyUsage: () => DeviceKeyUsage;
  /** The helpdesk's loaded organization key (HelpdeskAdapter.loadedIdentity), or null. */
  loadedIdentity: () => RecoveryIdentity | null;
}

interface Picked {
  file: string;
  source: EscrowRecordView['source'];
  /** The backup folder the record came from (procedure E: protected again after the restore). */
  folder: string | null;
}

type Outcome = { ok: true; value: DeviceRestoreView; folder: string | null } | { ok: false; error: unknown };

export class DeviceRestoreAdapter implements DeviceRestorePort {
  private picked: Picked | null = null;
  private readonly outcomes = new Map<string, Outcome>();

  constructor(private readonly deps: DeviceRestoreDeps) {}

  /**
   * Reads the record (BAD_ESCROW / RECORD_UNREADABLE when it is not one) and remembers it for the restore.
   * `file` comes from main's dialog, never from the renderer; null = this account's own record.
   */
  pick(file: string | null, folder: string | null = null): EscrowRecordView {
    this.picked = null;
    const source: EscrowRecordView['source'] = file === null ? 'app' : folder !== null ? 'folder' : 'file';
    const target = file ?? this.deps.escrowFile;
    let record;
    try {
      record = this.deps.recovery.readEscrow(target);
    } catch (error) {
      throw plain(error, source);
    }
    let usage: DeviceKeyUsage = { files: 0, unreadable: 0, byKey: [] };
    try {
      usage = this.deps.keyUsage();
    } catch {
      // Only a hint for the screen; a folder that cannot be listed does not stop a restore.
    }
    this.picked = { file: target, source, folder };
    return {
      source,
      name: source === 'app' ? 'this computer' : path.basename(folder ?? path.dirname(target)),
      deviceKeyId: record.deviceKeyId,
      codeKeyId: record.code.keyId,
      createdAt: record.createdAt,
      sealedTo: record.recovery.map((r) => r.keyId),
      filesTotal: usage.files,
      filesUsingKey: usage.byKey.find((k) => k.keyId === record.deviceKeyId)?.files ?? 0,
    };
  }

  /** The backup folder of the picked record, when it was picked as a folder (procedure E). */
  pickedFolder(): string | null {
    return this.picked?.folder ?? null;
  }

  forget(): void {
    this.picked = null;
  }

  /** Checks the typed groups (BAD_RECOVERY_CODE names the group) and the code, then starts the restore. */
  async startWithCode(groups: string[]): Promise<{ runId: string }> {
    const picked = this.requirePicked();
    const code = parseRecoveryCode(groups.join('-'));
    try {
      const ref: RestoreRef = {
        kind: 'code',
        codeKeyId: formatKeyId(recoveryCodeKeyId(this.deps.sodium, code)),
      };
      await this.check(picked, ref);
    } catch (error) {
      code.fill(0);
      throw error;
    }
    return { runId: this.run(picked, { kind: 'code', code }) };
  }

  /** The helpdesk's restore with the loaded organization key (a copy, zeroed after: unload may come first). */
  async startWithKey(): Promise<{ runId: string }> {
    const picked = this.requirePicked();
    const identity = this.deps.loadedIdentity();
    if (!identity) {
      throw new CofferError(
        'NO_RECOVERY_KEY_LOADED',
        'No organization recovery key is loaded.',
        'Load the key file with its passphrase first.',
      );
    }
    await this.check(picked, {
      kind: 'recovery',
      keyId: formatKeyId(recoveryKeyId(this.deps.sodium, identity.publicKey)),
    });
    const copy: RecoveryIdentity = { ...identity, secretKey: Uint8Array.from(identity.secretKey) };
    return { runId: this.run(picked, { kind: 'recovery', identity: copy }) };
  }

  /** Waits for the run and hands its outcome over once (the new code is never kept for a second read). */
  async result(runId: string): Promise<{ view: DeviceRestoreView; folder: string | null }> {
    if (!this.deps.runs.list().some((r) => r.runId === runId)) {
      throw new CofferError('NOT_FOUND', 'That restore is not known here.', 'Start the restore again.');
    }
    await this.deps.runs.settled(runId);
    const outcome = this.outcomes.get(runId);
    this.outcomes.delete(runId);
    if (!outcome) {
      throw new CofferError('NOT_FOUND', 'That restore is not known here.', 'Start the restore again.');
    }
    if (!outcome.ok) throw plain(outcome.error, 'file');
    return { view: outcome.value, folder: outcome.folder };
  }

  private requirePicked(): Picked {
    if (!this.picked) {
      throw new CofferError(
        'NO_RECORD_PICKED',
        'Choose the key record to restore from first.',
        'Use "Use the record on this computer" or "Choose a record file…".',
      );
    }
    // A record file replaced by something else since it was picked is read again, and checked again.
    if (this.picked.source !== 'app' && !fs.existsSync(this.picked.file)) {
      this.picked = null;
      throw new CofferError('RECORD_UNREADABLE', 'The chosen key record is gone.', 'Choose it again.');
    }
    return this.picked;
  }

  private async check(picked: Picked, ref: RestoreRef): Promise<void> {
    try {
      await this.deps.recovery.checkRestore(picked.file, ref);
    } catch (error) {
      throw plain(error, picked.source);
    }
  }

  private run(picked: Picked, secret: RestoreSecret): string {
    const { recovery, runs, rewrap } = this.deps;
    return runs.start('rekey', null, async (run) => {
      try {
        const result = await recovery.restoreDevice(picked.file, secret, {
          rewrapRegistered: () =>
            rewrap({
              signal: run.signal,
              onProgress: ({ filesTotal, filesDone, bytesTotal, bytesDone }) => {
                run.update({ filesTotal, filesDone, bytesTotal, bytesDone });
              },
            }),
        });
        this.outcomes.set(run.runId, { ok: true, value: view(result), folder: picked.folder });
        this.picked = null;
      } catch (error) {
        this.outcomes.set(run.runId, { ok: false, error });
        throw plain(error, picked.source);
      } finally {
        if (secret.kind === 'code') secret.code.fill(0);
        else secret.identity.secretKey.fill(0);
      }
    });
  }
}

function view(result: RestoreResult): DeviceRestoreView {
  return {
    restoredKeyId: result.restoredKeyId,
    deviceKeyId: result.deviceKeyId,
    replacedKeyId: result.replacedKeyId,
    rewrap:
      result.rewrap === null
        ? null
        : {
            filesTotal: result.rewrap.filesTotal,
            rewrapped: result.rewrap.inPlace + result.rewrap.copied,
            failed: result.rewrap.failed.length,
          },
    ...(result.newCode
      ? {
          newCode: {
            groups: result.newCode.code.split('-'),
            keyId: result.newCode.keyId,
            warnings: result.newCode.warnings.map(plainMessage),
          },
        }
      : {}),
    warnings: result.warnings.map(plainRestoreWarning),
  };
}

/** The restore's errors said for people (no "escrow", no errno); the stable code is kept. */
function plain(error: unknown, source: EscrowRecordView['source']): unknown {
  const where = source === 'app' ? 'The key record on this computer' : 'The chosen file';
  if (isCofferError(error, 'WRONG_RECOVERY_CODE')) {
    return new CofferError(
      'WRONG_RECOVERY_CODE',
      'This recovery code does not open the chosen key record. Nothing was changed.',
      'Check that the code ID written beside your code matches the one shown here. Codes are replaced after use: use your newest one, or call the helpdesk.',
    );
  }
  if (isCofferError(error, 'RECOVERY_CODE_USED')) {
    return new CofferError(
      'RECOVERY_CODE_USED',
      'This recovery code was already used on this computer and has been replaced. Nothing was changed.',
      'Use the new code you were shown after that restore, or call the helpdesk.',
    );
  }
  if (isCofferError(error, 'NO_MATCHING_KEY')) {
    return new CofferError(
      'NO_MATCHING_KEY',
      'The loaded organization key does not open this key record. Nothing was changed.',
      error.message.replace(/escrow record/g, 'key record'),
    );
  }
  if (isCofferError(error, 'NO_ESCROW')) {
    return new CofferError(
      'NO_ESCROW',
      source === 'app'
        ? 'There is no key record on this computer: no recovery code was made here.'
        : 'There is no key record in the chosen place.',
      'Choose the .coffer-escrow.json file from a protected folder or its backup.',
    );
  }
  if (isCofferError(error, 'BAD_ESCROW') || isCofferError(error, 'STATE_TAMPERED')) {
    return new CofferError(
      'RECORD_UNREADABLE',
      `${where} is not a Coffer key record, or it is damaged. Nothing was changed.`,
      'Choose the .coffer-escrow.json file from another protected folder or backup.',
    );
  }
  if (!isCofferError(error) && typeof (error as NodeJS.ErrnoException | undefined)?.code === 'string') {
    return new CofferError(
      'RECORD_UNREADABLE',
      `${where} could not be read. Nothing was changed.`,
      'Check that the file or its drive is still there and readable, then choose it again.',
    );
  }
  return error;
}

/** Procedure E: the record beside the files of a backup of a protected folder. */
export function recordInFolder(folder: string): string {
  return path.join(folder, ESCROW_COPY_NAME);
}
