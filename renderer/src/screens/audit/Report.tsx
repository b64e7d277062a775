/**
 * The last complete audit (issue 11 item 4): summary numbers, the charts, the files to act on (filtered by
 * what needs you, what is stale, or all) and the files that could not be checked.
 */
import type { AuditView, ErrorInfo, FolderView } from '@shared/contract.js';
import { printable } from '@shared/printable.js';
import { Notice } from '../../components.js';
import { plural } from '../../format.js';
import { ByDetectorChart, ByFolderChart, TrendChart } from './charts.js';
import { FindingsTable } from './FindingsTable.js';

export type Show = 'open' | 'stale' | 'all';

export function Report({
  view,
  folders,
  show,
  setShow,
  onError,
  onDone,
}: {
  view: AuditView;
  folders: FolderView[];
  show: Show;
  setShow: (s: Show) => void;
  onError: (e: ErrorInfo) => void;
  onDone: (text: string) => void;
}) {
  const last = view.last;
  if (!last) return null;
  const shown = view.files.filter((f) =>
    show === 'all' ? true : show === 'stale' ? f.stale : !f.protected || f.stale,
  );
  return (
    <>
      <p className="muted audit-when">
        Last audit {new Date(last.at).toLocaleString()}
        {view.retentionDays ? ` · files unchanged for ${view.retentionDays} days count as stale` : ''}
      </p>
      <section className="stats" aria-label="Audit summary">
        <Stat label="Files checked" value={last.filesScanned} />
        <Stat label="With customer data" value={last.filesWithData} />
        <Stat
          label="Not protected"
          value={last.unprotectedWithData}
          tone={last.unprotectedWithData > 0 ? 'warn' : 'ok'}
        />
        <Stat label="Stale" value={last.staleFiles} tone={last.staleFiles > 0 ? 'warn' : 'ok'} />
        {last.skipped > 0 ? <Stat label="Could not be read" value={last.skipped} /> : null}
      </section>
      <div className="audit-charts">
        <ByDetectorChart byDetector={last.byDetector} />
        <ByFolderChart files={view.files} />
        <TrendChart history={view.history} />
      </div>
      <section aria-labelledby="findings-title" className="audit-findings">
        <div className="audit-findings-head">
          <h2 id="findings-title">Files to act on</h2>
          <div role="group" aria-label="Which files" className="segmented">
            {(
              [
                ['open', 'Needs you'],
                ['stale', 'Stale'],
                ['all', 'All'],
              ] as const
            ).map(([value, text]) => (
              <button
                key={value}
                type="button"
                className="btn btn-secondary"
                aria-pressed={show === value}
                onClick={() => {
                  setShow(value);
                }}
              >
                {text}
              </button>
            ))}
          </div>
        </div>
        {shown.length === 0 ? (
          <Notice
            tone="ok"
            title={show === 'stale' ? 'No stale files with customer data' : 'Nothing needs you here'}
          />
        ) : (
          <FindingsTable files={shown} folders={folders} onError={onError} onDone={onDone} />
        )}
        {view.filesNotListed > 0 ? (
          <p className="muted">
            {plural(view.filesNotListed, 'more file')} with customer data not listed here; IT can list them
            all.
          </p>
        ) : null}
      </section>
      {view.skipped.length > 0 ? (
        <details className="file-errors">
          <summary>{plural(view.skipped.length, 'file')} could not be checked</summary>
          <ul>
            {view.skipped.map((s) => (
              <li key={s.path}>
                <span className="path">{printable(s.path)}</span> — {printable(s.reason)}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </>
  );
}

function Stat({ label, value, tone }: { label: string; value: number; tone?: 'ok' | 'warn' }) {
  return (
    <div className={`stat ${tone ? `stat-${tone}` : ''}`}>
      <span className="stat-value">{value.toLocaleString('en-US')}</span>
      <span className="stat-label">{label}</span>
    </div>
  );
}
