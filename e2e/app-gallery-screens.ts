/**
 * Every screen and notable state of the app, in the order e2e/app-gallery.e2e.ts walks them over one real
 * composition (issue 12 item 6: "every screen in light and dark ... checked by axe ... screenshots of each
 * state refreshed in docs/"). Each entry brings the app into its state and waits until the page shows it;
 * the walk then runs axe and takes `docs/screenshots/<name>-light.png` and `-dark.png`.
 *
 * To add a screen: add one entry here (after the states it builds on), then `npm run screenshots`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { Harness } from './helpers/app-harness.js';

/** What an entry can use: the running app and the places and keys the walk made for it. */
export interface GalleryContext {
  h: Harness;
  page: Page;
  /** Scratch folder outside the app's home. */
  work: string;
  /** A folder of customer files, not in Coffer until the "folders" state adds it. */
  customers: string;
  /** Another laptop's `.coffer` files, sealed to its device key and the organization key (Helpdesk). */
  lostLaptop: string;
  /** An empty folder for the Helpdesk's decrypted copies. */
  restoredCopies: string;
  org: { keyFile: string; keyId: string; line: string; passphrase: string };
  /** Another organization's public key line (the "trust a key" preview). */
  otherKeyLine: string;
  /** A third public key line: what an intruder swaps in for a key the user trusted. */
  intruderKeyLine: string;
  /** The recovery code made in "recovery-code-shown", for the states after it. */
  code: string[];
  /** Writes the policy file (an object as JSON, a string as it is) and waits until the app has read it. */
  setPolicy(policy: unknown): Promise<void>;
  /** Goes to a screen through the hash router and waits for its heading. */
  open(route: string, heading: string | RegExp): Promise<void>;
  /** Waits until the page shows this text. */
  sees(text: string | RegExp): Promise<void>;
}

export interface GalleryScreen {
  /** File name stem: docs/screenshots/<name>-light.png and <name>-dark.png. */
  name: string;
  /** One line for docs/SCREENS.md (the image's alt text). */
  caption: string;
  show(g: GalleryContext): Promise<void>;
  /** Undoes what the next states must not see (a dialog left open), after the screenshots. */
  leave?(g: GalleryContext): Promise<void>;
}

/** The employee's policy once IT has deployed the organization key. */
function employeePolicy(g: GalleryContext): unknown {
  return { recoveryPublicKeys: [g.org.line], allowUserRecoveryKeys: true };
}

/** A state that is a screen as it opens: `open` its route and heading, then wait until it `sees` a text. */
function pageShowing(entry: {
  name: string;
  caption: string;
  open: [string, string];
  sees: string;
}): GalleryScreen {
  return {
    name: entry.name,
    caption: entry.caption,
    show: async (g) => {
      await g.open(...entry.open);
      await g.sees(entry.sees);
    },
  };
}

