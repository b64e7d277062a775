/**
 * The guard rails' rules on each OS's paths (Windows and macOS rules checked with their path API, as a
 * Linux machine cannot have those folders), and on real files and symlinks for this machine.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCofferError } from '../../../crypto/errors.js';
import { GuardRails, globToRegExp } from './guard-rails.js';
import { LitterFilter } from './litter.js';
import { walkFolder } from './walk.js';

function refusal(rails: GuardRails, folder: string): string {
  try {
    rails.assertCanProtect(folder);
    return 'allowed';
  } catch (error) {
    if (isCofferError(error)) return error.code;
    throw error;
  }
}

describe('Windows rules', () => {
  const rails = new GuardRails({
    platform: 'win32',
    homedir: 'C:\\Users\\ana',
    env: {
      APPDATA: 'C:\\Users\\ana\\AppData\\Roaming',
      LOCALAPPDATA: 'C:\\Users\\ana\\AppData\\Local',
      SystemRoot: 'C:\\Windows',
      SystemDrive: 'C:',
    },
    appHome: 'C:\\Users\\ana\\AppData\\Roaming\\Coffer',
  });
  it.each([
    'C:\\',
    'D:\\',
    'C:\\Users',
    'C:\\Users\\ana',
    'c:\\users\\ANA', // case-insensitive, as NTFS is
    'C:\\Users\\bob',
    'C:\\Windows\\System32',
    'C:\\Program Files\\Coffer',
    'C:\\ProgramData',
    'C:\\Users\\ana\\AppData\\Roaming\\Microsoft\\Protect',
    'C:\\Users\\ana\\AppData\\Roaming\\Coffer\\workspace',
    'C:\\Users\\ana\\AppData',
    'C:\\Users\\ana\\.ssh',
  ])('refuses %s', (folder) => {
    expect(refusal(rails, folder)).toBe('FOLDER_FORBIDDEN');
  });
  it.each(['C:\\Users\\ana\\Documents', 'C:\\Users\\ana\\Documents\\Clients', 'D:\\Work'])(
    'allows %s',
    (folder) => {
      expect(refusal(rails, folder)).toBe('allowed');
    },
  );
});

describe('macOS rules', () => {
  const rails = new GuardRails({
    platform: 'darwin',
    homedir: '/Users/ana',
    env: {},
    appHome: '/Users/ana/Library/Application Support/Coffer',
    tmpdir: '/var/folders/xy/T',
  });
  it.each([
    '/',
    '/Users',
    '/Users/ana',
    '/users/Ana',
    '/Users/bob',
    '/Users/ana/Library',
    '/Users/ana/Library/Keychains',
    '/System/Library',
    '/Library/Keychains',
    '/Applications',
    '/var/db',
    '/Volumes',
  ])('refuses %s', (folder) => {
    expect(refusal(rails, folder)).toBe('FOLDER_FORBIDDEN');
  });
  it.each(['/Users/ana/Documents', '/Volumes/USB/Clients', '/var/folders/xy/T/coffer-test'])(
    'allows %s',
    (folder) => {
      expect(refusal(rails, folder)).toBe('allowed');
    },
  );
});

describe('Linux rules', () => {
  const rails = new GuardRails({
    platform: 'linux',
    homedir: '/home/ana',
    env: { XDG_DATA_HOME: '/home/ana/data' },
    appHome: '/home/ana/.config/Coffer',
    tmpdir: '/tmp',
  });
  it.each([
    '/',
    '/home',
    '/home/ana',
    '/home/bob',
    '/root',
    '/etc',
    '/usr/share',
    '/var/lib',
    '/home/ana/.config',
    '/home/ana/.local/share/keyrings',
    '/home/ana/data', // holds the keyrings (XDG_DATA_HOME)
    '/home/ana/Documents/.git',
    '/media',
  ])('refuses %s', (folder) => {
    expect(refusal(rails, folder)).toBe('FOLDER_FORBIDDEN');
  });
  it.each(['/home/ana/Documents', '/run/media/ana/USB', '/media/ana/USB', '/tmp/work', '/var/tmp/work'])(
    'allows %s',
    (folder) => {
      expect(refusal(rails, folder)).toBe('allowed');
    },
  );
});

describe('on this machine', () => {
  let root: string;
  beforeEach(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'coffer-guard-')));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('compares by real path: a symlink to home or app data is refused, and so is a folder holding app data', () => {
    const home = join(root, 'home');
    const appHome = join(root, 'work', 'coffer-data');
    mkdirSync(home);
    mkdirSync(appHome, { recursive: true });
    const rails = new GuardRails({ platform: process.platform, homedir: home, env: {}, appHome });
    symlinkSync(home, join(root, 'me'));
    symlinkSync(appHome, join(root, 'data-link'));
    expect(refusal(rails, join(root, 'me'))).toBe('FOLDER_FORBIDDEN');
    expect(refusal(rails, join(root, 'data-link'))).toBe('FOLDER_FORBIDDEN');
    expect(refusal(rails, join(root, 'work'))).toBe('FOLDER_FORBIDDEN');
    expect(rails.forbiddenReason(join(root, 'work'))).toMatch(/contains .*coffer-data/);
  });

  it('the walk skips app data inside a protected folder, hidden entries and excluded ones, each with its reason', () => {
    const folder = join(root, 'Docs');
    const appHome = join(folder, 'coffer-data');
    mkdirSync(join(folder, '.git'), { recursive: true });
    mkdirSync(join(folder, 'node_modules', 'x'), { recursive: true });
    mkdirSync(join(folder, 'Clients', 'old'), { recursive: true });
    mkdirSync(appHome);
    writeFileSync(join(appHome, 'folders.json'), '{}');
    writeFileSync(join(folder, '.git', 'HEAD'), 'ref');
    writeFileSync(join(folder, '.bashrc'), 'x');
    writeFileSync(join(folder, 'node_modules', 'x', 'a.js'), 'x');
    writeFileSync(join(folder, 'Clients', 'mail.PST'), 'x');
    writeFileSync(join(folder, 'Clients', 'old', 'a.txt'), 'x');
    writeFileSync(join(folder, 'Clients', 'b.txt'), 'x');
    const rails = new GuardRails({ platform: process.platform, homedir: join(root, 'h'), env: {}, appHome });
    const guard = rails.forTree(folder, { policy: ['node_modules', '*.pst'], folder: ['Clients/old'] });
    const listing = walkFolder(folder, new LitterFilter(), guard);
    expect(listing.plaintext.map((f) => f.path)).toEqual([join(folder, 'Clients', 'b.txt')]);
    const skipped = Object.fromEntries(listing.skipped.map((s) => [s.path.slice(folder.length + 1), s.code]));
    expect(skipped).toEqual({
      '.git': 'HIDDEN',
      '.bashrc': 'HIDDEN',
      'coffer-data': 'FORBIDDEN_PATH',
      node_modules: 'EXCLUDED',
      'Clients/old': 'EXCLUDED',
      'Clients/mail.PST': 'EXCLUDED', // exclusions ignore case on every OS, as litter rules do
    });
    // The watcher's single paths get the same answers, folders on the way included.
    expect(guard.path(join(folder, 'node_modules', 'x', 'new.js'))?.code).toBe('EXCLUDED');
    expect(guard.path(join(folder, '.git', 'index'))?.code).toBe('HIDDEN');
    expect(guard.path(join(folder, 'coffer-data', 'folders.json'))?.code).toBe('FORBIDDEN_PATH');
    expect(guard.path(join(folder, 'Clients', 'c.txt'))).toBeNull();
  });

  it('globs: names at any depth, paths from the folder, ** across folders', () => {
    expect(globToRegExp('*.pst', false).test('mail.pst')).toBe(true);
    expect(globToRegExp('*.pst', false).test('a/mail.pst')).toBe(false); // names are matched on their own
    expect(globToRegExp('build/**', false).test('build/x/y.o')).toBe(true);
    expect(globToRegExp('**/cache', false).test('a/b/cache')).toBe(true);
    expect(globToRegExp('**/cache', false).test('cache')).toBe(true);
    expect(globToRegExp('report?.doc', false).test('report1.doc')).toBe(true);
    expect(globToRegExp('A.TXT', true).test('a.txt')).toBe(true);
    expect(globToRegExp('A.TXT', false).test('a.txt')).toBe(false);
  });
});
