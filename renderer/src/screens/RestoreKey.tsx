/**
 * Restoring a device key (issue 12 item 5): the key record is picked in main and described here (key IDs
 * and date, never a path), then the user types their recovery code into one auto-formatting field, or the
 * helpdesk restores with the loaded organization key. The restore runs in main as `coffer restore-device`
 * does; its re-wrap is shown as a run, and its outcome (with the new code, shown once) is fetched once.
 */
import { useCallback, useId, useState } from 'react';
import type { DeviceRestoreView, ErrorInfo, EscrowRecordView } from '@shared/contract.js';
import { call, errorInfo } from '../api.js';
import { ErrorNotice, Notice, RunProgress } from '../components.js';
import { formatWhen } from '../format.js';
import { useRuns } from '../hooks.js';
import { GROUPS, groupState } from '../recoveryCode.js';

/** What the picked record restores: its key ID, the code that opens it, its date. */
export function RecordSummary({ record }: { record: EscrowRecordView }) {
  const when = Date.parse(record.createdAt);
  const foreign = record.filesTotal > 0 && record.filesUsingKey === 0;
  return (
    <div className="record-summary" data-testid="record-summary">
      <dl className="kv">
        <dt>Key record</dt>
        <dd>{record.source === 'app' ? 'On this computer' : `From “${record.name}”`}</dd>
        <dt>Device key ID</dt>
        <dd>
          <code className="key-id">{record.deviceKeyId}</code>
        </dd>
        <dt>Recovery code ID</dt>
        <dd>
          <code className="key-id">{record.codeKeyId}</code>
        </dd>
        <dt>Made</dt>
        <dd>{Number.isNaN(when) ? 'unknown' : formatWhen(when)}</dd>
        {record.filesTotal > 0 ? (
          <>
            <dt>Your protected files it opens</dt>
            <dd>
              {record.filesUsingKey.toLocaleString('en-US')} of {record.filesTotal.toLocaleString('en-US')}
            </dd>
          </>
        ) : null}
      </dl>
      {foreign ? (
        <Notice tone="warn" title="None of the protected files here use this key">
          <p>
            This record may be for another computer or another person. Check the device key ID with the
            helpdesk before you go on.
          </p>
        </Notice>
      ) : null}
    </div>
  );
}

/**
 * A decimal digit of any script as 0-9: an input method in full-width mode types １２３, an Arabic or
 * Persian keyboard ١٢٣ / ۱۲۳. Unicode encodes each script's ten digits in one run from its zero, so a
 * digit's value is its distance from the start of its run (runs that touch, as in U+1D7CE…, count by 10).
 */