export const GALLERY: GalleryScreen[] = [
  // First run: no policy file, no folder, no code.
  pageShowing({
    name: 'overview-first-run',
    caption: 'Overview on first run: no folder, no recovery key, no code',
    open: ['overview', 'Overview'],
    sees: 'No folder is protected yet',
  }),
  pageShowing({
    name: 'folders-empty',
    caption: 'Folders with none added yet',
    open: ['folders', 'Folders'],
    sees: 'No protected folders yet',
  }),
  pageShowing({
    name: 'files-empty',
    caption: 'Files with no protected folder',
    open: ['files', 'Files'],
    sees: 'No protected folders yet',
  }),
  pageShowing({
    name: 'audit-empty',
    caption: 'Data audit before the first audit',
    open: ['audit', 'Data audit'],
    sees: 'No audit yet',
  }),
  pageShowing({
    name: 'recovery-no-code',
    caption: 'Recovery with no recovery code and no organization key',
    open: ['recovery', 'Recovery'],
    sees: 'You have no recovery code',
  }),
  pageShowing({
    name: 'helpdesk-off',
    caption: 'Helpdesk page on an employee laptop: the policy does not turn the tools on',
    open: ['helpdesk', 'Helpdesk'],
    sees: 'The helpdesk tools are not turned on',
  }),
  pageShowing({
    name: 'settings',
    caption: 'Settings: auto-lock, updates, organization policy',
    open: ['settings', 'Settings'],
    sees: 'Close open files when away',
  }),
  {
    name: 'about',
    caption: 'About: the versions this computer runs',
    show: async (g) => {
      await g.open('about', 'About Coffer');
      await g.page.getByText('Loading…').waitFor({ state: 'detached' });
    },
  },

  // IT deploys the organization key; the employee adds a folder (adding protects it) and makes a code.
  {
    name: 'folders',
    caption: 'Folders: a protected folder by name, its path on hover',
    show: async (g) => {
      await g.setPolicy(employeePolicy(g));
      await g.open('folders', 'Folders');
      g.h.dialogs.answer(g.customers);
      await g.page.getByRole('button', { name: 'Add folder…' }).click();
      await g.page
        .getByRole('listitem', { name: g.customers })
        .getByText('all files protected')
        .waitFor({ timeout: 60_000 });
      await g.page.locator('[data-run-state="done"]').waitFor({ timeout: 60_000 });
    },
  },
  {
    name: 'folders-confirm-unprotect',
    caption: 'Unprotecting a folder asks first',
    show: async (g) => {
      await g.page.getByRole('button', { name: `Unprotect ${g.customers}` }).click();
      await g.page.getByRole('dialog', { name: 'Unprotect this folder?' }).waitFor();
    },
    leave: async (g) => {
      const dialog = g.page.getByRole('dialog', { name: 'Unprotect this folder?' });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
    },
  },
  {
    name: 'files',
    caption: 'Files of a protected folder, with the sizes of the originals',
    show: async (g) => {
      await g.page.getByRole('button', { name: 'Browse' }).click();
      await g.page.getByRole('heading', { name: 'Files', level: 1 }).waitFor();
      await g.page.getByRole('table', { name: 'Files in this folder' }).getByText('notes.txt').waitFor();
    },
  },
  {
    name: 'files-editing',
    caption: 'Files: a file open for editing, saved and closed again on lock',
    show: async (g) => {
      await g.page.getByRole('button', { name: 'Open notes.txt for editing' }).click();
      await g.page.getByRole('region', { name: 'Files open for editing' }).waitFor();
    },
    leave: async (g) => {
      await g.page.getByRole('button', { name: 'Save and close notes.txt' }).click();
      await g.page.getByRole('region', { name: 'Files open for editing' }).waitFor({ state: 'detached' });
    },
  },
  {
    name: 'recovery-code-shown',
    caption: 'Recovery: a new recovery code, shown once, with its code ID',
    show: async (g) => {
      await g.open('recovery', 'Recovery');
      await g.page.getByRole('button', { name: 'Make a recovery code' }).click();
      const shown = g.page.getByTestId('recovery-code');
      await shown.waitFor({ timeout: 30_000 });
      g.code = (await shown.locator('.code-group').allTextContents()).map((c) => c.trim());
    },
  },
  {
    name: 'recovery-kit-print',
    caption: 'The recovery kit as printed: code, code ID, device, date, who to contact',
    show: async (g) => {
      await g.page.emulateMedia({ media: 'print' });
      await g.page.getByTestId('recovery-kit').waitFor({ state: 'visible' });
    },
    leave: async (g) => {
      await g.page.emulateMedia({ media: 'screen' });
    },
  },
  {
    name: 'recovery-confirm-typo',
    caption: 'Typing the code back: a mistyped group is named',
    show: async (g) => {
      await g.page.getByRole('button', { name: 'I have written it down' }).click();
      const typo = g.code.map((group, i) =>
        i === 2 ? String((Number(group) + 1) % 1_000_000).padStart(6, '0') : group,
      );
      await g.page.getByRole('textbox', { name: 'Recovery code' }).fill(typo.join(''));
      await g.sees('Group 3 is mistyped');
    },
  },
  {
    name: 'recovery',
    caption: 'Recovery: code confirmed, device key ID, trusted organization keys',
    show: async (g) => {
      await g.page.getByRole('textbox', { name: 'Recovery code' }).fill(g.code.join(''));
      await g.page.getByRole('button', { name: 'Confirm code' }).click();
      await g.sees('Recovery code confirmed');
      await g.page.getByRole('listitem', { name: `Recovery key ${g.org.keyId}` }).waitFor();
    },
  },
  {
    name: 'recovery-trust-preview',
    caption: 'Trusting another organization key: its key ID is shown to check first',
    show: async (g) => {
      await g.page.getByLabel('Public key line').fill(g.otherKeyLine);
      await g.page.getByRole('button', { name: 'Check key' }).click();
      await g.page.getByRole('button', { name: 'Trust this key' }).waitFor();
    },
  },
  {
    name: 'recovery-restore',
    caption: 'Restore my key with my recovery code: choose the record, type the code',
    show: async (g) => {
      await g.page.getByRole('button', { name: 'Cancel' }).click();
      await g.page.getByRole('button', { name: 'Restore my key with my recovery code…' }).click();
      await g.page.getByRole('heading', { name: 'Restore my key with my recovery code' }).waitFor();
    },
  },
  pageShowing({
    name: 'overview-protected',
    caption: 'Overview when everything is protected and recovery is set up',
    open: ['overview', 'Overview'],
    sees: 'Everything is protected',
  }),
  {
    name: 'folders-in-the-clear',
    caption: 'Folders naming the file in the clear and why',
    show: async (g) => {
      // A second name for a new file (a hard link outside the folder): Coffer leaves it in the clear and
      // says why, as encrypting one name would leave the content readable under the other.
      const file = path.join(g.customers, 'price-list.txt');
      fs.writeFileSync(file, 'Widget 12.50\n');
      fs.linkSync(file, path.join(g.work, 'price-list-copy.txt'));
      await g.open('folders', 'Folders');
      await g.sees(/also has another name/);
    },
  },
  pageShowing({
    name: 'overview-in-the-clear',
    caption: 'Overview with a file left in the clear',
    open: ['overview', 'Overview'],
    sees: '1 file in the clear',
  }),
  {
    name: 'activity-after-protect',
    caption: 'Activity: what Coffer did, in plain words, with filters and export',
    show: async (g) => {
      await g.open('activity', 'Activity');
      await g.page
        .getByRole('table', { name: 'Recent activity' })
        .getByRole('cell', { name: 'Protect finished', exact: true })
        .first()
        .waitFor();
    },
  },
  {
    name: 'opened-file',
    caption: 'A .coffer file opened from the file manager: what it is, intact, open for editing',
    show: async (g) => {
      g.h.app.openedFiles.add([path.join(g.customers, 'notes.txt.coffer')]);
      await g.page.getByRole('heading', { name: 'Opened file', level: 1 }).waitFor();
      await g.sees('Intact: every byte was checked');
    },
  },
  {
    name: 'opened-file-problems',
    caption: 'Opened files that cannot be opened: damaged, locked with another key, not a Coffer file',
    show: async (g) => {
      const damaged = path.join(g.work, 'damaged.txt.coffer');
      const bytes = fs.readFileSync(path.join(g.customers, 'notes.txt.coffer'));
      bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
      fs.writeFileSync(damaged, bytes);
      const notCoffer = path.join(g.work, 'photo.jpg.coffer');
      fs.writeFileSync(notCoffer, Buffer.alloc(4000, 0xd8));
      g.h.app.openedFiles.add([damaged, path.join(g.lostLaptop, 'ledger.csv.coffer'), notCoffer]);
      await g.sees('Damaged or tampered file');
      await g.sees('Locked with another key');
      await g.sees('Not a Coffer file');
    },
  },
  {
    name: 'overview-settings-changed',
    caption: 'Overview when Coffer’s settings were changed behind its back',
    show: async (g) => {
      // A recovery key the user trusted, swapped for another in settings.json by something other than Coffer.
      await g.h.app.handlers.trustRecoveryKey({ line: g.otherKeyLine, label: 'IT 2026' });
      const settings = path.join(g.h.home, 'userData', 'settings.json');
      const envelope = JSON.parse(fs.readFileSync(settings, 'utf8')) as { body: string };
      envelope.body = envelope.body.replace(g.otherKeyLine, g.intruderKeyLine);
      fs.writeFileSync(settings, JSON.stringify(envelope));
      await g.page.reload();
      await g.open('overview', 'Overview');
      await g.page.getByRole('alert').filter({ hasText: 'changed outside Coffer' }).waitFor();
    },
    leave: async (g) => {
      await g.page.getByRole('button', { name: 'Confirm these settings…' }).click();
      await g.page
        .getByRole('dialog', { name: 'Use these settings as they are?' })
        .getByRole('button', { name: 'Confirm and use them' })
        .click();
      await g.page
        .getByRole('alert')
        .filter({ hasText: 'changed outside Coffer' })
        .waitFor({ state: 'detached' });
    },
  },
  {
    name: 'overview-policy-problem',
    caption: 'Overview when the organization policy cannot be read',
    show: async (g) => {
      await g.setPolicy('{"autoLockMinutes": "soon"}');
      await g.open('overview', 'Overview');
      await g.page.getByRole('alert').filter({ hasText: 'policy cannot be read' }).waitFor();
    },
  },
  pageShowing({
    name: 'settings-policy-problem',
    caption: 'Settings when the organization policy cannot be used',
    open: ['settings', 'Settings'],
    sees: 'The organization policy cannot be used',
  }),

  // A helpdesk computer: the policy turns the tools on.
  {
    name: 'helpdesk',
    caption: 'Helpdesk: load the organization key, restore a device key or files',
    show: async (g) => {
      await g.setPolicy({ ...(employeePolicy(g) as object), helpdeskTools: true });
      await g.page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Helpdesk' })
        .waitFor();
      await g.open('helpdesk', 'Helpdesk');
      await g.page.getByLabel('Passphrase of the key file').waitFor();
    },
  },
  {
    name: 'helpdesk-wrong-passphrase',
    caption: 'Helpdesk: a key file with the wrong passphrase is refused',
    show: async (g) => {
      await g.page.getByLabel('Passphrase of the key file').fill('not the passphrase');
      g.h.dialogs.answer(g.org.keyFile);
      await g.page.getByRole('button', { name: 'Choose key file…' }).click();
      await g.sees('Wrong passphrase');
    },
  },
  {
    name: 'helpdesk-inspected',
    caption: 'Helpdesk: key loaded, files listed with the key IDs that open them',
    show: async (g) => {
      await g.page.getByLabel('Passphrase of the key file').fill(g.org.passphrase);
      g.h.dialogs.answer(g.org.keyFile);
      await g.page.getByRole('button', { name: 'Choose key file…' }).click();
      await g.sees(`Loaded key ${g.org.keyId}`);
      g.h.dialogs.answer(g.lostLaptop);
      await g.page.getByRole('button', { name: 'Choose a folder…' }).click();
      await g.page.getByRole('table', { name: 'Files and the keys that open them' }).waitFor();
    },
  },
  {
    name: 'helpdesk-restored',
    caption: 'Helpdesk: the files decrypted to a folder the helpdesk chose',
    show: async (g) => {
      g.h.dialogs.answer(g.restoredCopies);
      await g.page.getByRole('button', { name: /Decrypt 2 file\(s\) to/ }).click();
      await g.page.locator('[data-run-state="done"]').waitFor({ timeout: 60_000 });
    },
  },
];
