/**
 * The machine-wide policy as the rest of Coffer sees it: the current state, change notifications, and small
 * assertions that the services call at their enforcement points (docs/DEPLOYMENT.md "Where policy is enforced").
 *
 * Rules:
 * - Policy wins over user settings.
 * - An invalid or unreadable policy is reported and puts Coffer into its restrictive state: every operation a
 *   policy could forbid is refused with POLICY_INVALID, and encryption is refused too (the policy might have
 *   required a recovery key we can no longer read). It is never replaced by the defaults, which are weaker.
 * - Changes apply without restart: the source's change notification and a polling backstop both trigger a
 *   debounced re-read; listeners hear only real changes.
 */
import path from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import type { Recipient } from '../../../crypto/keys.js';
import { realOrSelf } from '../folders/guard-rails.js';
import { managedKeys, parsePolicy, type Policy, type PolicyKey, type PolicyParseContext } from './schema.js';
import type { PolicyRead, PolicySource } from './sources.js';

export type PolicyState =
  | { status: 'none'; origin: string }
  | { status: 'active'; origin: string; policy: Policy }
  | { status: 'invalid'; origin: string; problems: readonly string[] };

export type PolicyErrorCode = 'POLICY_INVALID' | 'POLICY_FORBIDS' | 'NO_RECOVERY_KEY';

export interface PolicyLog {
  info(message: string): void;
  error(message: string): void;
}

export interface PolicyServiceOptions extends PolicyParseContext {
  readonly source: PolicySource;
  /** Path comparison follows the OS: case-insensitive on Windows and (default APFS) macOS. */
  readonly caseInsensitivePaths: boolean;
  /** Short, for tests; a change notification is followed by a re-read after this many ms. */
  readonly debounceMs?: number;
  /** Polling backstop; 0 disables polling. */
  readonly pollMs?: number;
  readonly log?: PolicyLog;
  /** Recovery key IDs for messages ("3f9a-12bc-0e77-a1d4"); the keys service provides it. */
  readonly describeRecoveryKey?: (publicKey: Uint8Array) => string;
}

export interface ManagedSetting {
  readonly key: PolicyKey;
  readonly value: unknown;
}

const INVALID_HINT =
  'The organization policy on this computer cannot be read, so Coffer refuses operations it might forbid. Contact your IT department; they can run "coffer policy" to see the problem.';

export function policyError(code: PolicyErrorCode, message: string, hint: string): CofferError {
  return new CofferError(code, message, hint);
}

export class PolicyService {
  private current: PolicyState;
  private fingerprint = '';
  private readonly listeners = new Set<(state: PolicyState) => void>();
  private stopWatch: (() => void) | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private debounceTimer: NodeJS.Timeout | null = null;
  private reading: Promise<PolicyState> | null = null;

  constructor(private readonly options: PolicyServiceOptions) {
    this.current = { status: 'none', origin: options.source.origin };
  }

  get state(): PolicyState {
    return this.current;
  }

  /** Reads the policy once and starts following changes. */
  async start(): Promise<PolicyState> {
    const state = await this.reload();
    this.stopWatch =
      this.options.source.watch?.(() => {
        this.scheduleReload();
      }) ?? null;
    const pollMs = this.options.pollMs ?? 30_000;
    if (pollMs > 0) {
      this.pollTimer = setInterval(() => void this.reload(), pollMs);
      this.pollTimer.unref();
    }
    return state;
  }

  stop(): void {
    this.stopWatch?.();
    this.stopWatch = null;
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    if (this.debounceTimer !== null) clearTimeout(this.debounceTimer);
    this.pollTimer = this.debounceTimer = null;
  }

  /** Called with the new state after every real change. Returns an unsubscribe function. */
  onChange(listener: (state: PolicyState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads now. Concurrent calls share one read. */
  reload(): Promise<PolicyState> {
    this.reading ??= this.options.source
      .read()
      .then((read) => this.apply(read))
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }

  private scheduleReload(): void {
    if (this.debounceTimer !== null) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      void this.reload();
    }, this.options.debounceMs ?? 250);
    this.debounceTimer.unref();
  }

  private apply(read: PolicyRead): PolicyState {
    const next = this.evaluate(read);
    const fingerprint = JSON.stringify(next, (_key, value: unknown) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value,
    );
    if (fingerprint === this.fingerprint) return this.current;
    this.fingerprint = fingerprint;
    this.current = next;
    const log = this.options.log;
    if (next.status === 'invalid') {
      log?.error(
        `policy from ${next.origin} is invalid; refusing risky operations: ${next.problems.join('; ')}`,
      );
    } else if (next.status === 'active') {
      log?.info(
        `policy from ${next.origin} applies: ${managedKeys(next.policy).join(', ') || '(no settings)'}`,
      );
    } else {
      log?.info(`no policy at ${next.origin}; defaults and user settings apply`);
    }
    for (const listener of this.listeners) listener(next);
    return next;
  }

