import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCofferError } from '../../crypto/errors.js';
import { JsonSettingsStore, defaultSettings, writeFileAtomic } from './settings.js';
import { appPaths } from './app-paths.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-settings-'));

describe('settings', () => {
  it('reads defaults when there is no file, and writes atomically (no temp file left, mode 0600)', () => {
    const dir = tmp();
    const file = path.join(dir, 'sub', 'settings.json');
    const store = new JsonSettingsStore(file);
    expect(store.read()).toEqual(defaultSettings());
    store.update((s) => ({ ...s, deviceKeyId: '0011-2233-4455-6677' }));
    expect(new JsonSettingsStore(file).read().deviceKeyId).toBe('0011-2233-4455-6677');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['settings.json']);
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a damaged file with SETTINGS_CORRUPT instead of starting over', () => {
    const dir = tmp();
    const file = path.join(dir, 'settings.json');
    for (const text of ['{"version":1', '{"version":7}']) {
      fs.writeFileSync(file, text);
      let code = '';
      try {
        new JsonSettingsStore(file).read();
      } catch (error) {
        code = isCofferError(error) ? error.code : 'other';
      }
      expect(code).toBe('SETTINGS_CORRUPT');
    }
  });

  it('writeFileAtomic replaces content whole', () => {
    const file = path.join(tmp(), 'x');
    writeFileAtomic(file, 'one');
    writeFileAtomic(file, 'two');
    expect(fs.readFileSync(file, 'utf8')).toBe('two');
  });
});

describe('app paths', () => {
  it('follow COFFER_HOME, else the platform’s app-data folder (Electron userData for "Coffer")', () => {
    const homedir = '/home/u';
    expect(appPaths({ env: { COFFER_HOME: '/x/y' }, platform: 'linux', homedir }).settingsFile).toBe(
      path.resolve('/x/y/settings.json'),
    );
    expect(appPaths({ env: {}, platform: 'linux', homedir }).home).toBe(path.join('/home/u/.config/Coffer'));
    expect(appPaths({ env: { XDG_CONFIG_HOME: '/cfg' }, platform: 'linux', homedir }).home).toBe(
      path.join('/cfg/Coffer'),
    );
    expect(appPaths({ env: {}, platform: 'darwin', homedir }).home).toBe(
      path.join('/home/u/Library/Application Support/Coffer'),
    );
    expect(appPaths({ env: { APPDATA: 'C:\\AppData' }, platform: 'win32', homedir }).home).toBe(
      path.join('C:\\AppData', 'Coffer'),
    );
  });
});
