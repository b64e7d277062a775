import { useCallback, useEffect, useState } from 'react';
import type { ErrorInfo } from '@shared/contract.js';
import { call } from '../api.js';
import { ActionButton, ErrorNotice, Notice, PageHeader, RunProgress } from '../components.js';
import { baseName, formatBytes, formatWhen, plural, runOutcomeText } from '../format.js';
import { useLoad, useRuns } from '../hooks.js';
import { folderFromHash } from '../screens.js';
import { printable } from '@shared/printable.js';
import { plainMessage } from '@shared/plain-words.js';

export function Folders({ browse }: { browse: (folderId: string) => void }) {
  const folders = useLoad(() => call('listFolders', {}), ['folders']);
  const runs = useRuns(useCallback(() => call('getRuns', {}), []));
  const [error, setError] = useState<ErrorInfo>();
  const onError = setError;
  // The tray and its "files stay in the clear" notification open #/folders/<id>: that folder's card is shown.
  const [target, setTarget] = useState(() => folderFromHash(window.location.hash));
  useEffect(() => {
    const onHash = () => {
      setTarget(folderFromHash(window.location.hash));
    };
    window.addEventListener('hashchange', onHash);
    return () => {
      window.removeEventListener('hashchange', onHash);
    };
  }, []);
  const loaded = folders.data !== undefined;
  useEffect(() => {
    if (target !== null && loaded)
      document.getElementById(`folder-${target}`)?.scrollIntoView({ block: 'start' });
  }, [target, loaded]);

  return (
    <>
      <PageHeader
        title="Folders"
        lead="Every file in these folders is encrypted in place and stays encrypted."
        actions={
          <ActionButton
            variant="primary"
            onError={onError}
            onAction={async () => {
              setError(undefined);
              // Adding a folder protects it: what is already there is encrypted now, with progress on its card.
              const added = await call('addFolder', {});
              if (added !== null) await call('protectFolder', { folderId: added.id });
            }}
          >
            Add folder…
          </ActionButton>
        }
      />
      <ErrorNotice error={error ?? folders.error} />
      {folders.data?.length === 0 ? (
        <Notice tone="info" title="No protected folders yet">
          <p>
            Add the folders where you keep customer files. Coffer encrypts what is there and everything you
            add later.
          </p>
        </Notice>
      ) : null}
      <ul className="folder-list" aria-label="Protected folders">
        {folders.data?.map((f) => {
          const latest = [...runs.values()].filter((r) => r.folderId === f.id).pop();
          const running = f.runningRunId !== null || latest?.state === 'running';
          return (
            <li
              key={f.id}
              id={`folder-${f.id}`}
              className="card folder"
              aria-label={f.path}
              aria-current={f.id === target ? 'true' : undefined}
            >
              <div className="folder-head">
                <div>
                  <h2 className="path" title={printable(f.path)}>
                    {printable(baseName(f.path))}
                  </h2>
                  <p className="muted">
                    {plural(f.protectedFiles, 'file')} protected ({formatBytes(f.protectedBytes)})
                    {f.unavailable ? (
                      // Coffer cannot see its files (FolderView.unavailable): never "all files protected".
                      <strong className="warn-text">
                        {' '}
                        ·{' '}
                        {f.unavailable === 'not-mounted'
                          ? 'not available: its drive is not connected'
                          : 'cannot be found'}
                      </strong>
                    ) : f.inTheClearFiles > 0 ? (
                      <strong className="warn-text">
                        {' '}
                        · {plural(f.inTheClearFiles, 'file')} in the clear
                      </strong>
                    ) : (
                      ' · all files protected'
                    )}
                    {f.notRecoverableFiles ? (
                      <strong className="warn-text">
                        {' '}
                        · {plural(f.notRecoverableFiles, 'file')} not recoverable by IT
                      </strong>
                    ) : null}
                    {f.lastRun
                      ? ` · last run ${formatWhen(f.lastRun.at)}, ${runOutcomeText(f.lastRun.outcome)}`
                      : ''}
                    {f.mandatory ? (
                      <span className="badge" title="Set by your organization">
                        Required by your organization
                      </span>
                    ) : null}
                  </p>
                  {f.inTheClear.some((c) => c.code !== 'WAITING') ? (
                    <ul className="clear-list" aria-label={`In the clear in ${f.path}`}>
                      {f.inTheClear
                        .filter((c) => c.code !== 'WAITING')
                        .slice(0, 10)
                        .map((c) => (
                          <li key={c.path}>
                            <span className="path">{printable(c.path)}</span> —{' '}
                            {printable(plainMessage(c.message))}
                            {c.hint ? <span className="muted"> {plainMessage(c.hint)}</span> : null}
                          </li>
                        ))}
                    </ul>
                  ) : null}
                </div>
                <div className="actions">
                  <button
                    type="button"
                    className="btn btn-ghost"
                    onClick={() => {
                      browse(f.id);
                    }}
                  >
                    Browse
                  </button>
                  <ActionButton
                    variant="ghost"
                    onError={onError}
                    label={`Show in file manager: ${f.path}`}
                    onAction={() => call('showInFileManager', { folderId: f.id, relPath: '' })}
                  >
                    Show in file manager
                  </ActionButton>
                  <ActionButton
                    variant="primary"
                    disabled={running}
                    onError={onError}
                    onAction={() => call('protectFolder', { folderId: f.id })}
                    label={`Protect now ${f.path}`}
                  >
                    Protect now
                  </ActionButton>
                  <ActionButton
                    disabled={running || f.mandatory}
                    onError={onError}
                    label={`Unprotect ${f.path}`}
                    confirm={{
                      title: 'Unprotect this folder?',
                      body: (
                        <p>
                          Every file in <span className="path">{printable(f.path)}</span> is decrypted in
                          place and Coffer stops protecting the folder. Anyone with this laptop can then read
                          them.
                        </p>
                      ),
                      confirmLabel: 'Decrypt and unprotect',
                      destructive: true,
                    }}
                    onAction={() => call('unprotectFolder', { folderId: f.id })}
                  >
                    Unprotect
                  </ActionButton>
                  <ActionButton
                    variant="danger"
                    disabled={running || f.mandatory}
                    onError={onError}
                    label={`Remove ${f.path}`}
                    confirm={{
                      title: 'Remove this folder from Coffer?',
                      body: (
                        <p>
                          Coffer stops watching <span className="path">{printable(f.path)}</span>. Files
                          already encrypted stay encrypted; new files saved there stay in the clear.
                        </p>
                      ),
                      confirmLabel: 'Remove folder',
                      destructive: true,
                    }}
                    onAction={() => call('removeFolder', { folderId: f.id })}
                  >
                    Remove
                  </ActionButton>
                </div>
              </div>
              {latest ? (
                <RunProgress
                  progress={latest}
                  label={latest.kind === 'unprotect' ? 'Unprotecting' : 'Protecting'}
                  onCancel={() => call('cancelRun', { runId: latest.runId })}
                />
              ) : null}
            </li>
          );
        })}
      </ul>
    </>
  );
}
