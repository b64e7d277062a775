/**
 * The last complete data audit as the breach report states it (issue 11 items 1 and 3), read back from the
 * authenticated audit trail (audit-log/: hash chain + MAC under a keychain key), never from the scan
 * history in app data: `scans.json` is the user's to edit, so it only feeds the trend the user sees.
 *
 * Each scan records a `data-audit` event with its counts (scanner.ts); the last one of a complete policy scan
 * is the answer, when the whole trail verifies and the scan read every file (else a note with its counts). A trail that does not verify gives no answer but a note: an
 * older scan (before the damage) is never stated instead, or damaging the trail would bring back a cleaner
 * past.
 */
import type { AuditRecord, Details } from '../audit-log/record.js';

/** What the report states of the last audit: the shape of report/collect.ts AuditFacts. */
export interface AttestedFacts {
  readonly at: string;
  readonly filesScanned: number;
  readonly filesWithFindingsOutsideProtected: number;
  readonly findingsOutsideProtected: Readonly<Record<string, number>>;
}

/** `facts`: the last scan; `note`: why none can be stated (the report says so); undefined: none ran. */
export type AttestedScan = AttestedFacts | { readonly note: string } | undefined;

/** The audit trail as this reads it (AuditLog). */
export interface TrailReader {
  verify(options: { readonly keep: (record: AuditRecord) => boolean }): Promise<{
    readonly ok: boolean;
    readonly records: number;
    readonly firstBad?: { readonly problem: string; readonly seq?: number; readonly line?: number };
    /** The records `keep` picked in the verifying pass itself (a second read could be a swapped file). */
    readonly kept?: readonly AuditRecord[];
  }>;
}

const isPolicyScan = (r: AuditRecord): boolean =>
  r.type === 'data-audit' && r.details.scope === 'policy' && r.details.cancelled === false;

/** `name=n` items back to counts; null when one is not of that shape or the list was cut (boundDetails). */
function parseCounts(details: Details, key: string): Record<string, number> | null {
  const list = details[key];
  if (!Array.isArray(list) || details[`${key}NotListed`] !== undefined) return null;
  const counts: Record<string, number> = {};
  for (const item of list as readonly string[]) {
    const at = item.lastIndexOf('=');
    const n = Number(item.slice(at + 1));
    if (at <= 0 || !Number.isSafeInteger(n) || n < 0) return null;
    counts[item.slice(0, at)] = n;
  }
  return counts;
}

function count(details: Details, key: string): number | null {
  const n = details[key];
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/**
 * `required`: the roots the policy asks the audit to cover now (AuditService.requiredRoots); a policy scan
 * that left one out (run with $HOME pointed at empty folders, or before the policy changed) is not stated.
 */
export async function lastAttestedScan(
  trail: TrailReader,
  required: readonly string[] = [],
): Promise<AttestedScan> {
  let verification: Awaited<ReturnType<TrailReader['verify']>>;
  try {
    verification = await trail.verify({ keep: isPolicyScan });
  } catch (error) {
    return {
      note: `the last audit cannot be told: the audit trail could not be checked (${error instanceof Error ? error.message : String(error)})`,
    };
  }
  if (!verification.ok) {
    const where = verification.firstBad?.seq ?? verification.firstBad?.line;
    return {
      note: `the last audit cannot be told: the audit trail does not verify${where === undefined ? '' : ` at record ${where}`} (${verification.firstBad?.problem ?? 'damaged'})`,
    };
  }
  // The records of the verifying pass itself, never a second read of the file.
  const record = verification.kept?.at(-1);
  if (record === undefined) return undefined;
  const d = record.details;
  const filesScanned = count(d, 'filesScanned');
  const outside = count(d, 'unprotectedWithFindings');
  const findings = parseCounts(d, 'findingsUnprotected');
  if (filesScanned === null || outside === null || findings === null) {
    return {
      note: `the last audit (audit trail record ${record.seq}) does not hold the counts the report states; run coffer audit scan`,
    };
  }
  const at = typeof d.finishedAt === 'string' ? d.finishedAt : record.time;
  const covered = Array.isArray(d.roots) ? (d.roots as readonly string[]) : [];
  const missing = required.filter((r) => !covered.includes(r));
  if (missing.length > 0) {
    return {
      note: `the last audit (${at}) did not cover ${missing.join(', ')}, which the policy asks it to scan; run coffer audit scan`,
    };
  }
  // A file the scan could not read (made unreadable, or dressed up as a protected file that then fails
  // authentication) is in no count: stating the counts as the audit's would let it hide data from the report.
  const notRead = count(d, 'skippedErrors');
  if (notRead === null || notRead > 0) {
    const counted = Object.entries(findings).map(([name, n]) => `${name} ${n}`);
    return {
      note: `the last audit (${at}) is incomplete: it could not read ${notRead ?? 'some'} file${notRead === 1 ? '' : 's'} (unreadable, changed while read, or failing authentication); in the files it read, ${outside} in the clear held customer data${counted.length > 0 ? ` (${counted.join(', ')})` : ''}`,
    };
  }
  return {
    at,
    filesScanned,
    filesWithFindingsOutsideProtected: outside,
    findingsOutsideProtected: findings,
  };
}
