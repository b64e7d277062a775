import { useCallback, useState } from 'react';
import type { DeviceRestoreView, ErrorInfo, FileInspection } from '@shared/contract.js';
import { call } from '../api.js';
import { ActionButton, ErrorNotice, Notice, PageHeader, RunProgress } from '../components.js';
import { explain } from '../explain.js';
import { useLoad, useRuns } from '../hooks.js';
import { RestoreOutcome, RestoreWithKey } from './RestoreKey.js';
import { PrintKitButton } from './RecoveryKit.js';
import { printable } from '@shared/printable.js';
import { baseName } from '../format.js';
import { keyLabel, namesInFolder, problemText } from './helpdesk-files.js';

/**
 * Helpdesk restore: load the organization recovery key file with its passphrase (the loaded key's ID is
 * asked from main, so it shows after navigating), restore a user's device key from a record or a folder
 * backup, or pick files or a folder, see which key IDs open them, then decrypt or rekey them.
 */
export function Helpdesk() {
  const [passphrase, setPassphrase] = useState('');
  /** Asked from main (reloaded on 'helpdesk' changes), so the key shows after navigating away and back. */
  const status = useLoad(() => call('helpdeskStatus', {}), ['helpdesk']);
  const keyId = status.data?.keyId ?? undefined;
  const [restored, setRestored] = useState<DeviceRestoreView>();
  const [files, setFiles] = useState<FileInspection[]>();
  const [runId, setRunId] = useState<string>();
  const [error, setError] = useState<ErrorInfo>();
  const runs = useRuns(useCallback(() => call('getRuns', {}), []));
  const run = runId ? runs.get(runId) : undefined;
  const restorable = files?.filter((f) => f.opensWithLoadedKey) ?? [];
  const protectRun = restored?.protectRunId ? runs.get(restored.protectRunId) : undefined;
  const shown = namesInFolder(files?.map((f) => f.path) ?? []);

  return (
    <>
      <PageHeader
        title="Helpdesk"
        lead="Restore files from another laptop with the organization recovery key."
      />
      <ErrorNotice error={error} />
      <section className="card" aria-labelledby="key-h">
        <h2 id="key-h">1. Organization recovery key</h2>
        {keyId ? (
          <div className="row">
            <p>
              Loaded key <code className="key-id">{keyId}</code>
            </p>
            <ActionButton
              variant="ghost"
              onError={setError}
              onAction={async () => {
                await call('helpdeskUnloadKey', {});
                setFiles(undefined);
              }}
            >
              Unload key
            </ActionButton>
          </div>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
            }}
          >
            <label htmlFor="passphrase">Passphrase of the key file</label>
            <input
              id="passphrase"
              type="password"
              autoComplete="off"
              value={passphrase}
              onChange={(e) => {
                setPassphrase(e.target.value);
              }}
            />
            <p className="muted">You choose the key file next. The passphrase is used once and not kept.</p>
            <ActionButton
              variant="primary"
              disabled={passphrase === ''}
              onError={setError}
              onAction={async () => {
                setError(undefined);
                try {
                  const loaded = await call('helpdeskLoadKey', { passphrase });
                  if (loaded) status.reload();
                } finally {
                  setPassphrase('');
                }
              }}
            >
              Choose key file…
            </ActionButton>
          </form>
        )}
      </section>
      {restored ? <RestoreOutcome view={restored} /> : null}
      {restored?.newCode ? (
        <section className="card code-card" aria-labelledby="newcode-h">
          <h2 id="newcode-h">The user’s new recovery code</h2>
          <Notice tone="warn" title="Shown once">
            <p>The user writes it down now, away from the laptop. Coffer will not show it again.</p>
          </Notice>
          <p className="code" aria-label="New recovery code" data-testid="new-recovery-code">
            {restored.newCode.groups.map((g, i) => (
              <span key={i} className="code-group">
                {g}
              </span>
            ))}
          </p>
          <p>
            Code ID <code className="key-id">{restored.newCode.keyId}</code>. The user confirms it on their
            Recovery page.
          </p>
          <div className="actions">
            <PrintKitButton groups={restored.newCode.groups} keyId={restored.newCode.keyId} />
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => {
                setRestored({ ...restored, newCode: undefined });
              }}
            >
              The user has written it down
            </button>
          </div>
        </section>
      ) : null}
      {protectRun ? (
        <section className="card" aria-label="The restored folder">
          <RunProgress progress={protectRun} label="Protecting the restored folder again" />
        </section>
      ) : null}
      <RestoreWithKey keyLoaded={keyId !== undefined} onRestored={setRestored} />
      <section className="card" aria-labelledby="pick-h">
        <h2 id="pick-h">2. Files to restore</h2>
        <div className="actions">
          <ActionButton
            onError={setError}
            onAction={async () => {
              const f = await call('helpdeskPick', { what: 'files' });
              if (f) setFiles(f);
            }}
          >
            Choose files…
          </ActionButton>
          <ActionButton
            onError={setError}
            onAction={async () => {
              const f = await call('helpdeskPick', { what: 'folder' });
              if (f) setFiles(f);
            }}
          >
            Choose a folder…
          </ActionButton>
        </div>
        {files ? (
          files.length === 0 ? (
            <Notice tone="info" title="No Coffer files found there" />
          ) : (
            <>
              <p className="muted">
                In the folder{' '}
                <span className="path" title={printable(shown.folder)}>
                  {printable(baseName(shown.folder))}
                </span>
              </p>
              <table className="table" aria-label="Files and the keys that open them">
                <thead>
                  <tr>
                    <th scope="col">File</th>
                    <th scope="col">Keys that open it</th>
                    <th scope="col">With the loaded key</th>
                  </tr>
                </thead>
                <tbody>
                  {files.map((f, i) => (
                    <tr key={f.path}>
                      <td className="path" title={printable(f.path)}>
                        {printable(shown.names[i] ?? f.path)}
                      </td>
                      <td>
                        {f.stanzas.map((s) => (
                          <div key={`${s.kind}:${s.keyId}`}>
                            {keyLabel(s)}{' '}
                            <code className={`key-id ${s.keyId === keyId ? 'match' : ''}`}>{s.keyId}</code>
                          </div>
                        ))}
                        {f.error ? (
                          <span className="error-text">
                            {explain(f.error).title}:{' '}
                            {printable(problemText(f.error, f.path, shown.names[i] ?? f.path))}
                          </span>
                        ) : null}
                      </td>
                      <td>
                        {f.opensWithLoadedKey ? (
                          <span className="pill pill-ok">Yes</span>
                        ) : (
                          <span className="pill pill-warn">No</span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )
        ) : null}
      </section>
      <section className="card" aria-labelledby="restore-h">
        <h2 id="restore-h">3. Restore</h2>
        <p className="muted">
          Decrypt writes plain copies to a folder you choose. Rekey lets this device open the files in place,
          rewriting only their headers.
        </p>
        <div className="actions">
          <ActionButton
            variant="primary"
            disabled={!keyId || restorable.length === 0 || run?.state === 'running'}
            onError={setError}
            onAction={async () => {
              const r = await call('helpdeskRestore', {
                paths: restorable.map((f) => f.path),
                mode: 'decrypt',
              });
              if (r) setRunId(r.runId);
            }}
          >
            Decrypt {restorable.length > 0 ? restorable.length : ''} file(s) to…
          </ActionButton>
          <ActionButton
            disabled={!keyId || restorable.length === 0 || run?.state === 'running'}
            onError={setError}
            onAction={async () => {
              const r = await call('helpdeskRestore', {
                paths: restorable.map((f) => f.path),
                mode: 'rekey',
              });
              if (r) setRunId(r.runId);
            }}
          >
            Rekey to this device
          </ActionButton>
        </div>
        {run ? (
          <RunProgress
            progress={run}
            label="Restoring"
            onCancel={() => call('cancelRun', { runId: run.runId })}
          />
        ) : null}
      </section>
    </>
  );
}