function asciiDigits(text: string): string {
  return text.replace(/\p{Nd}/gu, (digit) => {
    const at = digit.codePointAt(0) ?? 0;
    let start = at;
    while (start > 0 && /\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
    return String((at - start) % 10);
  });
}

/** Digits only (of any script, as 0-9), at most 48, shown in groups of six joined by dashes. */
export function formatCodeInput(text: string): string {
  const digits = asciiDigits(text)
    .replace(/\D/g, '')
    .slice(0, GROUPS * 6);
  return (digits.match(/\d{1,6}/g) ?? []).join('-');
}

/** The groups typed so far and the numbers (1..8) of complete groups that cannot be right. */
export function codeGroupsOf(text: string): { groups: string[]; typos: number[]; complete: boolean } {
  const groups = formatCodeInput(text)
    .split('-')
    .filter((g) => g !== '');
  const states = groups.map(groupState);
  const typos = states.flatMap((s, i) => (s === 'typo' ? [i + 1] : []));
  return { groups, typos, complete: groups.length === GROUPS && states.every((s) => s === 'ok') };
}

/** One field for the whole code: dashes are added as you type; a mistyped group is named at once. */
export function CodeField({
  value,
  onChange,
  label,
}: {
  value: string;
  onChange: (value: string) => void;
  label: string;
}) {
  const id = useId();
  const { typos, groups } = codeGroupsOf(value);
  return (
    <div className="code-field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        className="code-single"
        inputMode="numeric"
        autoComplete="off"
        spellCheck={false}
        placeholder="123456-234567-…"
        value={value}
        aria-invalid={typos.length > 0}
        aria-describedby={`${id}-help`}
        onChange={(e) => {
          onChange(formatCodeInput(e.target.value));
        }}
      />
      <p id={`${id}-help`} className={typos.length > 0 ? 'field-error' : 'muted'} aria-live="polite">
        {typos.length === 1
          ? `Group ${typos[0]} is mistyped: check it against your written code.`
          : typos.length > 1
            ? `Groups ${typos.join(', ')} are mistyped: check them against your written code.`
            : `8 groups of 6 digits; ${groups.length} of 8 typed.`}
      </p>
    </div>
  );
}

/** The restore's run, then its outcome (fetched once). */
function useRestoreRun(onDone: (view: DeviceRestoreView) => void, onError: (e: ErrorInfo) => void) {
  const [runId, setRunId] = useState<string>();
  const runs = useRuns(useCallback(() => call('getRuns', {}), []));
  const start = async (started: Promise<{ runId: string }>) => {
    const { runId: id } = await started;
    setRunId(id);
    call('deviceRestoreResult', { runId: id }).then(onDone, (e: unknown) => {
      onError(errorInfo(e));
    });
  };
  return { run: runId ? runs.get(runId) : undefined, start };
}

/** "Restore my key with my recovery code": pick the record, type the code, restore. */
export function RestoreWithCode({
  onRestored,
  onCancel,
}: {
  onRestored: (view: DeviceRestoreView) => void;
  onCancel: () => void;
}) {
  const [record, setRecord] = useState<EscrowRecordView>();
  const [code, setCode] = useState('');
  const [error, setError] = useState<ErrorInfo>();
  const [busy, setBusy] = useState(false);
  const { run, start } = useRestoreRun(
    (view) => {
      setCode('');
      onRestored(view);
    },
    (e) => {
      setBusy(false);
      setError(e);
    },
  );
  const { complete } = codeGroupsOf(code);
  const pick = (from: 'app' | 'file') => {
    setError(undefined);
    call('pickRestoreRecord', { from }).then(
      (r) => {
        if (r) setRecord(r);
      },
      (e: unknown) => {
        setRecord(undefined);
        setError(errorInfo(e));
      },
    );
  };
  return (
    <section className="card" aria-labelledby="restore-code-h">
      <h2 id="restore-code-h">Restore my key with my recovery code</h2>
      <p>
        If this computer lost its key (a new laptop, a reset account or keychain), your recovery code brings
        it back. Your files then open again, and you get a new code: the one you type here stops working.
      </p>
      <ErrorNotice error={error} />
      <h3>1. The key record</h3>
      <p className="muted">
        Coffer keeps one on this computer, and a copy named <code>.coffer-escrow.json</code> in each protected
        folder and its backups.
      </p>
      <div className="actions">
        <button
          type="button"
          className="btn btn-secondary"
          disabled={busy}
          onClick={() => {
            pick('app');
          }}
        >
          Use the record on this computer
        </button>
        <button
          type="button"
          className="btn btn-secondary"
          disabled={busy}
          onClick={() => {
            pick('file');
          }}
        >
          Choose a record file…
        </button>
      </div>
      {record ? <RecordSummary record={record} /> : null}
      {record ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (!complete || busy) return;
            setError(undefined);
            setBusy(true);
            // The code goes to main once; the field is cleared whatever the answer.
            const groups = codeGroupsOf(code).groups;
            setCode('');
            start(call('restoreDeviceWithCode', { groups })).catch((err: unknown) => {
              setBusy(false);
              setError(errorInfo(err));
            });
          }}
        >
          <h3>2. Your recovery code</h3>
          <p className="muted">
            Its code ID, written beside it, should be <code className="key-id">{record.codeKeyId}</code>.
          </p>
          <CodeField value={code} onChange={setCode} label="Recovery code" />
          <div className="actions">
            <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={!complete || busy}>
              Restore my key
            </button>
          </div>
        </form>
      ) : (
        <div className="actions">
          <button type="button" className="btn btn-ghost" onClick={onCancel}>
            Cancel
          </button>
        </div>
      )}
      {run ? (
        <RunProgress progress={run} label="Restoring your key and moving your files to the new key" />
      ) : null}
    </section>
  );
}