  private evaluate(read: PolicyRead): PolicyState {
    if (read.kind === 'absent') return { status: 'none', origin: read.origin };
    if (read.kind === 'unreadable')
      return { status: 'invalid', origin: read.origin, problems: [read.reason] };
    const parsed = parsePolicy(read.values, this.options);
    return parsed.ok
      ? { status: 'active', origin: read.origin, policy: parsed.policy }
      : { status: 'invalid', origin: read.origin, problems: parsed.problems };
  }

  /** The valid policy, or null when there is none; throws POLICY_INVALID when it cannot be trusted. */
  private policyOrThrow(operation: string): Policy | null {
    const state = this.current;
    if (state.status === 'invalid') {
      throw policyError(
        'POLICY_INVALID',
        `Cannot ${operation}: the organization policy (${state.origin}) is invalid: ${state.problems.join('; ')}`,
        INVALID_HINT,
      );
    }
    return state.status === 'active' ? state.policy : null;
  }

  // ---- Queries and enforcement points -------------------------------------------------------------------

  /**
   * The organization recovery keys every new file must be written for (may be empty). Never throws, so
   * screens that list keys keep working with an invalid policy; `requireRecipients` is what refuses to encrypt.
   */
  recoveryRecipients(): Recipient[] {
    const state = this.current;
    const keys = state.status === 'active' ? (state.policy.recoveryPublicKeys ?? []) : [];
    return keys.map((k) => ({ kind: 'recovery', publicKey: k.publicKey }));
  }

  /**
   * The gate before every encryption and rekey: the recipients must include every recovery key the policy
   * deploys, and at least one when the policy requires it. Refusing here is what keeps Coffer from writing
   * files that nobody could recover once the device key is lost.
   */
  requireRecipients(recipients: readonly Recipient[]): void {
    const policy = this.policyOrThrow('encrypt');
    if (policy === null) return;
    const have = recipients.flatMap((r) => (r.kind === 'recovery' ? [Buffer.from(r.publicKey)] : []));
    const required = policy.recoveryPublicKeys ?? [];
    const missing = required.filter((k) => !have.some((h) => h.equals(k.publicKey)));
    if (missing.length > 0) {
      const names = missing.map((k) => this.options.describeRecoveryKey?.(k.publicKey) ?? k.text).join(', ');
      throw policyError(
        'NO_RECOVERY_KEY',
        `Refusing to encrypt: the file would not be written for the organization recovery key ${names}`,
        'This is a bug in the caller: every file must be written for the recovery keys in the policy. Report it.',
      );
    }
    if (policy.requireRecoveryKey === true && required.length === 0) {
      throw policyError(
        'NO_RECOVERY_KEY',
        'Refusing to encrypt: the organization policy requires a recovery key, and none is deployed',
        'Files written now could not be recovered if this computer’s key were lost. Ask IT to deploy the organization recovery public key (recoveryPublicKeys in the policy); nothing was changed.',
      );
    }
  }

  mandatoryFolders(): readonly string[] {
    const state = this.current;
    return state.status === 'active' ? (state.policy.mandatoryFolders ?? []) : [];
  }

  /** Compared by real path: a mandatory folder named through a symlink is the folder it points to. */
  isMandatoryFolder(folder: string): boolean {
    const key = this.pathKey(folder);
    return this.mandatoryFolders().some((m) => this.pathKey(m) === key);
  }

  /** The mandatory folders that are `folder` or inside it (by real path). */
  mandatoryWithin(folder: string): string[] {
    const p = this.options.pathApi ?? path;
    const key = this.pathKey(folder);
    return this.mandatoryFolders().filter((m) => {
      const rel = p.relative(key, this.pathKey(m));
      return rel === '' || (rel !== '..' && !rel.startsWith('..' + p.sep) && !p.isAbsolute(rel));
    });
  }

  /** IT's exclusion globs (kept in the clear in every protected folder); none when the policy is invalid. */
  exclusions(): readonly string[] {
    const state = this.current;
    return state.status === 'active' ? (state.policy.exclude ?? []) : [];
  }

  /**
   * Before the user stops protecting a folder: refused for a mandatory folder and for any folder holding
   * one (protecting a parent absorbs the mandatory folder's entry; removing the parent must not drop it).
   */
  assertCanRemoveFolder(folder: string): void {
    this.policyOrThrow('stop protecting a folder');
    // A subfolder of a mandatory folder (unprotected as an exclusion) is part of it.
    const p = this.options.pathApi ?? path;
    const key = this.pathKey(folder);
    const around = this.mandatoryFolders().find((m) => {
      const rel = p.relative(this.pathKey(m), key);
      return rel !== '' && rel !== '..' && !rel.startsWith('..' + p.sep) && !p.isAbsolute(rel);
    });
    if (around !== undefined) {
      throw policyError(
        'POLICY_FORBIDS',
        `${folder} is inside ${around}, which your organization’s policy requires protected`,
        'This folder is set by your organization. Ask IT if it should no longer be protected.',
      );
    }
    const held = this.mandatoryWithin(folder);
    if (held.length > 0) {
      const self = held.some((m) => this.pathKey(m) === this.pathKey(folder));
      throw policyError(
        'POLICY_FORBIDS',
        self
          ? `${folder} is protected by your organization’s policy and cannot be removed`
          : `${folder} holds ${held.join(', ')}, which your organization’s policy requires protected`,
        'This folder is set by your organization. Ask IT if it should no longer be protected.',
      );
    }
  }

