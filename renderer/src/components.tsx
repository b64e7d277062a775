/** The few shared UI pieces: page header, notices, progress with counts/bytes/ETA, buttons that await. */
import { useState, type ReactNode } from 'react';
import type { ErrorInfo, FileError, Progress } from '@shared/contract.js';
import { errorInfo } from './api.js';
import { useConfirm, type ConfirmOptions } from './confirm.js';
import { explain, titleFor } from './explain.js';
import { formatBytes, formatEta, plural, progressPercent } from './format.js';
import { printable } from '@shared/printable.js';
import { plainMessage } from '@shared/plain-words.js';

export function PageHeader({ title, lead, actions }: { title: string; lead?: string; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1 tabIndex={-1} id="page-title">
          {title}
        </h1>
        {lead ? <p className="lead">{lead}</p> : null}
      </div>
      {actions ? <div className="actions">{actions}</div> : null}
    </header>
  );
}

export function Notice({
  tone,
  title,
  children,
}: {
  tone: 'ok' | 'warn' | 'error' | 'info';
  title: string;
  children?: ReactNode;
}) {
  return (
    <div className={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      <strong>{title}</strong>
      {children ? <div className="notice-body">{children}</div> : null}
    </div>
  );
}

export function ErrorNotice({ error }: { error: ErrorInfo | undefined }) {
  if (!error) return null;
  const { title, text } = explain(error);
  return (
    <Notice tone="error" title={title}>
      <p>{text}</p>
      <p className="muted">Code: {error.code}</p>
    </Notice>
  );
}

/**
 * A button that runs an async action, disables itself meanwhile and reports failures through onError.
 * With `confirm`, it asks first in the app's dialog (confirm.tsx) and stays enabled while asking, so
 * focus can come back to it when the dialog closes.
 */
export function ActionButton({
  onAction,
  onError,
  children,
  variant = 'secondary',
  disabled,
  label,
  confirm,
}: {
  onAction: () => Promise<unknown>;
  onError?: (error: ErrorInfo) => void;
  children: ReactNode;
  variant?: 'primary' | 'secondary' | 'danger' | 'ghost';
  disabled?: boolean;
  label?: string;
  confirm?: ConfirmOptions | undefined;
}) {
  const [busy, setBusy] = useState(false);
  const ask = useConfirm();
  return (
    <button
      type="button"
      className={`btn btn-${variant}`}
      disabled={disabled === true || busy}
      aria-busy={busy}
      aria-label={label}
      onClick={() => {
        const go = confirm ? ask(confirm) : Promise.resolve(true);
        void go.then((yes) => {
          if (!yes) return;
          setBusy(true);
          return onAction()
            .catch((e: unknown) => onError?.(errorInfo(e)))
            .finally(() => {
              setBusy(false);
            });
        });
      }}
    >
      {children}
    </button>
  );
}

export function FileErrors({ errors }: { errors: FileError[] }) {
  if (errors.length === 0) return null;
  return (
    <details className="file-errors" open={errors.length <= 5}>
      <summary>{plural(errors.length, 'file')} could not be processed</summary>
      <ul>
        {errors.map((e) => (
          <li key={`${e.path}:${e.code}`}>
            <span className="path">{printable(e.path)}</span> — <strong>{titleFor(e.code)}</strong>:{' '}
            {printable(plainMessage(e.message))}
            {e.hint ? <span className="muted"> {plainMessage(e.hint)}</span> : null}
          </li>
        ))}
      </ul>
    </details>
  );
}

export function RunProgress({
  progress,
  onCancel,
  label,
}: {
  progress: Progress;
  onCancel?: () => Promise<unknown>;
  label: string;
}) {
  const percent = progressPercent(progress);
  const running = progress.state === 'running';
  const stateText =
    progress.state === 'running'
      ? `${percent}%`
      : progress.state === 'done'
        ? progress.errors.length > 0
          ? 'Finished with problems'
          : 'Done'
        : progress.state === 'cancelled'
          ? 'Cancelled'
          : 'Failed';
  return (
    <div className={`run run-${progress.state}`} data-run-state={progress.state}>
      <div className="run-line">
        <span className="run-label">{label}</span>
        <span className="run-state">{stateText}</span>
      </div>
      <progress max={100} value={percent} aria-label={`${label} progress`} />
      <div className="run-line muted">
        <span>
          {progress.filesDone.toLocaleString('en-US')} of {plural(progress.filesTotal, 'file')} ·{' '}
          {formatBytes(progress.bytesDone)} of {formatBytes(progress.bytesTotal)}
        </span>
        {running ? <span>Time left: {formatEta(progress.etaMs)}</span> : null}
        {running && onCancel ? (
          <ActionButton variant="ghost" onAction={onCancel} label={`Cancel ${label}`}>
            Cancel
          </ActionButton>
        ) : null}
      </div>
      <FileErrors errors={progress.errors} />
    </div>
  );
}
