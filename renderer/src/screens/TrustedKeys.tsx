/**
 * The organization recovery keys this laptop adds to every file it writes: those the policy deploys (locked,
 * "Set by your organization") and those the user trusted by pasting the key line IT gave them
 * (FORMAT.md §11.2). A pasted line is checked in main and shown by its key ID before it is trusted, so the
 * user can compare the ID with the one IT read out.
 */
import { useState } from 'react';
import type { ErrorInfo, RecoveryKeyPreview, RecoveryStatus } from '@shared/contract.js';
import { call, errorInfo } from '../api.js';
import { ActionButton, ErrorNotice, Notice } from '../components.js';

export function TrustedKeys({ keys }: { keys: RecoveryStatus['trustedRecoveryKeys'] }) {
  const [error, setError] = useState<ErrorInfo>();
  const [notice, setNotice] = useState<string>();
  return (
    <>
      <h3>Trusted organization recovery keys</h3>
      <ErrorNotice error={error} />
      {notice ? <Notice tone="ok" title={notice} /> : null}
      {keys.length === 0 ? (
        <Notice tone="warn" title="None trusted">
          <p>
            Without one, the helpdesk cannot restore files encrypted on this laptop. Ask IT to deploy the
            recovery key, or paste the key line IT gave you below.
          </p>
        </Notice>
      ) : (
        <ul className="plain-list" aria-label="Trusted recovery keys">
          {keys.map((k) => (
            <li key={k.keyId} aria-label={`Recovery key ${k.keyId}`}>
              <code className="key-id">{k.keyId}</code> {k.label}{' '}
              {k.source === 'policy' ? (
                <span className="badge" title="Set by your organization">
                  Set by your organization
                </span>
              ) : (
                <ActionButton
                  variant="danger"
                  label={`Stop trusting ${k.keyId}`}
                  onError={setError}
                  confirm={{
                    title: 'Stop trusting this recovery key?',
                    body: (
                      <p>
                        Files written from now on can no longer be opened with{' '}
                        <code className="key-id">{k.keyId}</code>, so its holder cannot restore them. Files
                        already written still open with it.
                      </p>
                    ),
                    confirmLabel: 'Stop trusting',
                    destructive: true,
                  }}
                  onAction={async () => {
                    setError(undefined);
                    setNotice(undefined);
                    const r = await call('untrustRecoveryKey', { keyId: k.keyId });
                    setNotice(`Recovery key ${r.keyId} is no longer trusted.`);
                  }}
                >
                  Stop trusting
                </ActionButton>
              )}
            </li>
          ))}
        </ul>
      )}
      <TrustForm
        onTrusted={(text) => {
          setError(undefined);
          setNotice(text);
        }}
      />
    </>
  );
}

/** Paste → Check (main parses it and names the key ID) → Trust. Editing the line drops the check. */
function TrustForm({ onTrusted }: { onTrusted: (notice: string) => void }) {
  const [line, setLine] = useState('');
  const [label, setLabel] = useState('');
  const [preview, setPreview] = useState<RecoveryKeyPreview>();
  const [error, setError] = useState<ErrorInfo>();
  const [checking, setChecking] = useState(false);
  return (
    <form
      className="trust-form"
      aria-labelledby="trust-h"
      onSubmit={(e) => {
        e.preventDefault();
        setChecking(true);
        setError(undefined);
        call('previewRecoveryKey', { line })
          .then(setPreview, (err: unknown) => {
            setPreview(undefined);
            setError(errorInfo(err));
          })
          .finally(() => {
            setChecking(false);
          });
      }}
    >
      <h4 id="trust-h">Trust an organization recovery key</h4>
      <p className="muted">
        Paste the whole line IT gave you, starting with <code>coffer-recovery-1:</code>. Files written from
        now on can then be restored with that key.
      </p>
      <label htmlFor="trust-line">Public key line</label>
      <input
        id="trust-line"
        className="mono"
        autoComplete="off"
        spellCheck={false}
        value={line}
        aria-invalid={error?.code === 'BAD_PUBLIC_KEY'}
        onChange={(e) => {
          setLine(e.target.value);
          setPreview(undefined);
          setError(undefined);
        }}
      />
      <label htmlFor="trust-label">Name (optional)</label>
      <input
        id="trust-label"
        maxLength={80}
        placeholder="e.g. ACME helpdesk 2026"
        value={label}
        onChange={(e) => {
          setLabel(e.target.value);
        }}
      />
      <ErrorNotice error={error} />
      {preview ? (
        <div className="trust-preview" role="status">
          <p>
            Key ID <code className="key-id">{preview.keyId}</code>
            {preview.trusted === 'no' ? ' — check it matches the key ID IT gave you.' : null}
          </p>
          {preview.trusted === 'no' ? (
            <div className="actions">
              <ActionButton
                variant="primary"
                onError={setError}
                onAction={async () => {
                  const r = await call('trustRecoveryKey', {
                    line,
                    ...(label.trim() ? { label: label.trim() } : {}),
                  });
                  setLine('');
                  setLabel('');
                  setPreview(undefined);
                  onTrusted(
                    r.added
                      ? `Recovery key ${r.keyId} is trusted. Files written from now on carry it; make a new recovery code so that your key record opens with it too.`
                      : `Recovery key ${r.keyId} was already trusted.`,
                  );
                }}
              >
                Trust this key
              </ActionButton>
              <button
                type="button"
                className="btn btn-ghost"
                onClick={() => {
                  setPreview(undefined);
                }}
              >
                Cancel
              </button>
            </div>
          ) : (
            <p className="muted">
              {preview.trusted === 'policy'
                ? 'Already trusted: your organization sets it.'
                : 'Already trusted on this laptop.'}
            </p>
          )}
        </div>
      ) : (
        <div className="actions">
          <button type="submit" className="btn btn-secondary" disabled={line.trim() === '' || checking}>
            Check key
          </button>
        </div>
      )}
    </form>
  );
}
