/**
 * The data audit's findings (issue 11 item 4): each file with customer data, what it holds (counts only),
 * whether it is protected or stale, and an action on it: protect its folder, move it into a protected
 * folder, or delete it. Main does the action (auditAct) and says what it did.
 */
import { useRef } from 'react';
import type { AuditFileView, ErrorInfo, FolderView } from '@shared/contract.js';
import { printable } from '@shared/printable.js';
import { call } from '../../api.js';
import { ActionButton } from '../../components.js';
import { useConfirm } from '../../confirm.js';
import { baseName, describeFindings, totalOf } from './labels.js';

export function FindingsTable({
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
                <FindingActions file={f} name={name} folders={folders} onError={onError} onDone={onDone} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Protect the file's folder, move the file into a protected folder, or delete it; each asks first. */
function FindingActions({
  file,
  name,
  folders,
  onError,
  onDone,
}: {
  file: AuditFileView;
  name: string;
  folders: FolderView[];
  onError: (e: ErrorInfo) => void;
  onDone: (text: string) => void;
}) {
  const ask = useConfirm();
  const moveTo = useRef<string>('');
  return (
    <div className="row-actions">
      {!file.protected ? (
        <ActionButton
          variant="secondary"
          label={`Protect folder of ${name}`}
          onError={onError}
          confirm={{
            title: 'Protect this folder?',
            body: (
              <p>
                Coffer adds <span className="path">{printable(file.folder)}</span> to your protected folders
                and encrypts every file in it, now and later.
              </p>
            ),
            confirmLabel: 'Protect the folder',
          }}
          onAction={async () => {
            const r = await call('auditAct', { action: 'protect-folder', path: file.path });
            onDone(r.done);
          }}
        >
          Protect folder
        </ActionButton>
      ) : null}
      {!file.protected && folders.length > 0 ? (
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
              path: file.path,
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
              The file is deleted from <span className="path">{printable(file.folder)}</span>. It does not go
              to the trash and cannot be brought back by Coffer.
            </p>
          ),
          confirmLabel: 'Delete the file',
          destructive: true,
        }}
        onAction={async () => {
          const r = await call('auditAct', { action: 'delete', path: file.path });
          onDone(r.done);
        }}
      >
        Delete…
      </ActionButton>
    </div>
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
