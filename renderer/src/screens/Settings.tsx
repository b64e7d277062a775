import { useState } from 'react';
import type { ErrorInfo, UpdateStatus } from '@shared/contract.js';
import { call, errorInfo } from '../api.js';
import { ActionButton, ErrorNotice, Notice, PageHeader } from '../components.js';
import { useLoad } from '../hooks.js';

const AUTO_LOCK_CHOICES: (number | null)[] = [5, 15, 30, 60, 240, null];

function minutesText(minutes: number | null): string {
  if (minutes === null) return 'Never';
  return minutes < 60 ? `${minutes} minutes` : `${minutes / 60} hour${minutes === 60 ? '' : 's'}`;
}

export function updateText(status: UpdateStatus): string {
  switch (status.state) {
    case 'disabled':
      return `Updates are off: ${status.reason}.`;
    case 'idle':
      return status.lastCheck
        ? `Coffer is up to date (checked ${new Date(status.lastCheck).toLocaleString()}).`
        : 'Not checked yet.';
    case 'checking':
      return 'Checking…';
    case 'downloading':
      return `Downloading version ${status.version}…`;
    case 'ready':
      return `Version ${status.version} is ready: it installs when Coffer quits.`;
    case 'error':
      return `The last check failed: ${status.message}`;
  }
}

/** "Set by your organization": the one marker for every managed value. */
function Managed() {
  return (
    <span className="badge badge-managed" title="Set by your organization">
      <svg className="lock-icon" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
        <path
          d="M4.5 7V5a3.5 3.5 0 0 1 7 0v2h.5a1 1 0 0 1 1 1v6a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1h.5Zm1.5 0h4V5a2 2 0 0 0-4 0v2Z"
          fill="currentColor"
        />
      </svg>
      Set by your organization
    </span>
  );
}

export function Settings() {
  const settings = useLoad(() => call('getSettings', {}), ['settings']);
  const policy = useLoad(() => call('getPolicy', {}), ['settings', 'folders']);
  const [update, setUpdate] = useState<UpdateStatus>();
  const initialUpdate = useLoad(() => call('getUpdateStatus', {}), []);
  const [error, setError] = useState<ErrorInfo>();
  const updateStatus = update ?? initialUpdate.data;
  const autoLock = settings.data?.autoLock;

  return (
    <>
      <PageHeader
        title="Settings"
        lead="How Coffer behaves on this laptop, and what your organization sets."
      />
      <ErrorNotice error={error ?? settings.error ?? policy.error} />
      <section className="card" aria-labelledby="autolock-title">
        <h2 id="autolock-title">Close open files when away</h2>
        <p className="muted">
          Files open for editing are saved back, encrypted and wiped after this much time without use of the
          computer, and always when it sleeps or locks.
        </p>
        {autoLock ? (
          <div className="row">
            <label htmlFor="autolock">After</label>
            <select
              id="autolock"
              value={autoLock.minutes === null ? 'never' : String(autoLock.minutes)}
              disabled={autoLock.managed}
              onChange={(e) => {
                const minutes = e.target.value === 'never' ? null : Number(e.target.value);
                setError(undefined);
                call('setAutoLock', { minutes }).catch((err: unknown) => {
                  setError(errorInfo(err));
                });
              }}
            >
              {[...new Set([...AUTO_LOCK_CHOICES, autoLock.minutes])].map((m) => (
                <option key={m ?? 'never'} value={m === null ? 'never' : String(m)}>
                  {minutesText(m)}
                </option>
              ))}
            </select>
            {autoLock.managed ? <Managed /> : null}
          </div>
        ) : null}
      </section>

      <section className="card" aria-labelledby="updates-title">
        <h2 id="updates-title">Updates</h2>
        <p data-testid="update-status">{updateStatus ? updateText(updateStatus) : '…'}</p>
        <ActionButton
          onError={setError}
          onAction={async () => {
            setError(undefined);
            setUpdate(await call('checkForUpdates', {}));
          }}
        >
          Check for updates
        </ActionButton>
      </section>

      <section className="card" aria-labelledby="policy-title">
        <h2 id="policy-title">Organization policy</h2>
        {policy.data?.status === 'invalid' ? (
          <Notice tone="error" title="The organization policy cannot be used">
            <p>
              Coffer refuses what the policy might forbid until IT fixes it. Read from{' '}
              <span className="path">{policy.data.origin}</span>.
            </p>
            <ul>
              {policy.data.problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          </Notice>
        ) : policy.data?.status === 'none' ? (
          <p className="muted">No policy is set on this computer: your own choices apply.</p>
        ) : policy.data ? (
          <>
            <p className="muted">
              Read from <span className="path">{policy.data.origin}</span>. These settings cannot be changed
              here.
            </p>
            <table className="table" aria-label="Settings managed by your organization">
              <thead>
                <tr>
                  <th scope="col">Setting</th>
                  <th scope="col">Value</th>
                  <th scope="col">
                    <span className="sr-only">Managed</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {policy.data.settings.map((s) => (
                  <tr key={s.key}>
                    <td>{s.label}</td>
                    <td className="path">{s.value}</td>
                    <td>{s.locked ? <Managed /> : null}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : null}
      </section>
    </>
  );
}
