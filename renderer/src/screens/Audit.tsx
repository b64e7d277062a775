/**
 * The data audit (issue 11 item 4): where customer data sits on this laptop, shown as charts people would
 * rather look at than read (by kind of data, by folder, over time), the stale files, and an action on each
 * finding. Counts only: the scanner keeps no matched value, so none can reach this screen.
 *
 * Every chart has its numbers as a table too (for screen readers and for reading exact values).
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { AuditFileView, AuditProgress, AuditView, ErrorInfo, FolderView } from '@shared/contract.js';
import { printable } from '@shared/printable.js';
import { ApiError, call, onEvent } from '../api.js';
import { ActionButton, ErrorNotice, Notice, PageHeader } from '../components.js';
import { useConfirm } from '../confirm.js';
import { plural } from '../format.js';
import { useLoad, useSettling } from '../hooks.js';
import './audit.css';

/** The built-in detectors (issue 11 item 1) as people say them: [one, many]. Policy names are shown as is. */
const DETECTOR_LABELS: Record<string, readonly [string, string]> = {
  email: ['e-mail address', 'e-mail addresses'],
  phone: ['phone number', 'phone numbers'],
  iban: ['IBAN', 'IBANs'],
  'payment-card': ['payment card number', 'payment card numbers'],
  'us-ssn': ['US social security number', 'US social security numbers'],
  'uk-nino': ['UK National Insurance number', 'UK National Insurance numbers'],
};

export function detectorLabel(name: string): string {
  const many = DETECTOR_LABELS[name]?.[1];
  return many === undefined ? name : many.charAt(0).toUpperCase() + many.slice(1);
}

/** "3 e-mail addresses", "1 IBAN", "2 × customer-number" (a policy pattern). */
function countOf(name: string, n: number): string {
  const labels = DETECTOR_LABELS[name];
  const count = n.toLocaleString('en-US');
  if (!labels) return `${count} × ${name}`;
  return `${count} ${n === 1 ? labels[0] : labels[1]}`;
}

function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts.at(-1) ?? p;
}

function totalOf(findings: Record<string, number>): number {
  return Object.values(findings).reduce((n, c) => n + c, 0);
}

function describeFindings(findings: Record<string, number>): string {
  return Object.entries(findings)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => countOf(name, n))
    .join(', ');
}

