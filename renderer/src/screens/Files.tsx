import { useState } from 'react';
import type { ErrorInfo } from '@shared/contract.js';
import { call } from '../api.js';
import { ActionButton, ErrorNotice, Notice, PageHeader } from '../components.js';
import { baseName, formatBytes, formatWhen } from '../format.js';
import { useLoad } from '../hooks.js';
import { printable } from '@shared/printable.js';

/** Browse a protected folder; open a file for editing, decrypt a copy, verify. */
export function Files({
  folderId,
  setFolderId,
}: {
  folderId: string | null;
  setFolderId: (id: string) => void;
}) {
  const folders = useLoad(() => call('listFolders', {}), ['folders']);
  const selected = folderId ?? folders.data?.[0]?.id ?? null;
  const [dir, setDir] = useState('');
  const [error, setError] = useState<ErrorInfo>();
  const [message, setMessage] = useState<string>();
  const entries = useLoad(
    () => (selected ? call('listFiles', { folderId: selected, dir }) : Promise.resolve([])),
    ['folders', 'edits'],
    `${selected ?? ''}/${dir}`,
  );
  const edits = useLoad(() => call('listEdits', {}), ['edits']);
  const folder = folders.data?.find((f) => f.id === selected);
  const crumbs = dir === '' ? [] : dir.split('/');
  const report = (text: string) => {
    setError(undefined);
    setMessage(text);
  };

  return (
    <>
      <PageHeader
        title="Files"
        lead="Open protected files for editing, save decrypted copies, or check a file is intact."
      />
      <div className="toolbar">
        <label htmlFor="folder-select">Folder</label>
        <select
          id="folder-select"
          value={selected ?? ''}
          onChange={(e) => {
            setFolderId(e.target.value);
            setDir('');
          }}
        >
          {folders.data?.map((f) => (
            <option key={f.id} value={f.id} title={printable(f.path)}>
              {/* The name; the full path when two folders share it. */}
              {(folders.data ?? []).filter((o) => baseName(o.path) === baseName(f.path)).length > 1
                ? printable(f.path)
                : printable(baseName(f.path))}
            </option>
          ))}
        </select>
      </div>
      {folders.data?.length === 0 ? (
        <Notice tone="info" title="No protected folders yet">
          <p>Add a folder on the Folders page first.</p>
        </Notice>
      ) : null}
      <ErrorNotice error={error ?? entries.error} />
      {message ? <Notice tone="ok" title={message} /> : null}
      {edits.data && edits.data.length > 0 ? (
        <section className="card" aria-label="Files open for editing">
          <h2>Open for editing</h2>
          <p className="muted">
            A decrypted working copy exists while a file is open. Save and close to encrypt your changes back;
            Lock closes all.
          </p>
          <ul className="plain-list">
            {edits.data.map((e) => (
              <li key={e.id}>
                <span className="path">{printable(e.relPath)}</span>
                <ActionButton
                  variant="primary"
                  onError={setError}
                  onAction={async () => {
                    await call('closeEdit', { editId: e.id });
                    report(`${printable(e.name)} saved and encrypted`);
                  }}
                  label={`Save and close ${e.name}`}
                >
                  Save and close
                </ActionButton>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {folder ? (
        <nav aria-label="Folder path" className="crumbs">
          <button
            type="button"
            className="link"
            title={printable(folder.path)}
            onClick={() => {
              setDir('');
            }}
          >
            {printable(baseName(folder.path))}
          </button>
          {crumbs.map((c, i) => (
            <span key={crumbs.slice(0, i + 1).join('/')}>
              {' / '}
              <button
                type="button"
                className="link"
                onClick={() => {
                  setDir(crumbs.slice(0, i + 1).join('/'));
                }}
              >
                {c}
              </button>
            </span>
          ))}
        </nav>
      ) : null}
      {selected && entries.data ? (
        <table className="table" aria-label="Files in this folder">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Size</th>
              <th scope="col">Changed</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {entries.data.length === 0 ? (
              <tr>
                <td colSpan={5} className="muted">
                  This folder is empty.
                </td>
              </tr>
            ) : null}
            {entries.data.map((e) => (
              <tr key={e.relPath}>
                <td>
                  {e.kind === 'dir' ? (
                    <button
                      type="button"
                      className="link"
                      onClick={() => {
                        setDir(e.relPath);
                      }}
                    >
                      {printable(e.name)}/
                    </button>
                  ) : (
                    <span className="path">{printable(e.name)}</span>
                  )}
                </td>
                <td>
                  {e.kind === 'protected' ? (
                    <span className="pill pill-ok">Encrypted</span>
                  ) : e.kind === 'plaintext' ? (
                    <span className="pill pill-warn">Not encrypted</span>
                  ) : e.kind === 'dir' ? (
                    <span className="muted">Folder</span>
                  ) : (
                    <span className="muted">Skipped</span>
                  )}
                </td>
                <td>{e.kind === 'dir' ? '' : formatBytes(e.size)}</td>
                <td>{formatWhen(e.mtimeMs)}</td>
                <td className="row-actions">
                  {e.kind === 'protected' ? (
                    <>
                      <ActionButton
                        variant="primary"
                        onError={setError}
                        label={`Open ${e.name} for editing`}
                        onAction={async () => {
                          const s = await call('openForEdit', { folderId: selected, relPath: e.relPath });
                          report(
                            s.revealed
                              ? `${printable(s.name)} is a program or script: Coffer shows it in the file manager instead of running it`
                              : `${printable(e.name)} is open for editing`,
                          );
                        }}
                      >
                        Open
                      </ActionButton>
                      <ActionButton
                        onError={setError}
                        label={`Decrypt a copy of ${e.name}`}
                        onAction={async () => {
                          const r = await call('decryptCopy', { folderId: selected, relPath: e.relPath });
                          if (r) report(`Decrypted copy saved to ${r.savedTo}`);
                        }}
                      >
                        Decrypt a copy…
                      </ActionButton>
                      <ActionButton
                        variant="ghost"
                        onError={setError}
                        label={`Verify ${e.name}`}
                        onAction={async () => {
                          const r = await call('verifyFile', { folderId: selected, relPath: e.relPath });
                          report(`${printable(r.name)} is intact (${formatBytes(r.size)})`);
                        }}
                      >
                        Verify
                      </ActionButton>
                    </>
                  ) : null}
                  <ActionButton
                    variant="ghost"
                    onError={setError}
                    label={`Show ${e.name} in the file manager`}
                    onAction={() => call('showInFileManager', { folderId: selected, relPath: e.relPath })}
                  >
                    Show
                  </ActionButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
