/** An audit under way: how far it has come (a bar that fills once the files are counted). */
import type { AuditProgress } from '@shared/contract.js';
import { plural } from '../../format.js';

export function ScanProgress({ progress }: { progress: AuditProgress | null }) {
  const total = progress?.filesTotal ?? null;
  const percent = progress && total ? Math.min(100, Math.round((progress.filesDone / total) * 100)) : null;
  return (
    <div className="run audit-progress" data-audit-state="running">
      <div className="run-line">
        <span className="run-label">Checking files for customer data</span>
        <span className="run-state">{percent === null ? 'Listing files…' : `${percent}%`}</span>
      </div>
      {percent === null ? (
        <progress aria-label="Audit progress" />
      ) : (
        <progress max={100} value={percent} aria-label="Audit progress" />
      )}
      {progress ? (
        <div className="run-line muted">
          {progress.filesDone.toLocaleString('en-US')}
          {total ? ` of ${plural(total, 'file')}` : ' files'}
        </div>
      ) : null}
    </div>
  );
}
