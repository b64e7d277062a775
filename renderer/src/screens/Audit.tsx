/**
 * The data audit (issue 11 item 4): where customer data sits on this laptop, shown as charts people would
 * rather look at than read (by kind of data, by folder, over time), the stale files, and an action on each
 * finding. Counts only: the scanner keeps no matched value, so none can reach this screen.
 *
 * Every chart has its numbers as a table too (for screen readers and for reading exact values): see
 * audit/ChartCard.tsx. The parts live in audit/: the report (Report.tsx), its charts (charts.tsx), the
 * findings and their actions (FindingsTable.tsx), the progress of a run (ScanProgress.tsx).
 */
import { useEffect, useState } from 'react';
import type { AuditProgress, ErrorInfo } from '@shared/contract.js';
import { ApiError, call, onEvent } from '../api.js';
import { ActionButton, ErrorNotice, Notice, PageHeader } from '../components.js';
import { plural } from '../format.js';
import { useLoad, useSettling } from '../hooks.js';
import { Report, type Show } from './audit/Report.js';
import { ScanProgress } from './audit/ScanProgress.js';
import './audit.css';

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
