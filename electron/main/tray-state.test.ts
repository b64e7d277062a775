import { describe, expect, it } from 'vitest';
import type { FileError } from '../shared/contract.js';
import {
  TOOLTIP_MAX,
  folderName,
  menuLabel,
  trayIconFiles,
  trayView,
  type TrayFolder,
  type TrayRun,
} from './tray-state.js';

function issue(path: string, code: string): FileError {
  return { path, code, message: `${path}: ${code}` };
}

function folder(
  id: string,
  path: string,
  clear: FileError[] = [],
  extra: Partial<TrayFolder> = {},
): TrayFolder {
  return {
    id,
    path,
    inTheClearFiles: clear.length,
    inTheClear: clear,
    runningRunId: null,
    lastRun: { at: 1, outcome: 'ok' },
    mandatory: false,
    ...extra,
  };
}

const invoices = (clear: FileError[] = [], extra: Partial<TrayFolder> = {}) =>
  folder('f1', '/home/ana/Invoices', clear, extra);
const contracts = (clear: FileError[] = []) => folder('f2', 'C:\\Users\\ana\\Contracts\\', clear);

describe('trayView', () => {
  it('says protected, with the folder or the count, only when nothing is in the clear', () => {
    const one = trayView({ folders: [invoices()] });
    expect(one).toMatchObject({
      state: 'protected',
      icon: 'tray-protected',
      status: 'All files protected in Invoices',
    });
    expect(one.tooltip).toBe('Coffer: All files protected in Invoices');
    expect(trayView({ folders: [invoices(), contracts()] }).status).toBe('All files protected in 2 folders');
  });

  it('needs the user for files in the clear for a reason other than waiting, with counts and the folder', () => {
    const v = trayView({
      folders: [invoices([issue('a.pdf', 'IN_USE'), issue('b.pdf', 'WAITING'), issue('c.pdf', 'CONFLICT')])],
    });
    expect(v).toMatchObject({
      state: 'attention',
      icon: 'tray-attention',
      status: '3 files in the clear in Invoices',
      folderId: 'f1',
    });
    const two = trayView({
      folders: [invoices([issue('a', 'IN_USE')]), contracts([issue('b', 'HARD_LINK')])],
    });
    expect(two.status).toBe('2 files in the clear in 2 folders');
    // A Windows path with a trailing separator is named by its last part.
    expect(trayView({ folders: [contracts([issue('b', 'HARD_LINK')])] }).status).toBe(
      '1 file in the clear in Contracts',
    );
  });

  it('shows new files waiting for their grace period as work, still counted as in the clear', () => {
    const v = trayView({ folders: [invoices([issue('new.docx', 'WAITING')])] });
    expect(v.state).toBe('working');
    expect(v.status).toBe('1 file in the clear in Invoices, being protected');
    expect(v.status).not.toMatch(/protected in/);
  });

  it('needs the user for waiting files in a folder the watcher does not watch (only added, or run cancelled)', () => {
    const waiting = [issue('new.docx', 'WAITING')];
    for (const lastRun of [null, { at: 1, outcome: 'cancelled' as const }]) {
      const v = trayView({ folders: [invoices(waiting, { lastRun })] });
      expect(v).toMatchObject({
        state: 'attention',
        status: '1 file in the clear in Invoices',
        folderId: 'f1',
      });
      // A mandatory folder is watched whatever its last run.
      expect(trayView({ folders: [invoices(waiting, { lastRun, mandatory: true })] }).state).toBe('working');
    }
    // A failed run leaves the folder watched: new files there are still protected by the watcher.
    expect(trayView({ folders: [invoices(waiting, { lastRun: { at: 1, outcome: 'failed' } })] }).state).toBe(
      'working',
    );
  });

  it('turns waiting files into attention once they stayed (the notifier says so)', () => {
    const v = trayView({ folders: [invoices([issue('new.docx', 'WAITING')])], stuck: new Set(['f1']) });
    expect(v).toMatchObject({
      state: 'attention',
      status: '1 file in the clear in Invoices',
      folderId: 'f1',
    });
  });

  it('does not call files past the list limit "waiting": their reasons are unknown', () => {
    const v = trayView({ folders: [invoices([issue('a', 'WAITING')], { inTheClearFiles: 800 })] });
    expect(v.state).toBe('attention');
    expect(v.status).toBe('800 files in the clear in Invoices');
  });

  it('shows a running run as work, with its folder and progress', () => {
    const run: TrayRun = {
      kind: 'protect',
      folderId: 'f1',
      state: 'running',
      filesDone: 40,
      filesTotal: 1200,
    };
    const runs = [run];
    const v = trayView({ folders: [invoices([issue('a', 'IN_USE')], { runningRunId: 'r1' })], runs });
    expect(v.state).toBe('working');
    expect(v.status).toBe('Protecting Invoices: 40 of 1,200 files');
    expect(v.detail).toEqual(['1 file in the clear in Invoices, being protected']);
    // A finished run is not work.
    const done = trayView({ folders: [invoices()], runs: [{ ...run, state: 'done' }] });
    expect(done.state).toBe('protected');
    const two = trayView({
      folders: [invoices(), contracts()],
      runs: [run, { ...run, folderId: 'f2' }],
    });
    expect(two.status).toBe('2 tasks running');
  });

  it('puts an unreadable policy, changed settings and a missing keychain before everything else', () => {
    const v = trayView({
      folders: [invoices()],
      policy: { status: 'invalid', problems: ['recoveryPublicKeys: not a key'] },
    });
    expect(v.state).toBe('attention');
    expect(v.status).toBe('Your organization’s policy cannot be read: new files are not encrypted');
    // No green "All files protected" anywhere under it (issue 12: one consistent state).
    expect([v.status, ...v.detail, v.tooltip].join('\n')).not.toMatch(/All files protected/);
    const all = trayView({
      folders: [invoices([issue('a', 'IN_USE')])],
      policy: { status: 'invalid', problems: [] },
      stateTampered: true,
      keychainProblem: 'No Secret Service',
    });
    expect(all.status).toBe('1 file in the clear in Invoices');
    expect(all.detail).toEqual([
      'Coffer’s settings were changed outside Coffer: new files are not encrypted',
      'Your organization’s policy cannot be read: new files are not encrypted',
      'The keychain is not available: new files are not encrypted',
    ]);
    expect(trayView({ folders: [], policy: { status: 'active', problems: [] } }).state).toBe('none');
  });

  it('never says protected for a folder Coffer cannot see: gone, or its drive not mounted (issue 10 item 4)', () => {
    // The status layer reads an empty mount point as a folder with nothing in the clear: 0 is not "protected".
    const unmounted = trayView({
      folders: [invoices(), folder('f3', '/mnt/Drive', [], { unavailable: 'not-mounted' })],
    });
    expect(unmounted).toMatchObject({
      state: 'attention',
      status: 'Drive is not available: its drive is not connected',
      folderId: 'f3',
    });
    expect([unmounted.status, ...unmounted.detail, unmounted.tooltip].join('\n')).not.toMatch(/protected in/);
    // A gone folder's unreadable root is not "1 file in the clear": it is said as it is.
    const gone = trayView({
      folders: [folder('f3', '/media/ana/USB', [issue('.', 'UNREADABLE')], { unavailable: 'missing' })],
    });
    expect(gone.status).toBe('USB cannot be found');
    expect(gone.detail).toEqual([]);
  });

  it('is unavailable, never protected, when the folder list fails', () => {
    const v = trayView({ folders: null });
    expect(v).toMatchObject({
      state: 'unavailable',
      icon: 'tray-unavailable',
      status: 'Status unavailable: open Coffer',
    });
    expect(trayView({ folders: null, stateTampered: true }).detail).toHaveLength(1);
  });

  it('says "none" with no folder, and what to do', () => {
    expect(trayView({ folders: [] })).toMatchObject({
      state: 'none',
      status: 'No protected folders: add one in Coffer',
    });
  });

  it('keeps the tooltip within Windows’ limit and folder names printable', () => {
    const long = folder('f9', `/data/${'Customer contracts '.repeat(12)}`, [issue('a', 'IN_USE')]);
    const v = trayView({ folders: [long] });
    expect(v.tooltip.length).toBeLessThanOrEqual(TOOLTIP_MAX);
    expect(v.status).toMatch(/…$/);
    // A right-to-left override in a folder name would reverse the rest of the line.
    expect(folderName('/home/ana/inv\u202Efdp.exe')).toBe('inv\\u{202E}fdp.exe');
  });
});