  /** Before decrypting files in place (turning protection off for files or a folder). */
  assertCanUnprotect(): void {
    const policy = this.policyOrThrow('decrypt files in place');
    if (policy?.allowUnprotect === false) {
      throw policyError(
        'POLICY_FORBIDS',
        'Your organization’s policy does not allow decrypting protected files in place',
        'Open the file with Coffer to work on it, or ask IT for an exception.',
      );
    }
  }

  /** Whether the helpdesk tools are on for this computer: only by a valid policy that says so. */
  helpdeskTools(): boolean {
    const state = this.current;
    return state.status === 'active' && state.policy.helpdeskTools === true;
  }

  /** Before any operation of the app's Helpdesk page (loading an organization key, restoring, rekeying). */
  assertHelpdeskTools(): void {
    if (!this.helpdeskTools()) {
      throw policyError(
        'POLICY_FORBIDS',
        'The helpdesk tools are not turned on for this computer',
        'Helpdesk staff use a computer whose policy sets helpdeskTools (docs/DEPLOYMENT.md §5); the `coffer` command works on any computer.',
      );
    }
  }

  /** Before writing a decrypted copy outside a protected folder ("Save a decrypted copy", `coffer decrypt -o`). */
  assertCanDecryptCopy(): void {
    const policy = this.policyOrThrow('save a decrypted copy');
    if (policy?.allowDecryptCopy === false) {
      throw policyError(
        'POLICY_FORBIDS',
        'Your organization’s policy does not allow saving decrypted copies',
        'Open the file with Coffer to work on it; ask IT if you need a copy in the clear.',
      );
    }
  }

  /**
   * The auto-lock delay that applies: the policy's when set, else the user's. With an invalid policy the
   * stricter of the user's value and 5 minutes applies, rather than a possibly weaker user choice.
   */
  autoLockMinutes(userMinutes: number | null): { minutes: number | null; managed: boolean } {
    const state = this.current;
    if (state.status === 'invalid') return { minutes: Math.min(userMinutes ?? 5, 5), managed: true };
    const managed = state.status === 'active' ? state.policy.autoLockMinutes : undefined;
    return managed !== undefined
      ? { minutes: managed, managed: true }
      : { minutes: userMinutes, managed: false };
  }

  /** The audit collector set by policy, if any (undefined when not set or the policy is invalid). */
  auditForward(): string | undefined {
    const state = this.current;
    return state.status === 'active' ? state.policy.auditForward : undefined;
  }

  /** The folder reports go to (docs/REPORT.md §7), if the policy sets one and is valid. */
  reportDir(): string | undefined {
    const state = this.current;
    return state.status === 'active' ? state.policy.reportDir : undefined;
  }

  /** Who employees contact, for the recovery kit (undefined when not set or the policy is invalid). */
  helpdeskContact(): string | undefined {
    const state = this.current;
    return state.status === 'active' ? state.policy.helpdeskContact : undefined;
  }

  /** The update feed set by policy, if any (undefined when the policy does not set one or is invalid). */
  updateUrl(): string | undefined {
    const state = this.current;
    return state.status === 'active' ? state.policy.updateUrl : undefined;
  }

  /** A valid policy that still stops work, said before users meet it (for `coffer policy` and the app). */
  warnings(): string[] {
    const state = this.current;
    if (state.status !== 'active') return [];
    const { policy } = state;
    return policy.requireRecoveryKey === true && (policy.recoveryPublicKeys ?? []).length === 0
      ? [
          'requireRecoveryKey is on but no recoveryPublicKeys are deployed: Coffer refuses to encrypt any file (NO_RECOVERY_KEY) until a recovery public key is added to the policy.',
        ]
      : [];
  }

  /** For the UI ("set by your organization") and `coffer policy`: every managed setting and its value. */
  managedSettings(): ManagedSetting[] {
    const state = this.current;
    if (state.status !== 'active') return [];
    const policy = state.policy;
    return managedKeys(policy).map((key) => ({
      key,
      value:
        key === 'recoveryPublicKeys'
          ? (policy.recoveryPublicKeys ?? []).map(
              (k) => this.options.describeRecoveryKey?.(k.publicKey) ?? k.text,
            )
          : policy[key],
    }));
  }

  private pathKey(folder: string): string {
    const p = this.options.pathApi ?? path;
    // The real path where it exists (the registry keeps real paths), else as written.
    const resolved = realOrSelf(p.resolve(folder), p).replace(/[\\/]+$/, '') || p.sep;
    return this.options.caseInsensitivePaths ? resolved.toLowerCase() : resolved;
  }
}
