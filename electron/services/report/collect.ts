/**
 * Gathers the body of a report (docs/REPORT.md §6) from the services, with the counts `coffer status` shows:
 * folders/clear-state.ts for protected and in the clear, keys/rotation.ts recoveryCoverage for "not
 * recoverable by IT". Key IDs, paths and counts only: no secret, no file content, no file name in a folder.
 */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import type { Recipient } from '../../../crypto/keys.js';
import { leavesPlaintext, WAITING } from '../folders/clear-state.js';
import { GUARD_CODES, realOrSelf } from '../folders/guard-rails.js';
import type { FolderStatus } from '../folders/folder-service.js';
import type { DeviceKeyList } from '../keys/device-key.js';
import { currentRecoveryKeyIds, type RecoveryCoverage } from '../keys/rotation.js';
import type { PolicyService } from '../policy/policy-service.js';
import type { ScanSummary } from '../audit/types.js';
import type { Json } from './canonical.js';
import { withoutUrlSecrets } from './redact.js';
import { seenClear } from '../../shared/clear-split.js';
import type { ReportBody } from './report-file.js';

export type ReportReason = ReportBody['reason'];

/** What the data audit (issue 11 item 1) found the last time, outside protected folders; undefined: none ran. */
export interface AuditFacts {
  readonly at: string;
  readonly filesScanned: number;
  readonly filesWithFindingsOutsideProtected: number;
  readonly findingsOutsideProtected: Readonly<Record<string, number>>;
}

export const NO_AUDIT_NOTE = 'no audit run yet';

/**
 * The data audit's last complete policy scan (audit/scanner.ts lastScan) as the report states it: files in
 * the clear with customer data, wherever they are, and their counts per detector (never a value).
 */
export function auditFactsFrom(scan: ScanSummary | undefined): AuditFacts | undefined {
  if (scan === undefined) return undefined;
  return {
    at: scan.finishedAt,
    filesScanned: scan.filesScanned,
    filesWithFindingsOutsideProtected: scan.unprotectedWithFindings,
    findingsOutsideProtected: scan.findingsUnprotected,
  };
}

export interface ReportSources {
  readonly sodium: SodiumBackend;
  readonly appVersion: string;
  readonly hostname: string;
  readonly user: string;
  readonly platform: string;
  readonly deviceKeys: { list(): Promise<DeviceKeyList> };
  readonly trustedKeys: { publicKeys(): Uint8Array[] };
  readonly policy: Pick<
    PolicyService,
    'state' | 'recoveryRecipients' | 'managedSettings' | 'mandatoryFolders' | 'isMandatoryFolder'
  >;
  /** The status of every protected folder (FolderService.status / statusAsync). */
  readonly folders: () => Promise<readonly FolderStatus[]>;
  /** Files no current organization recovery key opens (RotationService.coverage). */
  readonly coverage: (folder: string) => RecoveryCoverage;
  /** Whether a mandatory folder is covered by a protected folder (FolderRegistry.covering). */
  readonly isProtected: (folder: string) => boolean;
  readonly auditTrail: () => Promise<{ records: number; verified: boolean }>;
  /**
   * The last data audit, read from the authenticated audit trail (audit/attested-scan.ts), never from the
   * editable scan history; `note`: why it cannot be told (a trail that does not verify).
   */
  readonly lastScan?: () => Promise<AuditFacts | { readonly note: string } | undefined>;
  /**
   * Why a protected folder cannot be seen (the app's FolderPresence: gone or swapped for a symlink, its drive
   * not mounted), or null. Without it such a folder was reported like any other: its unreadable root as a
   * file in the clear, or the rest of it as all protected.
   */
  readonly presence?: (folder: string) => Promise<Unavailable | null>;
  readonly now?: () => Date;
}

/** A folder Coffer cannot see (FolderView['unavailable'], electron/main/folder-presence.ts). */
export type Unavailable = 'missing' | 'not-mounted';

function policyRecipients(policy: ReportSources['policy']): Recipient[] {
  try {
    return policy.recoveryRecipients();
  } catch {
    return []; // an invalid policy: its state and problems are in the report
  }
}

async function deviceFacts(sources: ReportSources): Promise<ReportBody['device']> {
  const base = { hostname: sources.hostname, user: sources.user, platform: sources.platform };
  try {
    const list = await sources.deviceKeys.list();
    return {
      ...base,
      deviceKeyId: list.current?.keyId ?? null,
      deviceKeyState: list.current?.state ?? 'none',
      readOnlyDeviceKeyIds: list.readOnly.map((k) => k.keyId),
    };
  } catch {
    return { ...base, deviceKeyId: null, deviceKeyState: 'unreadable', readOnlyDeviceKeyIds: [] };
  }
}

/** In-the-clear files by reason code, from the full skip list (the named list is capped; counts are not). */
function byReason(status: FolderStatus): Record<string, number> {
  const reasons: Record<string, number> = {};
  if (status.plaintextFiles > 0) reasons[WAITING] = status.plaintextFiles;
  for (const issue of status.skipped) {
    if (leavesPlaintext(issue)) reasons[issue.code] = (reasons[issue.code] ?? 0) + 1;
  }
  return reasons;
}

const RULE_CODES: ReadonlySet<string> = new Set(Object.values(GUARD_CODES));

