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
 *
 * The new code a restore makes waits here, as bytes, for the window to fetch it (result): zeroed once fetched,
 * and zeroed and dropped `keepResultMs` after the run ended if nobody fetched it (a window closed during the
 * re-wrap kept it in main's memory for the life of the app). RecoveryService.issueCode hands it over as a
 * string (the CLI prints it), which cannot be zeroed: it is turned into bytes at once and dropped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CofferError, isCofferError } from '../../../crypto/errors.js';
import { formatKeyId, recoveryKeyId, type Identity } from '../../../crypto/keys.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { ESCROW_COPY_NAME } from '../../services/keys/folder-escrow.js';
import type { DeviceKeyUsage } from '../../services/keys/key-usage.js';
import {
  formatRecoveryCode,
  parseRecoveryCode,
  recoveryCodeKeyId,
} from '../../services/keys/recovery-code.js';
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

/** The new code of a restore, held until fetched: its bytes (zeroed after) and what is shown beside it. */
interface HeldCode {
  code: Uint8Array;
  keyId: string;
  warnings: string[];
}

type Outcome =
  | { ok: true; value: Omit<DeviceRestoreView, 'newCode'>; newCode: HeldCode | null; folder: string | null }
  | { ok: false; error: unknown };

/** How long a result nobody fetched is kept (the window fetches it as soon as the run ends). */
export const RESULT_KEEP_MS = 2 * 60_000;

export class DeviceRestoreAdapter implements DeviceRestorePort {
  private picked: Picked | null = null;
  private readonly outcomes = new Map<string, { outcome: Outcome; timer: NodeJS.Timeout }>();
  /** Runs whose result was dropped unfetched: said as such (RESULT_EXPIRED), not as an unknown run. */
  private readonly expired = new Set<string>();
  /** How long an unfetched result is kept after its run ended. */
  keepResultMs = RESULT_KEEP_MS;

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
    const held = this.outcomes.get(runId);
    if (!held) {
      if (this.expired.has(runId)) {
        throw new CofferError(
          'RESULT_EXPIRED',
          'The key was restored, but its result was not shown in time and is gone.',
          'Make a new recovery code on the Recovery page: the one made during the restore was not shown.',
        );
      }
      throw new CofferError('NOT_FOUND', 'That restore is not known here.', 'Start the restore again.');
    }
    this.outcomes.delete(runId);
    clearTimeout(held.timer);
    const { outcome } = held;
    if (!outcome.ok) throw plain(outcome.error, 'file');
    const code = outcome.newCode;
    if (!code) return { view: outcome.value, folder: outcome.folder };
    try {
      // The one string of the code: made now, for the window, which shows it once.
      const groups = formatRecoveryCode(code.code).split('-');
      return {
        view: { ...outcome.value, newCode: { groups, keyId: code.keyId, warnings: code.warnings } },
        folder: outcome.folder,
      };
    } finally {
      this.deps.sodium.zero(code.code);
    }
  }

  /** Keeps a run's outcome until fetched or `keepResultMs`, then zeroes what it holds and drops it. */
  private hold(runId: string, outcome: Outcome): void {
    const timer = setTimeout(() => {
      const held = this.outcomes.get(runId);
      if (held?.outcome !== outcome) return;
      this.outcomes.delete(runId);
      this.expired.add(runId);
      if (outcome.ok && outcome.newCode) this.deps.sodium.zero(outcome.newCode.code);
    }, this.keepResultMs);
    // Nothing to wait for at quit: the process's memory goes with it.
    timer.unref();
    this.outcomes.set(runId, { outcome, timer });
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
    const { recovery, runs, rewrap, sodium } = this.deps;
    const wipe = (): void => {
      sodium.zero(secret.kind === 'code' ? secret.code : secret.identity.secretKey);
    };
    return runs.start('rekey', null, async (run) => {
      try {
        const result = await recovery.restoreDevice(picked.file, secret, {
          // The re-wrap comes after the key is restored and the new code made: the secret is not needed any
          // more, and a re-wrap of many files takes minutes. (A used code still opens older key records,
          // such as a folder backup's copy: it stays secret.)
          rewrapRegistered: () => {
            wipe();
            return rewrap({
              signal: run.signal,
              onProgress: ({ filesTotal, filesDone, bytesTotal, bytesDone }) => {
                run.update({ filesTotal, filesDone, bytesTotal, bytesDone });
              },
            });
          },
        });
        this.hold(run.runId, { ok: true, ...view(result), folder: picked.folder });
        this.picked = null;
      } catch (error) {
        this.hold(run.runId, { ok: false, error });
        throw plain(error, picked.source);
      } finally {
        wipe();
      }
    });
  }
}

/** What the window is shown, with the new code as bytes (the result's string is dropped with `result`). */
function view(result: RestoreResult): {
  value: Omit<DeviceRestoreView, 'newCode'>;
  newCode: HeldCode | null;
} {
  const value = {
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
    warnings: result.warnings.map(plainRestoreWarning),
  };
  const made = result.newCode;
  return {
    value,
    newCode: made
      ? { code: parseRecoveryCode(made.code), keyId: made.keyId, warnings: made.warnings.map(plainMessage) }
      : null,
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
