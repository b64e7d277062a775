/**
 * A `.coffer` file the operating system asked Coffer to open (double-click, "Open with", issue 12 item 6).
 * Main inspected it without writing anything (electron/main/open-file.ts); this page shows what it is, and
 * what is wrong with it in plain words with the stable code when it cannot be opened: damaged, for
 * another key (which one, and to ask the helpdesk), or not a Coffer file at all. A good file inside a
 * protected folder opens for editing through the same flow as the Files page (openForEdit).
 */
import { Fragment, useEffect, useState } from 'react';
import type { ErrorInfo, OpenedFileView } from '@shared/contract.js';
import { printable } from '@shared/printable.js';
import { call, errorInfo, onEvent } from '../api.js';
import { ActionButton, ErrorNotice, Notice, PageHeader } from '../components.js';
import { titleFor } from '../explain.js';
import { formatBytes } from '../format.js';

export interface OpenedList {
  /** Newest first; `shown` counts up each time a file comes, so a file opened again is checked again. */
  files: { token: string; name: string; shown: number }[];
  dropped: number;
}

let shownCount = 0;

/**
 * Takes the files main queued (at start, and whenever it says more came) and calls `show` when there are
 * new ones, so the page comes up on its own.
 */
export function useOpenedFiles(show: () => void): OpenedList {
  const [list, setList] = useState<OpenedList>({ files: [], dropped: 0 });
  useEffect(() => {
    let live = true;
    const take = () => {
      call('takeOpenedFiles', {}).then(
        ({ files, dropped }) => {
          if (!live || (files.length === 0 && dropped === 0)) return;
          // A file opened again keeps its token (main): its one card moves to the top and checks anew.
          const again = new Set(files.map((f) => f.token));
          const fresh = [...files].reverse().map((f) => ({ ...f, shown: (shownCount += 1) }));
          setList((old) => ({
            files: [...fresh, ...old.files.filter((f) => !again.has(f.token))],
            dropped: old.dropped + dropped,
          }));
          show();
        },
        () => undefined,
      );
    };
    take();
    const off = onEvent((event) => {
      if (event.type === 'file-opened') take();
    });
    return () => {
      live = false;
      off();
    };
    // `show` navigates; a new function each render must not take again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return list;
}

export function OpenedFile({ list }: { list: OpenedList }) {
  return (
    <>
      <PageHeader
        title="Opened file"
        lead="A Coffer file your computer asked Coffer to open. Checking it changes nothing on disk."
      />
      {list.dropped > 0 ? (
        <Notice tone="warn" title={`${list.dropped} more file(s) were not opened`}>
          <p>Coffer opens at most 20 files at once. Open the others from your file manager again.</p>
        </Notice>
      ) : null}
      {list.files.length === 0 ? (
        <p>No file was opened. Double-click a .coffer file in your file manager to see it here.</p>
      ) : (
        list.files.map((f) => <OpenedCard key={`${f.token}:${f.shown}`} token={f.token} name={f.name} />)
      )}
    </>
  );
}

function OpenedCard({ token, name }: { token: string; name: string }) {
  const [view, setView] = useState<OpenedFileView>();
  const [error, setError] = useState<ErrorInfo>();
  const [done, setDone] = useState<string>();
  useEffect(() => {
    call('inspectOpenedFile', { token }).then(setView, (e: unknown) => {
      setError(errorInfo(e));
    });
  }, [token]);
  const headingId = `opened-${token}`;
  const shown = printable(name);

  return (
    <section className="card opened-file" aria-labelledby={headingId}>
      <h2 id={headingId} className="path">
        {shown}
      </h2>
      <ErrorNotice error={error} />
      {view === undefined && error === undefined ? <p role="status">Checking the file…</p> : null}
      {view ? (
        <>
          <Verdict view={view} />
          <dl className="kv">
            <dt>Original size</dt>
            <dd>{view.originalSize === null ? 'Unknown' : formatBytes(view.originalSize)}</dd>
            <dt>Folder</dt>
            <dd>
              {view.folder ? (
                <span className="path" title={printable(view.folder.path)}>
                  {printable(view.folder.name)} (protected)
                </span>
              ) : (
                'Not in a protected folder'
              )}
            </dd>
            <dt>{view.keyIds.length === 1 ? 'Key' : 'Keys'}</dt>
            <dd>
              {view.keyIds.length === 0
                ? 'None could be read'
                : view.keyIds.map((k, i) => (
                    <Fragment key={`${k.kind}:${k.keyId}`}>
                      {i > 0 ? <br /> : null}
                      <code className="key-id">{k.keyId}</code>{' '}
                      {k.kind === 'recovery' ? '(organization recovery key) ' : ''}
                      {k.onThisDevice ? (
                        <span className="ok-text">on this computer</span>
                      ) : (
                        <span className="muted">not on this computer</span>
                      )}
                    </Fragment>
                  ))}
            </dd>
          </dl>
          {done ? (
            <p role="status" className="ok-text">
              {done}
            </p>
          ) : null}
          <div className="actions">
            {view.folder && view.opensOnThisDevice && !view.problem ? (
              <ActionButton
                variant="primary"
                onError={setError}
                label={`Open for editing: ${shown}`}
                onAction={async () => {
                  const folder = view.folder;
                  if (!folder) return;
                  const s = await call('openForEdit', { folderId: folder.id, relPath: folder.relPath });
                  setDone(
                    s.revealed
                      ? `${printable(s.name)} is a program or script: Coffer shows it in the file manager instead of running it.`
                      : `${printable(s.name)} is open for editing. Save and close it in its app; Coffer protects it again.`,
                  );
                }}
              >
                Open for editing
              </ActionButton>
            ) : null}
            <ActionButton
              onError={setError}
              label={`Show in file manager: ${shown}`}
              onAction={async () => {
                await call('showOpenedFile', { token });
              }}
            >
              Show in file manager
            </ActionButton>
          </div>
          {view.folder === null && view.opensOnThisDevice && !view.problem ? (
            <p className="muted">
              Coffer opens files for editing inside protected folders: move it into one, then open it from
              Files.
            </p>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function Verdict({ view }: { view: OpenedFileView }) {
  const problem = view.problem;
  if (problem) {
    return (
      <Notice tone="error" title={titleFor(problem.code)}>
        <p>{problem.message}</p>
        {problem.hint ? <p>{problem.hint}</p> : null}
        <p className="muted">Code: {problem.code}. Coffer did not change or create any file.</p>
      </Notice>
    );
  }
  return view.integrity === 'verified' ? (
    <Notice tone="ok" title="Intact: every byte was checked">
      <p>This file opens on this computer.</p>
    </Notice>
  ) : (
    <Notice tone="info" title="Opens on this computer">
      <p>It is large, so it was not checked here: opening it checks every byte.</p>
    </Notice>
  );
}
