import { useState } from 'react';
import type { DeviceRestoreView, ErrorInfo } from '@shared/contract.js';
import { call, errorInfo } from '../api.js';
import { ActionButton, ErrorNotice, Notice, PageHeader } from '../components.js';
import { formatWhen } from '../format.js';
import { useLoad } from '../hooks.js';
import { CodeField, codeGroupsOf, RestoreOutcome, RestoreWithCode } from './RestoreKey.js';
import { RecoveryKit } from './RecoveryKit.js';
import { TrustedKeys } from './TrustedKeys.js';

type Step =
  | { at: 'status' }
  | { at: 'restore' }
  | { at: 'show'; groups: string[]; keyId: string }
  | { at: 'confirm'; keyId: string };

/**
 * The personal recovery code: made, shown once (print or write down), then confirmed by typing it back.
 * The code is dropped from memory as soon as the confirm step starts: it is never fetched again.
 */
export function Recovery() {
  const status = useLoad(() => call('getRecovery', {}), ['recovery']);
  const [step, setStep] = useState<Step>({ at: 'status' });
  const [error, setError] = useState<ErrorInfo>();
  const [notice, setNotice] = useState<string>();
  /** What went wrong around the last new code (copies beside folders); kept until the next code. */
  const [codeWarnings, setCodeWarnings] = useState<string[]>([]);
  /** The last restore's outcome, shown above its new code until the page is left. */
  const [restored, setRestored] = useState<DeviceRestoreView>();
  const data = status.data;

  return (
    <>
      <PageHeader
        title="Recovery"
        lead="How your files can be restored if this laptop, your account or its keychain is lost."
      />
      <ErrorNotice error={error ?? status.error} />
      {notice ? <Notice tone="ok" title={notice} /> : null}
      {restored ? <RestoreOutcome view={restored} /> : null}
      {step.at === 'restore' ? (
        <RestoreWithCode
          onCancel={() => {
            setStep({ at: 'status' });
          }}
          onRestored={(view) => {
            setRestored(view);
            if (view.newCode) {
              setCodeWarnings(view.newCode.warnings);
              setStep({ at: 'show', groups: view.newCode.groups, keyId: view.newCode.keyId });
            } else setStep({ at: 'status' });
          }}
        />
      ) : step.at === 'show' ? (
        <ShowCode
          groups={step.groups}
          keyId={step.keyId}
          onDone={() => {
            setStep({ at: 'confirm', keyId: step.keyId });
          }}
        />
      ) : step.at === 'confirm' ? (
        <ConfirmCode
          keyId={step.keyId}
          onConfirmed={() => {
            setStep({ at: 'status' });
            setNotice('Recovery code confirmed. Keep it somewhere safe, away from this laptop.');
          }}
          onBack={() => {
            setStep({ at: 'status' });
          }}
        />
      ) : null}
      {codeWarnings.length > 0 ? (
        <Notice tone="warn" title="The code works, but not every copy of your key record was saved">
          <ul>
            {codeWarnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
          <p>
            Fix what is named here, then protect the folder again: its copy is saved on every protect run.
          </p>
        </Notice>
      ) : null}
      {data && step.at === 'status' ? (
        <>
          <section className="card" aria-labelledby="code-h">
            <h2 id="code-h">Personal recovery code</h2>
            {data.personalCode.state === 'none' ? (
              <p>
                You have no recovery code. With one, the helpdesk can put your key back on a new laptop, even
                over the phone.
              </p>
            ) : (
              <p>
                Code <code className="key-id">{data.personalCode.keyId}</code>{' '}
                {data.personalCode.state === 'confirmed' ? (
                  <span className="pill pill-ok">Confirmed</span>
                ) : (
                  <span className="pill pill-warn">Not confirmed</span>
                )}
                {data.personalCode.madeAt ? (
                  <span className="muted"> · made {formatWhen(data.personalCode.madeAt)}</span>
                ) : null}
              </p>
            )}
            <div className="actions">
              <ActionButton
                variant="primary"
                onError={setError}
                confirm={
                  data.personalCode.state === 'none'
                    ? undefined
                    : {
                        title: 'Replace your recovery code?',
                        body: (
                          <p>
                            A new code replaces the old one
                            {data.personalCode.keyId ? (
                              <>
                                {' '}
                                (<code className="key-id">{data.personalCode.keyId}</code>)
                              </>
                            ) : null}
                            : the old code stops working, here and in the copies beside your folders.
                          </p>
                        ),
                        confirmLabel: 'Make a new code',
                        destructive: true,
                      }
                }
                onAction={async () => {
                  setError(undefined);
                  setNotice(undefined);
                  const made = await call('makeRecoveryCode', {});
                  setCodeWarnings(made.warnings);
                  setStep({ at: 'show', groups: made.groups, keyId: made.keyId });
                }}
              >
                {data.personalCode.state === 'none' ? 'Make a recovery code' : 'Make a new code'}
              </ActionButton>
              {/* A code not typed back at once (Back, the page left, Coffer closed) is confirmed from the
                  paper later: the Overview's "Confirm the code" leads here, and a new code would void it. */}
              {data.personalCode.state === 'unconfirmed' && data.personalCode.keyId ? (
                <button
                  type="button"
                  className="btn btn-secondary"
                  onClick={() => {
                    setError(undefined);
                    setNotice(undefined);
                    setStep({ at: 'confirm', keyId: data.personalCode.keyId ?? '' });
                  }}
                >
                  Type my code back…
                </button>
              ) : null}
              <ActionButton
                onError={setError}
                onAction={async () => {
                  const r = await call('exportEscrow', {});
                  if (r) setNotice(`Key record saved to ${r.savedTo}`);
                }}
              >
                Save a copy of your key record…
              </ActionButton>
            </div>
          </section>
          <section className="card" aria-labelledby="lost-h">
            <h2 id="lost-h">Lost your key?</h2>
            <p>
              On a new laptop, or after your account or keychain was reset, your files do not open until your
              key is back. Restore it with your recovery code.
            </p>
            <div className="actions">
              <button
                type="button"
                className="btn btn-secondary"
                onClick={() => {
                  setError(undefined);
                  setNotice(undefined);
                  setRestored(undefined);
                  setStep({ at: 'restore' });
                }}
              >
                Restore my key with my recovery code…
              </button>
            </div>
          </section>
          <section className="card" aria-labelledby="keys-h">
            <h2 id="keys-h">Key IDs</h2>
            <dl className="kv">
              <dt>This device</dt>
              <dd>
                {data.deviceKeyId ? (
                  <code className="key-id">{data.deviceKeyId}</code>
                ) : (
                  <span className="error-text">no device key</span>
                )}
              </dd>
            </dl>
            <TrustedKeys keys={data.trustedRecoveryKeys} />
          </section>
        </>
      ) : null}
    </>
  );
}

function ShowCode({ groups, keyId, onDone }: { groups: string[]; keyId: string; onDone: () => void }) {
  // The kit's date is when the code was shown (it was made a moment before); fixed for this screen.
  const [shownAt] = useState(() => Date.now());
  const kit = useLoad(() => call('getRecoveryKit', {}), ['settings']);
  return (
    <section className="card code-card" aria-labelledby="show-h">
      <h2 id="show-h">Your recovery code</h2>
      <Notice tone="warn" title="Shown once">
        <p>
          Write it down or print it now, and keep it away from this laptop. Coffer will not show it again.
        </p>
      </Notice>
      <p className="code" aria-label="Recovery code" data-testid="recovery-code">
        {groups.map((g, i) => (
          <span key={i} className="code-group">
            {g}
          </span>
        ))}
      </p>
      <p>
        Code ID <code className="key-id">{keyId}</code> — the helpdesk asks for it to find your key.
      </p>
      <p className="muted" id="kit-help">
        The recovery kit is one page with this code, its ID, this computer’s name
        {kit.data ? ` (${kit.data.device})` : ''}, today’s date and who to contact
        {kit.data?.helpdeskContact ? ` (${kit.data.helpdeskContact})` : ''}. To keep it as a file, choose
        “Save as PDF” in the print dialog, and keep that file off this laptop.
      </p>
      <RecoveryKit groups={groups} keyId={keyId} madeAt={shownAt} info={kit.data} />
      <div className="actions">
        <button
          type="button"
          className="btn btn-secondary"
          // Printed before the kit's details arrive, it would say "This computer" and no contact.
          disabled={kit.data === undefined && kit.error === undefined}
          aria-describedby="kit-help"
          onClick={() => {
            window.print();
          }}
        >
          Print recovery kit…
        </button>
        <button type="button" className="btn btn-primary" onClick={onDone}>
          I have written it down
        </button>
      </div>
    </section>
  );
}

/**
 * Typing the code back, into the same one field as a restore (dashes added as typed, a mistyped group named
 * at once): it proves the code was written down right. It was eight separate boxes.
 */
function ConfirmCode({
  keyId,
  onConfirmed,
  onBack,
}: {
  keyId: string;
  onConfirmed: () => void;
  onBack: () => void;
}) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<ErrorInfo>();
  const { complete } = codeGroupsOf(code);
  return (
    <section className="card" aria-labelledby="confirm-h">
      <h2 id="confirm-h">Type your recovery code back</h2>
      <p>
        From your paper or printed kit, not from memory: this proves it was written down correctly. Code ID{' '}
        <code className="key-id">{keyId}</code>.
      </p>
      <ErrorNotice error={error} />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!complete) return;
          const { groups } = codeGroupsOf(code);
          call('confirmRecoveryCode', { groups })
            .then(onConfirmed)
            .catch((err: unknown) => {
              setError(errorInfo(err));
            });
        }}
      >
        <CodeField value={code} onChange={setCode} label="Recovery code" />
        <div className="actions">
          <button type="button" className="btn btn-ghost" onClick={onBack}>
            Back
          </button>
          <button type="submit" className="btn btn-primary" disabled={!complete}>
            Confirm code
          </button>
        </div>
      </form>
    </section>
  );
}
