/**
 * The app's data audit (issue 11 item 4) over the audit scanner (electron/services/audit/): runs one scan
 * at a time, keeps the last scan's findings and one small summary per scan (the trend) in app data, and
 * acts on a finding only when its path is one the last scan reported and the file is still the one it
 * read. The renderer never names an arbitrary file to delete: a path it sends that the last scan did not
 * list is refused here (NOT_IN_AUDIT), whatever the screen did.
 *
 * Nothing here holds a matched value: the scanner reports counts per detector only (types.ts).
 *
 * By job, in audit/: the state file (store.ts), which findings may be acted on (findings.ts), the view and
 * trend (report.ts), moving a file without replacing one (move.ts), one scan at a time (scan-slot.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import { toCofferError } from '../../services/fs-errors.js';
import { defaultProbe, type OpenFileProbe } from '../../services/safe-file/busy.js';
import type { AuditProgress, AuditView } from '../../shared/contract.js';
import type { AuditAction, AuditPort, FoldersPort } from '../ports.js';
import { FindingCheck, auditRunning } from './audit/findings.js';
import { moveInto } from './audit/move.js';
import { realOrSame, within } from './audit/paths.js';
import { summaryOf, viewOf } from './audit/report.js';
import { ScanSlot } from './audit/scan-slot.js';
import type { AuditScanner } from './audit/scanner-types.js';
import { AuditState, keptScan } from './audit/store.js';

export { freeName, moveNoClobber } from './audit/move.js';
export type { AuditScanner, ScanReportLike, ScanSummaryLike } from './audit/scanner-types.js';

export interface AuditAdapterDeps {
  scanner: AuditScanner;
  folders: Pick<FoldersPort, 'list' | 'add' | 'protect'>;
  /** The app-data file of the last findings and the per-scan summaries (0600). */
  file: string;
  /** Who holds a file open (safe-file/busy.ts); the platform's by default. */
  probe?: OpenFileProbe;
  onProgress?: (progress: AuditProgress) => void;
  now?: () => number;
}

export class AuditAdapter implements AuditPort {
  private readonly state: AuditState;
  private readonly slot = new ScanSlot();
  private readonly findings: FindingCheck;
  private readonly now: () => number;
  private probe: OpenFileProbe | undefined;
  /** One action at a time: a double click must not race a move against itself. */
  private acting: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: AuditAdapterDeps) {
    this.now = deps.now ?? Date.now;
    this.state = new AuditState(deps.file);
    this.findings = new FindingCheck({ scanner: deps.scanner, state: this.state, slot: this.slot });
  }

  view(): AuditView {
    this.state.settle();
    return viewOf(this.state.last, this.deps.scanner.scans(), this.slot.busy, this.now);
  }

  scan(paths: string[] | undefined): Promise<AuditView> {
    const busy = () =>
      new CofferError(
        'AUDIT_RUNNING',
        'A data audit is already running.',
        'Wait for it to finish, or cancel it.',
      );
    return this.slot.run(busy, async (signal) => {
      const report = await this.deps.scanner.scan(paths, {
        signal,
        onProgress: (p) => {
          this.deps.onProgress?.({
            filesDone: p.filesDone,
            filesTotal: p.filesTotal > 0 ? p.filesTotal : null,
            bytesDone: p.bytesDone,
          });
        },
      });
      if (report.summary.cancelled || signal.aborted) {
        throw new CofferError(
          'CANCELLED',
          'The data audit was cancelled.',
          'The last complete audit is still shown.',
        );
      }
      const last = keptScan(report, summaryOf(report.summary, this.now));
      this.findings.trustScan(last.files);
      this.state.record(last);
      return this.view();
    });
  }

  cancel(): boolean {
    return this.slot.cancel();
  }

  /**
   * DESIGN.md: never remove a plaintext another process holds open. A program writing it later would
   * write into a deleted file (or, after a move across disks, into the old copy): its edits lost. Not
   * asked for "Protect folder": its run checks each file itself.
   */
  private assertNotHeld(file: string, real: string, stat: fs.Stats): void {
    const probe = this.deps.probe ?? (this.probe ??= defaultProbe());
    const holder = probe.holders([{ dev: stat.dev, ino: stat.ino, real }]).get(0);
    if (holder) {
      throw new CofferError(
        'IN_USE',
        `${path.basename(file)} is open in ${holder.name} (process ${holder.pid}).`,
        'Close it there, then try again.',
      );
    }
  }

  act(request: AuditAction): Promise<{ done: string; runId?: string }> {
    const run = this.acting.then(
      () => this.actNow(request),
      () => this.actNow(request),
    );
    this.acting = run.catch(() => undefined);
    return run;
  }

  private async actNow(request: AuditAction): Promise<{ done: string; runId?: string }> {
    if (this.slot.busy) throw auditRunning();
    const { kept, realDir, real, stat } = await this.findings.check(request.path);
    if (request.action !== 'protect-folder') this.assertNotHeld(kept.path, real, stat);
    if (request.action === 'delete') {
      try {
        fs.unlinkSync(real);
      } catch (error) {
        throw toCofferError(error, kept.path);
      }
      this.state.forget((f) => f.path !== kept.path, true);
      return { done: `Deleted ${path.basename(kept.path)}.` };
    }
    if (kept.protected) {
      throw new CofferError(
        'ALREADY_PROTECTED',
        'That file is protected already.',
        'Delete it if it is no longer needed.',
      );
    }
    if (request.action === 'protect-folder') {
      // The folder the file was found in, by its real path now (checked above), never the stored one.
      const covering = (await this.deps.folders.list()).find((f) => within(realDir, realOrSame(f.path)));
      // The real protect path: add the folder to Coffer (guard rails and policy apply) and run protect.
      const folder = covering ?? (await this.deps.folders.add(realDir));
      const { runId } = await this.deps.folders.protect(folder.id);
      // Its findings in the clear leave the list as the run protects them (settle), not now.
      const root = realOrSame(folder.path);
      const started = this.state.last?.files
        .filter((f) => !f.protected && within(realOrSame(f.folder), root))
        .map((f) => f.path);
      this.state.markPending(started ?? []);
      return { done: `Protecting ${folder.path}.`, runId };
    }
    const target = (await this.deps.folders.list()).find((f) => f.id === request.folderId);
    if (!target) {
      throw new CofferError('NOT_FOUND', 'That folder is not in Coffer.', 'Refresh the folder list.');
    }
    // The registry holds real paths: one that resolves elsewhere now (the folder or a parent swapped for
    // a link) would take the file out of the protected tree.
    let targetDir: string;
    try {
      targetDir = fs.realpathSync(target.path);
    } catch (error) {
      throw toCofferError(error, target.path);
    }
    if (targetDir !== path.resolve(target.path) || !fs.lstatSync(targetDir).isDirectory()) {
      throw new CofferError(
        'NOT_A_FOLDER',
        `${target.path} is no longer the protected folder (it leads somewhere else).`,
        'Check the folder on the Folders screen.',
      );
    }
    const destination = moveInto(real, targetDir, path.basename(kept.path), stat);
    // Listed at its new place, in the clear, until the folder's run protects it.
    this.findings.moved(kept.path, destination, targetDir);
    this.state.relocate(kept.path, destination);
    // Then the folder's protect run, the same one the Folders screen starts (the watcher may be first).
    const { runId } = await this.deps.folders.protect(target.id);
    return {
      done: `Moved ${path.basename(kept.path)} into ${target.path} as ${path.basename(destination)}; protecting it.`,
      runId,
    };
  }
}
