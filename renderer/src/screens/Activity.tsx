/**
 * What happened on this laptop (issue 11 item 2, issue 12 item 6): a readable table with filters by kind,
 * dates and text, and an export of exactly the rows the filters keep (main writes it through the save
 * dialog, with the same rules: electron/shared/activity-view.ts). Main lists the entries in plain
 * language already (folder paths, not IDs; words, not errno).
 */
import { useMemo, useState } from 'react';
import type { ActivityCategory, ActivityEntry, ActivityFilter, ErrorInfo } from '@shared/contract.js';
import {
  CATEGORY_LABELS,
  UNVERIFIED_TEXT,
  actionLabel,
  categoryOf,
  matchesFilter,
  outcomeText,
} from '@shared/activity-view.js';
import { printable } from '@shared/printable.js';
import { call } from '../api.js';
import { ActionButton, ErrorNotice, Notice, PageHeader } from '../components.js';
import { plural } from '../format.js';
import { useLoad } from '../hooks.js';
import { Field, FilterInput } from './activity/FilterField.js';
import './audit.css';

const PAGE = 50;

function isPath(text: string): boolean {
  return /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(text);
}

function Target({ text }: { text: string }) {
  if (!isPath(text)) return <span>{printable(text)}</span>;
  const parts = text.split(/[\\/]/).filter(Boolean);
  const name = parts.at(-1) ?? text;
  const dir = text.slice(0, Math.max(0, text.length - name.length - 1));
  return (
    <span title={printable(text)}>
      <span className="activity-name">{printable(name)}</span>
      {dir ? <span className="muted activity-detail">in {printable(dir)}</span> : null}
    </span>
  );
}

/** `yyyy-mm-dd` of a date input as local midnight (start) or the day's last millisecond (end). */
function dayBound(value: string, end: boolean): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const at = new Date(`${value}T${end ? '23:59:59.999' : '00:00:00'}`).getTime();
  return Number.isFinite(at) ? at : undefined;
}