describe('folderName', () => {
  it('names a POSIX folder by its whole last part: a backslash is a character there, not a separator', () => {
    // A folder named `Old\Invoices` on Linux or macOS must not be shown as another folder called "Invoices".
    expect(folderName('/home/ana/Old\\Invoices')).toBe('Old\\Invoices');
    expect(folderName('/home/ana/Old\\Invoices/')).toBe('Old\\Invoices');
    // Windows paths keep both separators.
    expect(folderName('C:\\Users\\ana\\Invoices')).toBe('Invoices');
    expect(folderName('\\\\server\\share\\Deals\\')).toBe('Deals');
    expect(folderName('C:/Users/ana/Invoices')).toBe('Invoices');
    expect(folderName('/')).toBe('/');
  });
});

describe('trayIconFiles', () => {
  it('prefers template images on macOS and colour images elsewhere', () => {
    expect(trayIconFiles('attention', 'darwin')).toEqual([
      'tray-attentionTemplate.png',
      'tray-attention.png',
    ]);
    expect(trayIconFiles('working', 'win32')).toEqual(['tray-working.png']);
    expect(trayIconFiles('none', 'linux')).toEqual(['tray-none.png']);
  });
});

describe('menuLabel', () => {
  it('keeps an ampersand in a folder name visible in menus on every platform', () => {
    // Windows reads '&' as the shortcut marker, and so does Electron on macOS and Linux (electron/electron
    // #25028, #9978: 'This & that' shows as 'This  that'; Chromium's dbusmenu turns '&D' into the GTK
    // mnemonic '_D'). '&&' is the documented escape, the same for all three.
    const { status } = trayView({ folders: [folder('f3', '/data/R&D', [issue('a', 'IN_USE')])] });
    expect(menuLabel(status)).toBe('1 file in the clear in R&&D');
  });
});

describe('cut names and lines', () => {
  it('never splits a character made of two UTF-16 units (a lone surrogate is not text)', () => {
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;
    // 38 letters, then emoji: the 40-character cut falls inside the second emoji's pair.
    const name = `${'a'.repeat(38)}${'\u{1F4C1}'.repeat(5)}`;
    const cut = folderName(`/home/ana/${name}`);
    expect(cut).not.toMatch(lone);
    expect(cut.endsWith('…')).toBe(true);
    // The tooltip's own cut, at 127 characters, on a status line made long by a long emoji name.
    for (let pad = 0; pad < 4; pad++) {
      const v = trayView({
        folders: [folder('f1', `/x/${'b'.repeat(pad)}${'\u{1F4C1}'.repeat(30)}`, [issue('a', 'IN_USE')])],
        runs: [{ kind: 'protect', folderId: 'f2', state: 'running', filesDone: 1, filesTotal: 2 }],
        stateTampered: true,
      });
      for (const line of [v.tooltip, v.status, ...v.detail]) expect(line).not.toMatch(lone);
      expect(v.tooltip.length).toBeLessThanOrEqual(TOOLTIP_MAX);
    }
  });
});
