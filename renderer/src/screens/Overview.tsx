import { useEffect, useRef } from 'react';
import { unavailableTitle } from '@shared/clear-split.js';
import type { ErrorInfo, Overview as OverviewData } from '@shared/contract.js';
import { call } from '../api.js';
import { ErrorNotice, Notice, PageHeader } from '../components.js';
import { formatWhen, plural, runOutcomeText } from '../format.js';
import { useLoad, useSettling } from '../hooks.js';
import type { Screen } from '../screens.js';
import { StateBanner } from './StateBanner.js';
import './audit.css';

/** The Overview's one headline: the worst of what is shown below it (never green under a red banner). */
export interface Headline {
  tone: 'ok' | 'warn' | 'error';
  title: string;
  text: string;
  /** Settings changed outside Coffer: StateBanner is then the headline, the one notice that says it. */
  settingsChanged?: true;
}

/**
 * Worst first: the policy cannot be read, settings changed outside Coffer, status unavailable, no key
 * here (nothing opens); then files in the clear, files or recovery IT cannot restore, anything else that
 * needs the user. "Everything is protected" only when nothing at all is wrong.
 *
 * Status unavailable also when `data` is there: useLoad keeps the last answer when a reload fails, so the
 * counts may be old (the tray says "Status unavailable" then). `reviewError`: the state review could not be
 * read, so whether settings were changed outside Coffer is unknown, not "no" (the tray: unavailable too).
 */
export function headlineOf(
  data: OverviewData | undefined,
  error: ErrorInfo | undefined,
  tampered: boolean,
  needsYou: number,
  reviewError?: ErrorInfo,
): Headline | null {
  if (data?.policy.status === 'invalid')
    return {
      tone: 'error',
      title: 'Action needed: the organization policy cannot be read',
      text: 'Coffer refuses new protection and decryption until IT fixes it. Your protected files stay protected.',
    };
  if (tampered)
    return {
      tone: 'error',
      title: 'Action needed: check settings changed outside Coffer',
      text: 'New files are not protected until you check and confirm them below.',
      settingsChanged: true,
    };
  if (error ?? reviewError)
    return {
      tone: 'error',
      title: 'Protection status unavailable',
      text: 'Coffer cannot tell now whether your files are protected. The reason is below.',
    };
  if (!data) return null;
  if (!data.keychain.ok)
    return {
      tone: 'error',
      title: 'Action needed: your key is not available',
      text: 'Protected files do not open and new files are not protected until the key is back.',
    };
  const [gone, ...moreGone] = data.unavailable ?? [];
  if (gone)
    return {
      tone: 'warn',
      title:
        moreGone.length === 0
          ? unavailableTitle(gone.path, gone.reason)
          : `${moreGone.length + 1} protected folders are not available`,
      text: 'Coffer cannot see their files, so it cannot say they are protected. See below.',
    };
  // The tray's split (clear-split.ts): files that need the user, and files Coffer is protecting by itself
  // (waiting for their quiet period). Both are readable: neither is green.
  const { needYou, beingProtected } = clearParts(data);
  if (needYou > 0)
    return {
      tone: 'warn',
      title: `Action needed: ${plural(needYou, 'file')} in the clear`,
      text:
        `Anyone with this laptop can read ${needYou === 1 ? 'it' : 'them'}. See what needs you below.` +
        (beingProtected > 0 ? ` ${plural(beingProtected, 'more file')} in the clear, being protected.` : ''),
    };
  if (beingProtected > 0)
    return {
      tone: 'warn',
      title: `${plural(beingProtected, 'file')} in the clear, being protected`,
      text: `Coffer encrypts new files once they stay unchanged for a moment. Until then anyone with this laptop can read ${beingProtected === 1 ? 'it' : 'them'}.`,
    };
  if (data.notRecoverable === null)
    return {
      tone: 'warn',
      title: 'Coffer could not check whether IT can restore your files',
      text: 'Your protected files are encrypted; the check of their recovery keys failed. See below.',
    };
  if (data.notRecoverable > 0)
    return {
      tone: 'warn',
      title: `${plural(data.notRecoverable, 'protected file')} IT cannot restore`,
      text: 'No current organization recovery key opens them. See what needs you below.',
    };
  if (needsYou > 0)
    return {
      tone: 'warn',
      title: needsYou === 1 ? 'One thing needs you' : `${needsYou} things need you`,
      text: 'Your protected files are encrypted; see below what is missing.',
    };
  return {
    tone: 'ok',
    title: 'Everything is protected',
    text: 'Every file in your protected folders is encrypted and your recovery is set up.',
  };
}