/**
 * Entries left in the clear by rule, by reason (§6): a hidden file, a subfolder the user unprotected
 * (EXCLUDED, one entry however many files it holds), IT's exclusions; LITTER for OS litter and lock files.
 * They are plain on disk: without them "0 in the clear" would hide an unprotected subfolder of customers.
 */
function excludedByReason(status: FolderStatus): Record<string, number> {
  const reasons: Record<string, number> = {};
  let byRule = 0;
  for (const issue of status.skipped) {
    if (!RULE_CODES.has(issue.code)) continue;
    reasons[issue.code] = (reasons[issue.code] ?? 0) + 1;
    byRule++;
  }
  const litter = status.protection.excluded - byRule;
  if (litter > 0) reasons.LITTER = litter;
  return reasons;
}

function folderFacts(
  sources: ReportSources,
  status: FolderStatus,
  unavailable: Unavailable | null,
): ReportBody['folders'][number] {
  const coverage = sources.coverage(status.path);
  // Only what is the folder's own (clear-split seenClear, as the app and `coffer status` count): a gone
  // folder's count is its unreadable root, a not-mounted one's own root read error is no file.
  const own =
    unavailable === 'missing' ? [] : status.skipped.filter((i) => !unavailable || i.path !== status.path);
  const seen: FolderStatus = {
    ...status,
    skipped: own,
    plaintextFiles: unavailable === 'missing' ? 0 : status.plaintextFiles,
  };
  const clear = seenClear(status.path, status.protection, unavailable);
  return {
    path: status.path,
    mandatory: sources.policy.isMandatoryFolder(status.path),
    ...(unavailable ? { unavailable } : {}),
    protected: status.protection.protectedFiles,
    inTheClear: clear.inTheClearFiles,
    inTheClearByReason: byReason(seen),
    excluded: status.protection.excluded,
    excludedByReason: excludedByReason(status),
    notRecoverableByIt: coverage.notRecoverable,
    headersUnreadable: coverage.unreadable,
    retiredKeyStanzas: coverage.retiredKeyStanzas,
    leftovers: status.leftovers,
    lastRun:
      status.lastRun === null
        ? null
        : {
            op: status.lastRun.op,
            at: new Date(status.lastRun.at).toISOString(),
            outcome: status.lastRun.outcome,
          },
  };
}

function policyFacts(sources: ReportSources, fromPolicy: readonly string[]): ReportBody['policy'] {
  const state = sources.policy.state;
  const managed: Record<string, Json> = {};
  for (const setting of sources.policy.managedSettings()) {
    // Recovery keys by key ID (FORMAT.md §2.1), as everywhere else in the report; URLs without their
    // credentials or query (a share is read by many; redact.ts).
    managed[setting.key] =
      setting.key === 'recoveryPublicKeys'
        ? [...fromPolicy]
        : typeof setting.value === 'string'
          ? withoutUrlSecrets(setting.value)
          : (setting.value as Json);
  }
  return {
    status: state.status,
    origin: state.origin,
    problems: state.status === 'invalid' ? [...state.problems] : [],
    managed,
  };
}

export async function collectReport(sources: ReportSources, reason: ReportReason): Promise<ReportBody> {
  const { sodium } = sources;
  const recipients = policyRecipients(sources.policy);
  const trusted = sources.trustedKeys.publicKeys();
  const fromPolicy = currentRecoveryKeyIds(sodium, [], recipients);
  const registered = (await sources.folders()).filter((s) => s.registered);
  const absent = await Promise.all(
    registered.map((s) => sources.presence?.(s.path) ?? Promise.resolve(null)),
  );
  const folders = registered.map((s, i) => folderFacts(sources, s, absent[i] ?? null));
  const unavailable = folders.filter((f) => f.unavailable !== undefined).length;
  const scan = await sources.lastScan?.();
  let auditTrail: ReportBody['auditTrail'];
  try {
    auditTrail = await sources.auditTrail();
  } catch {
    auditTrail = { records: 0, verified: false };
  }
  return {
    createdAt: (sources.now?.() ?? new Date()).toISOString(),
    reason,
    app: { version: sources.appVersion },
    device: await deviceFacts(sources),
    recoveryKeys: {
      current: currentRecoveryKeyIds(sodium, trusted, recipients),
      fromPolicy,
      trustedByUser: currentRecoveryKeyIds(sodium, trusted, []),
    },
    folders,
    // As `coffer status` asks: the registry keeps real paths.
    mandatoryNotProtected: sources.policy
      .mandatoryFolders()
      .filter((m) => !sources.isProtected(realOrSelf(m))),
    totals: {
      folders: folders.length,
      protected: folders.reduce((n, f) => n + f.protected, 0),
      inTheClear: folders.reduce((n, f) => n + f.inTheClear, 0),
      excluded: folders.reduce((n, f) => n + f.excluded, 0),
      notRecoverableByIt: folders.reduce((n, f) => n + f.notRecoverableByIt, 0),
      ...(unavailable ? { unavailable } : {}),
    },
    audit:
      scan === undefined
        ? { state: 'none', note: NO_AUDIT_NOTE }
        : 'note' in scan
          ? { state: 'none', note: scan.note }
          : { state: 'done', ...scan, findingsOutsideProtected: { ...scan.findingsOutsideProtected } },
    auditTrail,
    policy: policyFacts(sources, fromPolicy),
  };
}
