/**
 * Which findings may be acted on: a path the last scan listed, still the file it read, reached by the same
 * real folder. The renderer never names an arbitrary file: a path the last scan did not list is refused
 * (NOT_IN_AUDIT), whatever the screen did.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CofferError } from '../../../../crypto/errors.js';
import { realOrSame, within } from './paths.js';
import type { ScanSlot } from './scan-slot.js';
import type { AuditScanner, ScanReportLike } from './scanner-types.js';
import { keptFile, total, type AuditState, type KeptFile } from './store.js';

/** A finding checked for an action: the record, and the file's real path and identity now. */
export interface Checked {
  readonly kept: KeptFile;
  /** The real folder it is in (no link on the way), as it was when the scan listed the file. */
  readonly realDir: string;
  readonly real: string;
  readonly stat: fs.Stats;
}

export function changedSinceAudit(): CofferError {
  return new CofferError(
    'CHANGED_SINCE_AUDIT',
    'That file changed since the data audit.',
    'Run the audit again, then decide.',
  );
}

export function auditRunning(): CofferError {
  return new CofferError(
    'AUDIT_RUNNING',
    'A data audit is running.',
    'Act on the findings when it has finished.',
  );
}

function notInAudit(): CofferError {
  return new CofferError(
    'NOT_IN_AUDIT',
    'That file is not among the last data audit’s findings.',
    'Run the audit again, then act on what it lists.',
  );
}

function gone(): CofferError {
  return new CofferError(
    'NOT_FOUND',
    'That file is no longer there.',
    'It was moved or deleted since the audit; run the audit again.',
  );
}

export class FindingCheck {
  /**
   * The findings this process's own scans listed, each with the real path of its folder then. Only these
   * are acted on as they are: the state file in app data is unauthenticated (another process can write
   * it), so a finding read from it is checked again first (inside the audit roots, read again by the
   * scanner: `reverify`), as DESIGN.md "Guarantees under a hostile, busy machine" asks.
   */
  private trusted = new Map<string, string>();

  constructor(private readonly deps: { scanner: AuditScanner; state: AuditState; slot: ScanSlot }) {}

  /** This process's scan listed these: trusted as they are, each with its folder's real path now. */
  trustScan(files: readonly KeptFile[]): void {
    const realDirs = new Map<string, string>();
    this.trusted = new Map();
    for (const f of files) {
      let real = realDirs.get(f.folder);
      if (real === undefined) {
        real = realOrSame(f.folder);
        realDirs.set(f.folder, real);
      }
      this.trusted.set(f.path, real);
    }
  }

  /** A trusted finding moved (by us) into `realDir`. */
  moved(from: string, to: string, realDir: string): void {
    this.trusted.delete(from);
    this.trusted.set(to, realDir);
  }

  /**
   * The last scan's record of `file` if it is still the file the scan read, reached by the same real
   * folder; throws otherwise. Returns the real path to act on, so a folder on the way swapped for a link
   * after this check is not followed (the path string is not resolved a second time).
   */
  async check(file: string): Promise<Checked> {
    let kept = this.deps.state.last?.files.find((f) => f.path === file);
    if (!kept) throw notInAudit();
    let realDir: string;
    try {
      realDir = fs.realpathSync(path.dirname(file));
    } catch {
      throw gone();
    }
    let scannedIn = this.trusted.get(file);
    if (scannedIn === undefined) {
      kept = await this.reverify(kept, realDir);
      scannedIn = realDir;
    }
    // A folder on the way swapped for a link since the scan: the name now leads to another file.
    if (realDir !== scannedIn) throw changedSinceAudit();
    const real = path.join(realDir, path.basename(file));
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(real);
    } catch {
      throw gone();
    }
    // A link or folder put in its place, or a file written since: not what the user saw in the findings.
    // The size is the file's on disk for both; a protected file's `modified` is its original's (FORMAT.md
    // §5.1 metadata), so only a file in the clear is compared by time too.
    const changed =
      !stat.isFile() ||
      stat.size !== kept.size ||
      (!kept.protected && Math.abs(stat.mtimeMs - kept.modified) >= 1000);
    if (changed) throw changedSinceAudit();
    // Another name for the same data: deleting or moving this name would leave it in the clear there.
    if (stat.nlink > 1) {
      throw new CofferError(
        'HARD_LINK',
        'That file has another name on this disk (a hard link), so its data would stay there.',
        'Find its other name and delete both, or protect them where they are.',
      );
    }
    return { kept, realDir, real, stat };
  }

  /**
   * A finding read from app data (not from this process's scan): acted on only if it is inside the audit
   * roots and the scanner, reading it again now, still finds customer data in it. What the scanner says
   * now replaces what the file in app data said.
   */
  private async reverify(kept: KeptFile, realDir: string): Promise<KeptFile> {
    const roots = this.deps.scanner.policyRoots().map(realOrSame);
    if (!roots.some((root) => within(realDir, root))) throw notInAudit();
    // Read as a scan of its own (one at a time with the user's: the scanner's cache and pool are shared).
    const { report, aborted } = await this.deps.slot.run(auditRunning, async (signal) => {
      const scanned: ScanReportLike = await this.deps.scanner.scan([kept.path], { signal });
      return { report: scanned, aborted: signal.aborted };
    });
    if (report.summary.cancelled || aborted) {
      throw new CofferError('CANCELLED', 'Cancelled.', 'Run the audit again, then act on what it lists.');
    }
    const now = report.files.find((f) => f.path === kept.path);
    if (!now || total(now.findings) === 0) throw changedSinceAudit();
    // Same path (found by it), so what the scanner says now replaces the whole record.
    const fresh = keptFile(now);
    this.deps.state.refresh(fresh);
    this.trusted.set(kept.path, realDir);
    return fresh;
  }
}