export function Activity() {
  const { data, error } = useLoad(() => call('listActivity', {}), ['activity']);
  // The tamper-evident audit trail behind the security events (issue 11 item 2): does it still verify?
  const trail = useLoad(() => call('verifyActivity', {}), ['activity']);
  const [category, setCategory] = useState<ActivityCategory | ''>('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [text, setText] = useState('');
  const [format, setFormat] = useState<'csv' | 'jsonl'>('csv');
  const [limit, setLimit] = useState(PAGE);
  const [exportError, setExportError] = useState<ErrorInfo>();
  const [saved, setSaved] = useState<string>();

  const filter: ActivityFilter = useMemo(
    () => ({
      ...(category ? { category } : {}),
      ...(dayBound(from, false) !== undefined ? { from: dayBound(from, false) } : {}),
      ...(dayBound(to, true) !== undefined ? { to: dayBound(to, true) } : {}),
      ...(text.trim() ? { text: text.trim() } : {}),
    }),
    [category, from, to, text],
  );
  const shown = useMemo(() => (data ?? []).filter((e) => matchesFilter(e, filter)), [data, filter]);
  const filtered = Object.keys(filter).length > 0;
  // A changed filter shows its first page again.
  const refilter =
    <T,>(set: (value: T) => void) =>
    (value: T) => {
      set(value);
      setLimit(PAGE);
    };

  return (
    <>
      <PageHeader title="Activity" lead="What happened on this laptop, newest first, and how it ended." />
      <ErrorNotice error={error ?? exportError} />
      {trail.data && !trail.data.ok ? (
        <Notice tone="error" title="The audit trail was changed outside Coffer">
          <p>{printable(trail.data.problem ?? '')}</p>
          <p>
            Someone edited, removed or reordered security events on this laptop. Tell IT: they can check the
            record on this laptop too.
          </p>
        </Notice>
      ) : null}
      {saved ? <Notice tone="ok" title={saved} /> : null}
      <form
        className="activity-filters"
        aria-label="Filter activity"
        onSubmit={(e) => {
          e.preventDefault();
        }}
      >
        <Field id="activity-kind" label="Kind">
          <select
            id="activity-kind"
            value={category}
            onChange={(e) => {
              refilter(setCategory)(e.target.value as ActivityCategory | '');
            }}
          >
            <option value="">Everything</option>
            {(Object.keys(CATEGORY_LABELS) as ActivityCategory[]).map((c) => (
              <option key={c} value={c}>
                {CATEGORY_LABELS[c]}
              </option>
            ))}
          </select>
        </Field>
        <FilterInput id="activity-from" label="From" type="date" value={from} onChange={refilter(setFrom)} />
        <FilterInput id="activity-to" label="To" type="date" value={to} onChange={refilter(setTo)} />
        <FilterInput
          id="activity-text"
          label="Search"
          type="search"
          placeholder="File, folder, action…"
          value={text}
          onChange={refilter(setText)}
        />
        <div className="activity-export">
          <Field id="activity-format" label="Export as">
            <select
              id="activity-format"
              value={format}
              onChange={(e) => {
                setFormat(e.target.value === 'jsonl' ? 'jsonl' : 'csv');
              }}
            >
              <option value="csv">CSV (spreadsheet)</option>
              <option value="jsonl">JSON lines</option>
            </select>
          </Field>
          <ActionButton
            variant="secondary"
            onError={setExportError}
            disabled={shown.length === 0}
            onAction={async () => {
              setExportError(undefined);
              setSaved(undefined);
              const r = await call('exportActivity', { format, filter });
              if (r) setSaved(`Exported ${plural(r.entries, 'entry', 'entries')} to ${printable(r.savedTo)}`);
            }}
          >
            Export…
          </ActionButton>
        </div>
      </form>
      {data ? (
        <p className="muted activity-count" aria-live="polite">
          {filtered
            ? `${plural(shown.length, 'entry', 'entries')} of ${data.length.toLocaleString('en-US')} match`
            : plural(data.length, 'entry', 'entries')}
          {trail.data?.ok && trail.data.records > 0
            ? ` · security events are on the audit trail, which verifies (${plural(trail.data.records, 'record')}, none edited, removed or reordered)`
            : ''}
        </p>
      ) : null}
      {data?.length === 0 ? <Notice tone="info" title="Nothing yet" /> : null}
      {data && data.length > 0 && shown.length === 0 ? (
        <Notice tone="info" title="No entry matches these filters" />
      ) : null}
      {shown.length > 0 ? (
        <table className="table activity-table" aria-label="Recent activity">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">On</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {shown.slice(0, limit).map((a) => (
              <Row key={a.id} entry={a} />
            ))}
          </tbody>
        </table>
      ) : null}
      {shown.length > limit ? (
        <button
          type="button"
          className="btn btn-secondary"
          onClick={() => {
            setLimit((n) => n + PAGE);
          }}
        >
          Show {Math.min(PAGE, shown.length - limit)} more
        </button>
      ) : null}
    </>
  );
}

function Row({ entry: a }: { entry: ActivityEntry }) {
  return (
    <tr>
      <td>
        <time dateTime={new Date(a.at).toISOString()}>{new Date(a.at).toLocaleString()}</time>
      </td>
      <td className="activity-what" title={CATEGORY_LABELS[categoryOf(a.action)]}>
        {actionLabel(a.action)}
      </td>
      <td>
        <Target text={a.target} />
        {a.detail ? <span className="activity-detail">{printable(a.detail)}</span> : null}
      </td>
      <td>
        <span
          className={`pill ${a.outcome === 'ok' ? 'pill-ok' : a.outcome === 'error' ? 'pill-error' : 'pill-warn'}`}
        >
          {outcomeText(a.outcome)}
        </span>
        {a.unverified ? (
          <span
            className="pill pill-warn"
            title="The Activity file says this happened, but the tamper-evident audit trail does not hold it."
          >
            {UNVERIFIED_TEXT}
          </span>
        ) : null}
      </td>
    </tr>
  );
}