/** The trend's axis: days, or times when the audits so far all fall within two days. */
function pointLabel(at: number, spanMs: number): string {
  return spanMs < 2 * 86_400_000
    ? new Date(at).toLocaleString(undefined, {
        month: 'short',
        day: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
      })
    : new Date(at).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

type Show = 'open' | 'stale' | 'all';

export function Audit() {
  // Reloaded when folders change too: a protect run moves findings out of "in the clear" as it goes.
  const audit = useLoad(() => call('getAudit', {}), ['audit', 'folders']);
  useSettling(audit.data?.protecting ?? 0, audit.reload);
  const folders = useLoad(() => call('listFolders', {}), ['folders']);
  const [progress, setProgress] = useState<AuditProgress | null>(null);
  const [error, setError] = useState<ErrorInfo>();
  const [done, setDone] = useState<string>();
  const [show, setShow] = useState<Show>('open');
  const [running, setRunning] = useState(false);

  useEffect(
    () =>
      onEvent((event) => {
        if (event.type === 'audit-progress') setProgress(event.progress);
      }),
    [],
  );

  const view = audit.data;
  const scanning = running || view?.running === true;

  const run = async (pick: boolean) => {
    setError(undefined);
    setDone(undefined);
    setProgress(null);
    setRunning(true);
    try {
      const result = await call('runAudit', { pick });
      if (result) setDone(`Audit finished: ${plural(result.last?.filesScanned ?? 0, 'file')} checked.`);
    } catch (e) {
      // Cancelling is the user's choice, not a failure: say so, and that the last audit still shows.
      if (e instanceof ApiError && e.code === 'CANCELLED')
        setDone('Audit cancelled. The last complete audit is shown.');
      else throw e;
    } finally {
      setRunning(false);
      setProgress(null);
      audit.reload();
    }
  };

  return (
    <>
      <PageHeader
        title="Data audit"
        lead="Where customer data is on this laptop, whether it is protected, and what has been kept too long."
        actions={
          scanning ? (
            <ActionButton
              variant="secondary"
              onError={setError}
              onAction={() => call('cancelAudit', {})}
              label="Cancel the audit"
            >
              Cancel
            </ActionButton>
          ) : (
            <>
              <ActionButton variant="primary" onError={setError} onAction={() => run(false)}>
                Check now
              </ActionButton>
              <ActionButton variant="secondary" onError={setError} onAction={() => run(true)}>
                Check a folder…
              </ActionButton>
            </>
          )
        }
      />
      <ErrorNotice error={error ?? audit.error} />
      {done ? <Notice tone="ok" title={done} /> : null}
      {scanning ? <ScanProgress progress={progress} /> : null}
      {view && !view.last && !scanning ? (
        <Notice tone="info" title="No audit yet">
          <p>
            “Check now” looks for customer data (e-mail addresses, phone numbers, bank and card numbers, ID
            numbers) in your Desktop, Documents and Downloads and in every protected folder. It keeps only
            counts, never what it found.
          </p>
        </Notice>
      ) : null}
      {view?.last ? (
        <Report
          view={view}
          folders={folders.data ?? []}
          show={show}
          setShow={setShow}
          onError={setError}
          onDone={setDone}
        />
      ) : null}
    </>
  );
}

function ScanProgress({ progress }: { progress: AuditProgress | null }) {
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

function Report({
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
            {plural(view.filesNotListed, 'more file')} with customer data not listed here; the CLI’s `coffer
            audit scan --json` lists them all.
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

/** A chart and the same numbers as a table: the chart is for the eye, the table for reading out. */
function ChartCard({
  id,
  title,
  summary,
  children,
  table,
}: {
  id: string;
  title: string;
  summary: string;
  children: ReactNode;
  table: ReactNode;
}) {
  return (
    <figure className="card audit-chart" aria-labelledby={`${id}-title`} data-chart={id}>
      <figcaption>
        <h2 id={`${id}-title`}>{title}</h2>
        <p className="muted">{summary}</p>
      </figcaption>
      <div className="audit-chart-body" aria-hidden="true">
        {children}
      </div>
      <details>
        <summary>Show as a table</summary>
        {table}
      </details>
    </figure>
  );
}

function ByDetectorChart({ byDetector }: { byDetector: Record<string, number> }) {
  const data = Object.entries(byDetector)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, count]) => ({ name: detectorLabel(name), count }));
  const total = data.reduce((n, d) => n + d.count, 0);
  return (
    <ChartCard
      id="by-detector"
      title="What kind of customer data"
      summary={
        data.length === 0
          ? 'No customer data found.'
          : `${total.toLocaleString('en-US')} items found; most are ${(data[0]?.name ?? '').toLowerCase()}.`
      }
      table={
        <table className="table compact">
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Found</th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.name}>
                <td>{d.name}</td>
                <td>{d.count.toLocaleString('en-US')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <ResponsiveContainer width="100%" height={Math.max(120, data.length * 38 + 40)}>
        <BarChart
          accessibilityLayer={false}
          data={data}
          layout="vertical"
          margin={{ left: 8, right: 24, top: 4, bottom: 4 }}
        >
          <CartesianGrid horizontal={false} />
          <XAxis type="number" allowDecimals={false} />
          <YAxis type="category" dataKey="name" width={190} />
          <Tooltip cursor={false} />
          <Bar
            dataKey="count"
            name="Found"
            className="bar-primary"
            fill="var(--chart-primary)"
            isAnimationActive={false}
          />
        </BarChart>
      </ResponsiveContainer>
    </ChartCard>
  );
}

function ByFolderChart({ files }: { files: AuditFileView[] }) {
  const data = useMemo(() => {
    const by = new Map<string, { folder: string; name: string; open: number; safe: number }>();
    for (const f of files) {
      const row = by.get(f.folder) ?? { folder: f.folder, name: baseName(f.folder), open: 0, safe: 0 };
      if (f.protected) row.safe += 1;
      else row.open += 1;
      by.set(f.folder, row);
    }
    return [...by.values()].sort((a, b) => b.open + b.safe - (a.open + a.safe)).slice(0, 8);
  }, [files]);
  const open = data.reduce((n, d) => n + d.open, 0);
  return (
    <ChartCard
      id="by-folder"
      title="Where it is"
      summary={
        data.length === 0
          ? 'No folder holds customer data.'
          : open === 0
            ? 'Every file with customer data here is protected.'
            : `${plural(open, 'file')} in the clear in these folders.`
      }
      table={
        <table className="table compact">
          <thead>
            <tr>
              <th scope="col">Folder</th>
              <th scope="col">In the clear</th>
              <th scope="col">Protected</th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.folder}>
                <td className="path" title={printable(d.folder)}>
                  {printable(d.name)}
                </td>
                <td>{d.open}</td>
                <td>{d.safe}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <ResponsiveContainer width="100%" height={Math.max(120, data.length * 38 + 60)}>
        <BarChart
          accessibilityLayer={false}
          data={data}
          layout="vertical"
          margin={{ left: 8, right: 24, top: 4, bottom: 4 }}
        >
          <CartesianGrid horizontal={false} />
          <XAxis type="number" allowDecimals={false} />
          <YAxis type="category" dataKey="name" width={150} />
          <Tooltip cursor={false} />
          <Legend />
          <Bar
            dataKey="open"
            name="In the clear"
            stackId="f"
            className="bar-warn"
            fill="var(--chart-warn)"
            isAnimationActive={false}
          />
          <Bar
            dataKey="safe"
            name="Protected"
            stackId="f"
            className="bar-ok"
            fill="var(--chart-ok)"
            isAnimationActive={false}
          />
        </BarChart>
      </ResponsiveContainer>
    </ChartCard>
  );
}

function TrendChart({ history }: { history: AuditView['history'] }) {
  const span = history.length > 1 ? (history.at(-1)?.at ?? 0) - (history[0]?.at ?? 0) : 0;
  const data = history.map((h) => ({
    when: pointLabel(h.at, span),
    at: h.at,
    withData: h.filesWithData,
    open: h.unprotectedWithData,
    stale: h.staleFiles,
  }));
  const first = data[0];
  const last = data.at(-1);
  return (
    <ChartCard
      id="trend"
      title="Over time"
      summary={
        data.length < 2 || !first || !last
          ? 'One audit so far: the trend shows from the next one.'
          : `Files in the clear with customer data: ${first.open} on ${first.when}, ${last.open} now.`
      }
      table={
        <table className="table compact">
          <thead>
            <tr>
              <th scope="col">Audit</th>
              <th scope="col">With customer data</th>
              <th scope="col">In the clear</th>
              <th scope="col">Stale</th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.at}>
                <td>{new Date(d.at).toLocaleString()}</td>
                <td>{d.withData}</td>
                <td>{d.open}</td>
                <td>{d.stale}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <ResponsiveContainer width="100%" height={220}>
        <LineChart accessibilityLayer={false} data={data} margin={{ left: 0, right: 24, top: 8, bottom: 4 }}>
          <CartesianGrid vertical={false} />
          <XAxis dataKey="when" />
          <YAxis allowDecimals={false} width={40} />
          <Tooltip />
          <Legend />
          <Line
            dataKey="withData"
            name="With customer data"
            className="line-primary"
            stroke="var(--chart-primary)"
            isAnimationActive={false}
          />
          <Line
            dataKey="open"
            name="In the clear"
            className="line-warn"
            stroke="var(--chart-warn)"
            isAnimationActive={false}
          />
          <Line
            dataKey="stale"
            name="Stale"
            className="line-muted"
            stroke="var(--chart-muted)"
            strokeDasharray="5 4"
            isAnimationActive={false}
          />
        </LineChart>
      </ResponsiveContainer>
    </ChartCard>
  );
}

function FindingsTable({
  files,
  folders,
  onError,
  onDone,
}: {
  files: AuditFileView[];
  folders: FolderView[];
  onError: (e: ErrorInfo) => void;
  onDone: (text: string) => void;
}) {
  const ask = useConfirm();
  const moveTo = useRef<string>('');
  return (
    <table className="table audit-table" aria-label="Files with customer data">
      <thead>
        <tr>
          <th scope="col">File</th>
          <th scope="col">Holds</th>
          <th scope="col">Last changed</th>
          <th scope="col">State</th>
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {files.map((f) => {
          const name = printable(baseName(f.path));
          return (
            <tr key={f.path}>
              <td>
                <span className="audit-file" title={printable(f.path)}>
                  {name}
                </span>
                <div className="muted audit-folder" title={printable(f.folder)}>
                  in {printable(baseName(f.folder))}
                </div>
              </td>
              <td>
                <span className="audit-total">{totalOf(f.findings).toLocaleString('en-US')}</span>{' '}
                <span className="muted">{describeFindings(f.findings)}</span>
              </td>
              <td>
                {f.modified > 0 ? new Date(f.modified).toLocaleDateString() : '—'}
                {f.stale ? <span className="pill pill-warn audit-stale">Stale</span> : null}
              </td>
              <td>
                <span className={`pill ${f.protected ? 'pill-ok' : 'pill-error'}`}>
                  {f.protected ? 'Protected' : 'In the clear'}
                </span>
              </td>
              <td>
                <div className="row-actions">
                  {!f.protected ? (
                    <ActionButton
                      variant="secondary"
                      label={`Protect folder of ${name}`}
                      onError={onError}
                      confirm={{
                        title: 'Protect this folder?',
                        body: (
                          <p>
                            Coffer adds <span className="path">{printable(f.folder)}</span> to your protected
                            folders and encrypts every file in it, now and later.
                          </p>
                        ),
                        confirmLabel: 'Protect the folder',
                      }}
                      onAction={async () => {
                        const r = await call('auditAct', { action: 'protect-folder', path: f.path });
                        onDone(r.done);
                      }}
                    >
                      Protect folder
                    </ActionButton>
                  ) : null}
                  {!f.protected && folders.length > 0 ? (
                    <ActionButton
                      variant="secondary"
                      label={`Move ${name} into a protected folder`}
                      onError={onError}
                      onAction={async () => {
                        moveTo.current = folders[0]?.id ?? '';
                        const yes = await ask({
                          title: 'Move into a protected folder',
                          body: (
                            <MoveChooser
                              file={name}
                              folders={folders}
                              onChange={(id) => {
                                moveTo.current = id;
                              }}
                            />
                          ),
                          confirmLabel: 'Move and protect',
                        });
                        if (!yes || !moveTo.current) return;
                        const r = await call('auditAct', {
                          action: 'move',
                          path: f.path,
                          folderId: moveTo.current,
                        });
                        onDone(r.done);
                      }}
                    >
                      Move…
                    </ActionButton>
                  ) : null}
                  <ActionButton
                    variant="danger"
                    label={`Delete ${name}`}
                    onError={onError}
                    confirm={{
                      title: `Delete ${name}?`,
                      body: (
                        <p>
                          The file is deleted from <span className="path">{printable(f.folder)}</span>. It
                          does not go to the trash and cannot be brought back by Coffer.
                        </p>
                      ),
                      confirmLabel: 'Delete the file',
                      destructive: true,
                    }}
                    onAction={async () => {
                      const r = await call('auditAct', { action: 'delete', path: f.path });
                      onDone(r.done);
                    }}
                  >
                    Delete…
                  </ActionButton>
                </div>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function MoveChooser({
  file,
  folders,
  onChange,
}: {
  file: string;
  folders: FolderView[];
  onChange: (id: string) => void;
}) {
  return (
    <>
      <p>
        Coffer moves <strong>{file}</strong> into the folder you choose and protects it there.
      </p>
      <label htmlFor="audit-move-to">Protected folder</label>
      <select
        id="audit-move-to"
        defaultValue={folders[0]?.id}
        onChange={(e) => {
          onChange(e.target.value);
        }}
      >
        {folders.map((f) => (
          <option key={f.id} value={f.id} title={printable(f.path)}>
            {printable(f.path)}
          </option>
        ))}
      </select>
    </>
  );
}
