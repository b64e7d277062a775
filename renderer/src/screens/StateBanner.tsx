import { useState } from 'react';
import type { ErrorInfo } from '@shared/contract.js';
import { call, errorInfo } from '../api.js';
import { ErrorNotice, Notice } from '../components.js';
import { useConfirm } from '../confirm.js';
import { useLoad } from '../hooks.js';
import { plainMessage } from '@shared/plain-words.js';
import type { Headline } from './Overview.js';

/** What each state file is, for people (the path is on hover). */
const KIND_NAMES = {
  settings: 'Your settings',
  folders: 'Your list of protected folders',
  escrow: 'Your key record',
} as const;

/**
 * Shown on Overview when a signed state file (settings, folder list, key record) does not verify: Coffer
 * does not use it until the user has seen what it holds and confirms it (issue 9 item 1). With `headline`
 * it is the Overview's headline too: one notice says it all, in plain words (issue 12 item 6).
 */
export function StateBanner({ headline }: { headline?: Headline }) {
  const { data, reload } = useLoad(() => call('getStateReview', {}), ['folders', 'recovery']);
  const ask = useConfirm();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorInfo>();
  const tampered = data?.files.filter((f) => f.status === 'tampered') ?? [];
  if (tampered.length === 0) return null;

  const confirm = async () => {
    const yes = await ask({
      title: 'Use these settings as they are?',
      body: 'Confirm only if you or IT made these changes. Otherwise ask IT to restore the files from a backup.',
      confirmLabel: 'Confirm and use them',
      destructive: true,
    });
    if (!yes) return;
    setBusy(true);
    try {
      // What this banner shows is what gets signed: main refuses if the files changed since.
      await call('confirmState', { reviewed: data?.reviewed ?? '' });
      setError(undefined);
    } catch (e) {
      setError(errorInfo(e));
    } finally {
      setBusy(false);
      reload();
    }
  };

  const body = (
    <>
      <p>
        Something other than Coffer changed them. Coffer does not use them until you confirm them: new files
        are not encrypted and recovery codes are not made in the meantime. Check what they hold now:
      </p>
      {tampered.map((f) => (
        <div key={f.file}>
          <p>
            <span title={f.file}>{KIND_NAMES[f.kind]}</span>: {plainMessage(f.detail ?? 'it does not verify')}
          </p>
          <ul>
            {f.lines.map((line, i) => (
              <li key={i}>{line.trim()}</li>
            ))}
          </ul>
        </div>
      ))}
      <p>Confirm them only if you or IT made this change. Otherwise ask IT to restore them from a backup.</p>
      <ErrorNotice error={error} />
      <button type="button" className="btn btn-secondary" disabled={busy} onClick={() => void confirm()}>
        Confirm these settings…
      </button>
      <p className="muted">Code: STATE_TAMPERED</p>
    </>
  );
  if (!headline)
    return (
      <Notice tone="error" title="Coffer’s settings were changed outside Coffer">
        {body}
      </Notice>
    );
  // The Overview's headline (a heading, first on the page) and its one alert.
  return (
    <section
      className="notice notice-error overview-headline"
      role="alert"
      aria-labelledby="overview-headline-h"
      data-testid="overview-headline"
      data-tone={headline.tone}
    >
      <h2 id="overview-headline-h">{headline.title}</h2>
      <div className="notice-body">{body}</div>
    </section>
  );
}
