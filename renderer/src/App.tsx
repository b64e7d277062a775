import { useEffect, useState } from 'react';
import { call } from './api.js';
import { ActionButton, Notice, PageHeader } from './components.js';
import { ConfirmProvider } from './confirm.js';
import { onEvent } from './api.js';
import { useLoad } from './hooks.js';
import { SCREENS, SCREEN_LABELS, screenFromHash, type Screen } from './screens.js';
import { Activity } from './screens/Activity.js';
import { About } from './screens/About.js';
import { Audit } from './screens/Audit.js';
import { Files } from './screens/Files.js';
import { Folders } from './screens/Folders.js';
import { Helpdesk } from './screens/Helpdesk.js';
import { OpenedFile, useOpenedFiles } from './screens/OpenedFile.js';
import { Overview } from './screens/Overview.js';
import { Recovery } from './screens/Recovery.js';
import { Settings } from './screens/Settings.js';

/** Focuses the current page's heading; false while the page has not rendered it yet. */
function focusPageTitle(): boolean {
  const title = document.getElementById('page-title');
  title?.focus();
  return title !== null;
}

export function App() {
  const [screen, setScreen] = useState<Screen>(() => screenFromHash(window.location.hash));
  const [folderId, setFolderId] = useState<string | null>(null);
  const [locked, setLocked] = useState<string>();
  // Employees never see the Helpdesk page: only a policy with helpdeskTools shows it (main refuses its calls too).
  const policy = useLoad(() => call('getPolicy', {}), ['settings']);
  const helpdeskTools = policy.data?.helpdeskTools === true;
  const screens = SCREENS.filter((s) => s !== 'helpdesk' || helpdeskTools);
  // `.coffer` files the OS asked Coffer to open: their page comes up when they arrive.
  const opened = useOpenedFiles(() => {
    window.location.hash = '#/opened';
    setScreen('opened');
  });

  useEffect(() => {
    const onHash = () => {
      setScreen(screenFromHash(window.location.hash));
    };
    window.addEventListener('hashchange', onHash);
    return () => {
      window.removeEventListener('hashchange', onHash);
    };
  }, []);
  useEffect(
    () =>
      onEvent((event) => {
        if (event.type === 'locked' && event.reason !== 'user')
          setLocked(
            event.reason === 'idle'
              ? 'You were away, so Coffer saved and closed your open files.'
              : `Coffer locked (${event.reason}): open files were saved and closed.`,
          );
      }),
    [],
  );
  useEffect(() => {
    // Move focus to the page title on navigation, so keyboard and screen-reader users land on the new page.
    // A page that loads first renders its title later: wait for it rather than leave focus in the sidebar.
    if (focusPageTitle()) return;
    const observer = new MutationObserver(() => {
      if (focusPageTitle()) observer.disconnect();
    });
    observer.observe(document.getElementById('main') ?? document.body, { childList: true, subtree: true });
    return () => {
      observer.disconnect();
    };
  }, [screen]);

  const go = (next: Screen) => {
    window.location.hash = `#/${next}`;
    setScreen(next);
  };

  return (
    // One confirm dialog for every screen (confirm.tsx); the sidebar's buttons are inside it too.
    <ConfirmProvider>
      <div className="shell">
        <a
          className="skip-link"
          href="#main"
          onClick={(event) => {
            // `#main` would be read as a route by the hash router: move focus without navigating.
            event.preventDefault();
            focusPageTitle();
          }}
        >
          Skip to content
        </a>
        <aside className="sidebar">
          <div className="brand" aria-label="Coffer">
            <span className="brand-mark" aria-hidden="true" />
            Coffer
          </div>
          <nav aria-label="Main">
            <ul>
              {screens.map((s) => (
                <li key={s}>
                  <a href={`#/${s}`} aria-current={s === screen ? 'page' : undefined} className="nav-link">
                    {SCREEN_LABELS[s]}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <div className="sidebar-foot">
            <ActionButton
              variant="secondary"
              label="Lock: save and close open files"
              onAction={async () => {
                const r = await call('lock', {});
                setLocked(`Locked: ${r.wiped} open file(s) saved and closed.`);
              }}
            >
              Lock
            </ActionButton>
          </div>
        </aside>
        <main id="main" className="content">
          {locked ? (
            <Notice tone="info" title={locked}>
              <button
                type="button"
                className="btn btn-ghost"
                onClick={() => {
                  setLocked(undefined);
                }}
              >
                Dismiss
              </button>
            </Notice>
          ) : null}
          {screen === 'overview' ? <Overview go={go} /> : null}
          {screen === 'folders' ? (
            <Folders
              browse={(id) => {
                setFolderId(id);
                go('files');
              }}
            />
          ) : null}
          {screen === 'files' ? <Files folderId={folderId} setFolderId={setFolderId} /> : null}
          {screen === 'audit' ? <Audit /> : null}
          {screen === 'recovery' ? <Recovery /> : null}
          {screen === 'helpdesk' ? (
            helpdeskTools ? (
              <Helpdesk />
            ) : (
              <PageHeader
                title="Helpdesk"
                lead="The helpdesk tools are not turned on for this computer. Helpdesk staff use a computer whose organization policy turns them on."
              />
            )
          ) : null}
          {screen === 'activity' ? <Activity /> : null}
          {screen === 'settings' ? <Settings /> : null}
          {screen === 'about' ? <About /> : null}
          {screen === 'opened' ? <OpenedFile list={opened} /> : null}
        </main>
      </div>
    </ConfirmProvider>
  );
}