/** Of the files in the clear, those that need the user and those Coffer is protecting (the tray's words). */
export function clearParts(data: Pick<OverviewData, 'inTheClear' | 'beingProtected'>): {
  needYou: number;
  beingProtected: number;
} {
  const beingProtected = Math.min(data.beingProtected ?? 0, data.inTheClear);
  return { needYou: data.inTheClear - beingProtected, beingProtected };
}

/** Protection at a glance: one headline, then a warning for each thing that needs the user. */
export function Overview({ go }: { go: (screen: Screen) => void }) {
  const {
    data,
    error,
    reload: reloadOverview,
  } = useLoad(() => call('getOverview', {}), ['folders', 'recovery', 'activity', 'settings']);
  // The same review StateBanner shows: changed settings make the headline red, whatever else is fine.
  const review = useLoad(() => call('getStateReview', {}), ['folders', 'recovery']);
  const tampered = (review.data?.files ?? []).some((f) => f.status === 'tampered');
  // The last data audit (issue 11 item 4); its failure to load only hides the card.
  // Reloaded when folders change too: a protect run moves findings out of "in the clear" as it goes.
  const audit = useLoad(() => call('getAudit', {}), ['audit', 'folders']);
  useSettling(audit.data?.protecting ?? 0, audit.reload);
  useEveryMinute(reloadOverview, review.reload, audit.reload);
  const lastAudit = audit.data?.last ?? null;
  if (!data) {
    const headline = headlineOf(undefined, error, tampered, 0, review.error);
    return (
      <>
        <PageHeader title="Overview" lead="What Coffer protects on this laptop, and what needs you." />
        <TopNotices headline={headline} error={error ?? review.error} />
      </>
    );
  }
  const { recovery, keychain } = data;
  const warnings: { title: string; text: string; screen: Screen; action: string }[] = [];
  if (!keychain.ok) {
    warnings.push({
      title: 'The keychain is not available',
      text: keychain.problem ?? '',
      screen: 'overview',
      action: '',
    });
  }
  if (data.folders === 0) {
    warnings.push({
      title: 'No folder is protected yet',
      text: 'Add the folders that hold customer files.',
      screen: 'folders',
      action: 'Add a folder',
    });
  }
  if (data.notRecoverable === null) {
    warnings.push({
      title: 'Recovery check failed',
      text: 'Coffer could not count which protected files IT can restore. Open Folders to try again; if this stays, tell IT.',
      screen: 'folders',
      action: 'See folders',
    });
  } else if (data.notRecoverable > 0) {
    warnings.push({
      title: `${plural(data.notRecoverable, 'protected file')} IT cannot restore`,
      text: 'No current organization recovery key opens them: if this laptop or its keychain is lost, they are lost. Protect the folders again so they get the current key.',
      screen: 'folders',
      action: 'See folders',
    });
  }
  for (const f of data.unavailable ?? []) {
    warnings.push({
      title: unavailableTitle(f.path, f.reason),
      text:
        f.reason === 'not-mounted'
          ? 'Its drive is not connected: the folder is empty here. Connect the drive; its files are not counted as protected meanwhile.'
          : 'The folder is gone from where Coffer protects it (a drive unplugged, or it was moved). Connect the drive, or add the folder again where it is now.',
      screen: 'folders',
      action: 'See folders',
    });
  }
  const clear = clearParts(data);
  if (clear.needYou > 0) {
    warnings.push({
      title: `${plural(clear.needYou, 'file')} in the clear`,
      text: 'They are readable by anyone with the laptop and need you: in use, a conflict, a hard link, not watched, or they stayed in the clear. Folders lists each with its reason.',
      screen: 'folders',
      action: 'Protect now',
    });
  }
  if (clear.beingProtected > 0) {
    warnings.push({
      title: `${plural(clear.beingProtected, 'file')} in the clear, being protected`,
      text: 'New files are readable by anyone with the laptop until they stay unchanged for a moment; then Coffer encrypts them by itself.',
      screen: 'folders',
      action: 'See folders',
    });
  }
  if (lastAudit && lastAudit.unprotectedWithData > 0) {
    warnings.push({
      title: `${plural(lastAudit.unprotectedWithData, 'file')} with customer data not protected`,
      text: 'The last data audit found customer data outside protected folders. Protect, move or delete them.',
      screen: 'audit',
      action: 'See the audit',
    });
  }
  const policyUnreadable = data.policy.status === 'invalid';
  // With an unreadable policy its recovery keys are unknown, not missing: the alert above says so instead.
  if (recovery.trustedRecoveryKeys.length === 0 && !policyUnreadable) {
    warnings.push({
      title: 'No organization recovery key',
      text: 'The helpdesk cannot restore your files if this laptop or its keychain is lost. Ask IT to deploy the recovery key.',
      screen: 'recovery',
      action: 'See recovery',
    });
  }
  if (recovery.personalCode.state !== 'confirmed') {
    warnings.push({
      title:
        recovery.personalCode.state === 'none' ? 'No personal recovery code' : 'Recovery code not confirmed',
      text: 'Make a recovery code and keep it somewhere safe, away from this laptop.',
      screen: 'recovery',
      action: recovery.personalCode.state === 'none' ? 'Make the code' : 'Confirm the code',
    });
  }
  const headline = headlineOf(data, error, tampered, warnings.length, review.error);
  return (
    <>
      <PageHeader title="Overview" lead="What Coffer protects on this laptop, and what needs you." />
      <TopNotices headline={headline} error={error ?? review.error} />
      {data.policy.status === 'invalid' ? (
        <Notice tone="error" title="Your organization’s policy cannot be read">
          <p>
            Until IT fixes it, Coffer refuses to encrypt new files, decrypt in place, save decrypted copies or
            remove folders. Your protected files stay protected. Tell IT what is wrong:
          </p>
          <ul>
            {data.policy.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
          <p className="muted">
            Read from <span className="path">{data.policy.origin}</span>
          </p>
          <button
            type="button"
            className="btn btn-secondary"
            onClick={() => {
              go('settings');
            }}
          >
            See the policy
          </button>
        </Notice>
      ) : null}
      <section className="stats" aria-label="Protection summary">
        <Stat label="Protected folders" value={data.folders} />
        <Stat label="Files protected" value={data.filesProtected} />
        <Stat label="In the clear" value={data.inTheClear} tone={data.inTheClear > 0 ? 'warn' : 'ok'} />
        <Stat
          label="Last run"
          text={
            data.lastRun
              ? `${formatWhen(data.lastRun.at)} · ${runOutcomeText(data.lastRun.outcome)}`
              : 'never'
          }
        />
      </section>
      <section className="cards" aria-label="Keys and audit">
        <div className="card">
          <h2>Keychain</h2>
          <p className={keychain.ok ? 'ok-text' : 'error-text'}>
            {keychain.ok ? 'Device key available' : 'Not available'}
          </p>
          {keychain.deviceKeyId ? (
            <p>
              Device key ID <code className="key-id">{keychain.deviceKeyId}</code>
            </p>
          ) : null}
        </div>
        <div className="card overview-audit" aria-labelledby="overview-audit">
          <h2 id="overview-audit">Last data audit</h2>
          {lastAudit ? (
            <>
              <p>
                {formatWhen(lastAudit.at)}: {plural(lastAudit.filesScanned, 'file')} checked
              </p>
              <ul className="checklist">
                <li className={lastAudit.unprotectedWithData === 0 ? 'yes' : 'no'}>
                  {lastAudit.unprotectedWithData === 0
                    ? `All ${plural(lastAudit.filesWithData, 'file')} with customer data protected`
                    : `${plural(lastAudit.unprotectedWithData, 'file')} with customer data in the clear`}
                </li>
                <li className={lastAudit.staleFiles === 0 ? 'yes' : 'no'}>
                  {lastAudit.staleFiles === 0
                    ? 'No stale files'
                    : `${plural(lastAudit.staleFiles, 'stale file')} kept past the retention period`}
                </li>
              </ul>
            </>
          ) : (
            <p className="muted">No audit yet.</p>
          )}
          <button
            type="button"
            className="btn btn-secondary"
            onClick={() => {
              go('audit');
            }}
          >
            {lastAudit ? 'See the audit' : 'Check for customer data'}
          </button>
        </div>
        <div className="card">
          <h2>Recovery readiness</h2>
          <ul className="checklist">
            {policyUnreadable ? (
              <li className="no">
                Organization policy cannot be read, so its recovery keys are unknown
                <ul className="checklist-detail">
                  {data.policy.problems.map((p) => (
                    <li key={p}>{p}</li>
                  ))}
                </ul>
              </li>
            ) : (
              <li className={recovery.trustedRecoveryKeys.length > 0 ? 'yes' : 'no'}>
                Organization recovery key {recovery.trustedRecoveryKeys.length > 0 ? 'trusted' : 'missing'}
              </li>
            )}
            <li className={recovery.personalCode.state === 'confirmed' ? 'yes' : 'no'}>
              Personal recovery code{' '}
              {recovery.personalCode.state === 'confirmed'
                ? 'made and confirmed'
                : recovery.personalCode.state === 'unconfirmed'
                  ? 'made, not confirmed'
                  : 'not made'}
            </li>
          </ul>
        </div>
      </section>
      {warnings.length === 0 ? null : (
        <section aria-label="Needs attention" className="warnings">
          <h2>Needs attention</h2>
          {warnings.map((w) => (
            <Notice key={w.title} tone="warn" title={w.title}>
              <p>{w.text}</p>
              {w.action ? (
                <button
                  type="button"
                  className="btn btn-secondary"
                  onClick={() => {
                    go(w.screen);
                  }}
                >
                  {w.action}
                </button>
              ) : null}
            </Notice>
          ))}
        </section>
      )}
    </>
  );
}

/**
 * Looks again every minute, as the tray does: change events cover what Coffer itself does and sees, but not
 * what no event announces (a file changed through a hard link outside the folder, a lost watcher event).
 */
function useEveryMinute(...reloads: (() => void)[]): void {
  const latest = useRef(reloads);
  useEffect(() => {
    latest.current = reloads;
  });
  useEffect(() => {
    const timer = setInterval(() => {
      for (const reload of latest.current) reload();
    }, 60_000);
    return () => {
      clearInterval(timer);
    };
  }, []);
}

/**
 * The headline, the settings banner and the error that made the status unavailable. Settings changed
 * outside Coffer are said once (issue 12 item 6): the banner is the headline, and the reason the overview
 * could not be read (STATE_TAMPERED, with a file path and a command for the CLI) is not repeated below it.
 */
function TopNotices({ headline, error }: { headline: Headline | null; error: ErrorInfo | undefined }) {
  if (headline?.settingsChanged)
    return (
      <>
        <StateBanner headline={headline} />
        {error?.code === 'STATE_TAMPERED' ? null : <ErrorNotice error={error} />}
      </>
    );
  return (
    <>
      {headline ? <HeadlineNotice headline={headline} /> : null}
      <StateBanner />
      <ErrorNotice error={error} />
    </>
  );
}

/**
 * The headline, first on the page, as a heading (not a second alert: the banners below are the alerts and
 * say the details).
 */
function HeadlineNotice({ headline }: { headline: Headline }) {
  return (
    <section
      className={`notice notice-${headline.tone} overview-headline`}
      aria-labelledby="overview-headline-h"
      data-testid="overview-headline"
      data-tone={headline.tone}
    >
      <h2 id="overview-headline-h">{headline.title}</h2>
      <p>{headline.text}</p>
    </section>
  );
}

function Stat({
  label,
  value,
  text,
  tone,
}: {
  label: string;
  value?: number;
  text?: string;
  tone?: 'ok' | 'warn';
}) {
  return (
    <div className={`stat ${tone ? `stat-${tone}` : ''}`}>
      <span className="stat-value">{text ?? (value ?? 0).toLocaleString('en-US')}</span>
      <span className="stat-label">{label}</span>
    </div>
  );
}
