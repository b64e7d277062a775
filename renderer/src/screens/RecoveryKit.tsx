/**
 * The printable recovery kit (issue 12 item 6): one page with the recovery code, its ID, this computer's
 * name, the date and who to contact (policy `helpdeskContact`). It exists only while the code is on screen
 * (ShowCode in Recovery.tsx) and is printed with window.print(): the print stylesheet (recovery-kit.css)
 * shows the kit alone, and the screen never shows it.
 *
 * Why the print dialog and not printToPDF in main: the code left main once, to be shown; sending it back
 * to main to render a PDF would be a second trip and a file write of the code to harden (atomic, no
 * symlink, a path from a dialog). The print dialog already offers "Save as PDF" (Chromium, macOS) or a
 * PDF printer (Windows, Linux) with a destination the user picks, and Coffer itself writes nothing.
 */
import { useState } from 'react';
import { createPortal } from 'react-dom';
import type { RecoveryKitInfo } from '@shared/contract.js';
import { call } from '../api.js';
import { useLoad } from '../hooks.js';
import './recovery-kit.css';

/** YYYY-MM-DD in local time: the day the user printed it, unambiguous in every country. */
export function kitDate(at: number): string {
  const d = new Date(at);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

export const NO_CONTACT = 'Ask your IT team who to contact.';

/** A code's kit and the button that prints it, for a new code shown to the helpdesk (Helpdesk.tsx). */
export function PrintKitButton({ groups, keyId }: { groups: string[]; keyId: string }) {
  const [shownAt] = useState(() => Date.now());
  const kit = useLoad(() => call('getRecoveryKit', {}), ['settings']);
  return (
    <>
      <RecoveryKit groups={groups} keyId={keyId} madeAt={shownAt} info={kit.data} />
      <button
        type="button"
        className="btn btn-secondary"
        // Printed before the kit's details arrive, it would say "This computer" and no contact.
        disabled={kit.data === undefined && kit.error === undefined}
        onClick={() => {
          window.print();
        }}
      >
        Print recovery kit…
      </button>
    </>
  );
}

/** The kit, put directly under <body> so that the print stylesheet can hide the whole app beside it. */
export function RecoveryKit({
  groups,
  keyId,
  madeAt,
  info,
}: {
  groups: string[];
  keyId: string;
  madeAt: number;
  info: RecoveryKitInfo | undefined;
}) {
  return createPortal(
    <article className="recovery-kit" data-testid="recovery-kit" aria-label="Recovery kit">
      <h1>Coffer recovery kit</h1>
      <p className="kit-lead">
        This page brings back your key if your laptop, your account or its keychain is lost. Keep it somewhere
        safe and away from the laptop: with it, someone holding your laptop’s files could open them.
      </p>
      <dl>
        <dt>Recovery code</dt>
        <dd className="kit-mono kit-code" data-testid="kit-code">
          {groups.join('-')}
        </dd>
        <dt>Code ID</dt>
        <dd className="kit-mono" data-testid="kit-code-id">
          {keyId}
        </dd>
        <dt>Computer</dt>
        <dd data-testid="kit-device">{info?.device ?? 'This computer'}</dd>
        <dt>Made on</dt>
        <dd>
          <time dateTime={kitDate(madeAt)} data-testid="kit-date">
            {kitDate(madeAt)}
          </time>
        </dd>
        <dt>Helpdesk</dt>
        <dd data-testid="kit-contact">{info?.helpdeskContact ?? NO_CONTACT}</dd>
      </dl>
      <h2>When you need it</h2>
      <ol>
        <li>
          In Coffer, open Recovery and choose “Restore my key with my recovery code”, or call the helpdesk.
        </li>
        <li>Tell the helpdesk the code ID first. Read the code out only to restore your key.</li>
        <li>After a restore you get a new code, and this one stops working: print the new kit.</li>
      </ol>
    </article>,
    document.body,
  );
}
