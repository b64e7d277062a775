import { Fragment } from 'react';
import type { AboutInfo } from '@shared/contract.js';
import { call } from '../api.js';
import { ErrorNotice, PageHeader } from '../components.js';
import { useLoad } from '../hooks.js';

const POLICY_STATUS: Record<AboutInfo['policy']['status'], string> = {
  none: 'No policy: Coffer’s defaults apply',
  active: 'Applied',
  invalid: 'Invalid: refused (see Settings)',
};

/** The versions IT asks for when judging a machine, and where the policy comes from (issue 12 item 3). */
export function About() {
  const about = useLoad(() => call('getAbout', {}), ['settings']);
  const info = about.data;
  const rows: [string, string][] = info
    ? [
        ['Coffer', info.app],
        ['Electron', info.electron ?? 'not running in Electron'],
        ['Chromium', info.chromium ?? 'not running in Electron'],
        ['Node.js', info.node],
        ['libsodium', info.libsodium],
        ['Policy', POLICY_STATUS[info.policy.status]],
        ['Policy source', info.policy.origin],
      ]
    : [];
  return (
    <>
      <PageHeader title="About Coffer" lead="The versions this computer runs, for your IT team." />
      <ErrorNotice error={about.error} />
      <section className="card" aria-labelledby="versions-title">
        <h2 id="versions-title">Versions</h2>
        {info ? (
          <dl className="kv">
            {rows.map(([name, value]) => (
              <Fragment key={name}>
                <dt>{name}</dt>
                <dd>{value}</dd>
              </Fragment>
            ))}
          </dl>
        ) : (
          <p>Loading…</p>
        )}
      </section>
    </>
  );
}
