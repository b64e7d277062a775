/**
 * KeysPort over the keys services (electron/services/keys): keychain status, recovery readiness, the
 * personal recovery code (make → shown once → confirm), the escrow export, and the organization recovery
 * keys the user trusts (FORMAT.md §11.2 lines; keys from the policy stay locked). Whether a code was confirmed
 * is remembered here by its key ID (the settings schema has no field for it; see the report).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CofferError, isCofferError } from '../../../crypto/errors.js';
import { formatKeyId, parseKeyId, recoveryKeyId } from '../../../crypto/keys.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import type { DeviceKeyService } from '../../services/keys/device-key.js';
import type { RecoveryService } from '../../services/keys/recovery-service.js';
import { parsePublicKey } from '../../services/keys/public-key-text.js';
import { parseRecoveryCode } from '../../services/keys/recovery-code.js';
import type { TrustedRecoveryKeys } from '../../services/keys/trusted-keys.js';
import { writeFileAtomic } from '../../services/settings.js';
import type {
  IssuedCodeView,
  KeychainStatus,
  RecoveryKeyPreview,
  RecoveryStatus,
} from '../../shared/contract.js';
import type { KeysPort } from '../ports.js';
import { plainMessage } from '../../shared/plain-words.js';

interface CodeState {
  keyId: string;
  madeAt: number;
  confirmed: boolean;
}

export interface KeysAdapterDeps {
  sodium: SodiumBackend;
  deviceKeys: DeviceKeyService;
  recovery: RecoveryService;
  trustedKeys: TrustedRecoveryKeys;
  /** Recovery keys deployed by policy: shown as "set by your organization". */
  policyRecoveryKeys: () => { keyId: string; label: string }[];
  /** Where the code's confirmed state is kept (app data). */
  stateFile: string;
}

export class KeysAdapter implements KeysPort {
  constructor(private readonly deps: KeysAdapterDeps) {}

  async keychainStatus(): Promise<KeychainStatus> {
    try {
      return { ok: true, deviceKeyId: await this.deps.deviceKeys.deviceKeyId() };
    } catch (error) {
      if (isCofferError(error))
        return { ok: false, problem: plainMessage(`${error.message}. ${error.hint}`.trim()) };
      throw error;
    }
  }

  async recoveryStatus(): Promise<RecoveryStatus> {
    const deviceKeyId = await this.deps.deviceKeys
      .deviceKeyId()
      .catch(() => this.deps.deviceKeys.recordedDeviceKeyId() ?? null);
    const fromPolicy = this.deps.policyRecoveryKeys();
    const policyIds = new Set(fromPolicy.map((k) => k.keyId));
    const trusted = [
      ...fromPolicy.map((k) => ({ ...k, source: 'policy' as const })),
      ...this.deps.trustedKeys
        .list()
        .filter((k) => !policyIds.has(k.keyId))
        .map((k) => ({ keyId: k.keyId, label: k.label ?? '', source: 'user' as const })),
    ];
    const code = this.codeState();
    let current: string | null;
    try {
      current = this.deps.recovery.readEscrow().code.keyId;
    } catch (error) {
      // No record yet means no code; a damaged record is an error the user must see.
      if (!isCofferError(error, 'NO_ESCROW')) throw error;
      current = null;
    }
    const personalCode: RecoveryStatus['personalCode'] =
      current === null
        ? { state: 'none' }
        : code?.keyId === current
          ? { state: code.confirmed ? 'confirmed' : 'unconfirmed', keyId: current, madeAt: code.madeAt }
          : { state: 'unconfirmed', keyId: current };
    return { deviceKeyId, trustedRecoveryKeys: trusted, personalCode };
  }

  async makeRecoveryCode(): Promise<IssuedCodeView> {
    const issued = await this.deps.recovery.issueCode();
    this.saveCodeState({ keyId: issued.keyId, madeAt: Date.now(), confirmed: false });
    return {
      groups: issued.code.split('-'),
      keyId: issued.keyId,
      warnings: issued.warnings.map(plainMessage),
    };
  }

  async confirmRecoveryCode(groups: string[]): Promise<void> {
    const code = parseRecoveryCode(groups.join('-'));
    try {
      const { keyId } = await this.deps.recovery.confirmCode(code);
      const state = this.codeState();
      this.saveCodeState({
        keyId,
        madeAt: state?.keyId === keyId ? state.madeAt : Date.now(),
        confirmed: true,
      });
    } finally {
      code.fill(0);
    }
  }

  exportEscrow(toPath: string): Promise<void> {
    this.deps.recovery.exportEscrow(toPath);
    return Promise.resolve();
  }

  previewRecoveryKey(line: string): Promise<RecoveryKeyPreview> {
    const { sodium } = this.deps;
    const keyId = formatKeyId(recoveryKeyId(sodium, parsePublicKey(sodium, line)));
    const trusted = this.deps.policyRecoveryKeys().some((k) => k.keyId === keyId)
      ? 'policy'
      : this.deps.trustedKeys.list().some((k) => k.keyId === keyId)
        ? 'user'
        : 'no';
    return Promise.resolve({ keyId, trusted });
  }

  trustRecoveryKey(line: string, label?: string): Promise<{ keyId: string; added: boolean }> {
    const { entry, added } = this.deps.trustedKeys.trust(line, label === '' ? undefined : label);
    return Promise.resolve({ keyId: entry.keyId, added });
  }

  untrustRecoveryKey(keyIdText: string): Promise<{ keyId: string }> {
    const id = parseKeyId(keyIdText);
    // A key the policy deploys stays whatever the user's list says: untrusting it here would change nothing.
    if (id && this.deps.policyRecoveryKeys().some((k) => k.keyId === formatKeyId(id))) {
      return Promise.reject(
        new CofferError(
          'POLICY_LOCKED',
          `Recovery key ${formatKeyId(id)} is set by your organization.`,
          'Ask IT if it should no longer be used.',
        ),
      );
    }
    return Promise.resolve({ keyId: this.deps.trustedKeys.untrust(keyIdText).keyId });
  }

  private codeState(): CodeState | null {
    try {
      const parsed = JSON.parse(fs.readFileSync(this.deps.stateFile, 'utf8')) as Partial<CodeState>;
      return typeof parsed.keyId === 'string' && typeof parsed.madeAt === 'number'
        ? { keyId: parsed.keyId, madeAt: parsed.madeAt, confirmed: parsed.confirmed === true }
        : null;
    } catch {
      return null;
    }
  }

  private saveCodeState(state: CodeState): void {
    fs.mkdirSync(path.dirname(this.deps.stateFile), { recursive: true, mode: 0o700 });
    writeFileAtomic(this.deps.stateFile, JSON.stringify(state) + '\n');
  }
}