/** The helpdesk's device restore with the loaded organization key: a record file or a folder backup. */
export function RestoreWithKey({
  keyLoaded,
  onRestored,
}: {
  keyLoaded: boolean;
  onRestored: (view: DeviceRestoreView) => void;
}) {
  const [record, setRecord] = useState<EscrowRecordView>();
  const [error, setError] = useState<ErrorInfo>();
  const [busy, setBusy] = useState(false);
  const { run, start } = useRestoreRun(
    (view) => {
      setBusy(false);
      setRecord(undefined);
      onRestored(view);
    },
    (e) => {
      setBusy(false);
      setError(e);
    },
  );
  const pick = (picked: Promise<EscrowRecordView | null>) => {
    setError(undefined);
    picked.then(
      (r) => {
        if (r) setRecord(r);
      },
      (e: unknown) => {
        setRecord(undefined);
        setError(errorInfo(e));
      },
    );
  };
  return (
    <section className="card" aria-labelledby="device-h">
      <h2 id="device-h">Restore a device key</h2>
      <p className="muted">
        For a new laptop or a reset account: the user’s key comes back from its record (read-only), a new key
        writes from now on, their files move to the new key and they get a new recovery code. From a folder
        backup, the folder is protected again afterwards (HELPDESK.md, procedure E).
      </p>
      <ErrorNotice error={error} />
      <div className="actions">
        <button
          type="button"
          className="btn btn-secondary"
          disabled={busy}
          onClick={() => {
            pick(call('pickRestoreRecord', { from: 'file' }));
          }}
        >
          Choose a record file…
        </button>
        <button
          type="button"
          className="btn btn-secondary"
          disabled={busy}
          onClick={() => {
            pick(call('helpdeskPickBackup', {}));
          }}
        >
          Choose a folder backup…
        </button>
      </div>
      {record ? (
        <>
          <RecordSummary record={record} />
          <p>
            Opens with organization keys:{' '}
            {record.sealedTo.length > 0
              ? record.sealedTo.map((k) => (
                  <code key={k} className="key-id">
                    {k}
                  </code>
                ))
              : 'none'}
          </p>
          <div className="actions">
            <button
              type="button"
              className="btn btn-primary"
              disabled={!keyLoaded || busy}
              onClick={() => {
                setBusy(true);
                setError(undefined);
                start(call('helpdeskRestoreDevice', {})).catch((err: unknown) => {
                  setBusy(false);
                  setError(errorInfo(err));
                });
              }}
            >
              Restore with the loaded key
            </button>
            {!keyLoaded ? <span className="muted">Load the organization key first.</span> : null}
          </div>
        </>
      ) : null}
      {run ? (
        <RunProgress progress={run} label="Restoring the key and moving the files to the new key" />
      ) : null}
    </section>
  );
}

/** What a restore did, in words. */
export function RestoreOutcome({ view }: { view: DeviceRestoreView }) {
  return (
    <Notice
      tone={view.warnings.length > 0 || (view.rewrap?.failed ?? 0) > 0 ? 'warn' : 'ok'}
      title="The key is back: your files open again"
    >
      <p>
        Restored key <code className="key-id">{view.restoredKeyId}</code> (it only opens files now). New files
        are written with key <code className="key-id">{view.deviceKeyId}</code>.
        {view.rewrap && view.rewrap.filesTotal > 0
          ? ` ${view.rewrap.rewrapped.toLocaleString('en-US')} of ${view.rewrap.filesTotal.toLocaleString('en-US')} protected files now use the new key.`
          : ''}
      </p>
      {view.warnings.length > 0 ? (
        <ul>
          {view.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      ) : null}
    </Notice>
  );
}
