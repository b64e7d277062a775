/**
 * Issue 12 item 1: CI fails when the locked Electron major falls out of the three supported majors. The live
 * test asks the package registry (through npm, as configured); offline it is reported skipped, with why.
 */
import { describe, expect, it } from 'vitest';
import {
  checkSupport,
  fetchPublishedVersions,
  lockedElectronVersion,
  readLockedVersion,
  supportedMajors,
} from './check-electron-support.js';

// What the registry listed on the day Electron 41 went out of support (an excerpt, with prereleases).
const PUBLISHED = [
  '41.7.1',
  '42.0.0-beta.3',
  '42.0.0',
  '42.3.2',
  '43.1.0',
  '44.0.0',
  '44.2.1',
  '45.0.0',
  '45.5.0',
  '46.0.0-alpha.1',
  '47.0.0-nightly.20261101',
];

describe('the supported Electron window', () => {
  it('is the three newest stable majors; prereleases of the next one do not count', () => {
    expect(supportedMajors(PUBLISHED)).toEqual([45, 44, 43]);
  });

  it('fails a lock file on Electron 41 (the version this repository shipped before issue 12)', () => {
    const verdict = checkSupport('41.7.1', PUBLISHED);
    expect(verdict.supported).toBe(false);
    expect(verdict.message).toContain('out of the supported window');
    expect(verdict.message).toContain('electron@^45');
  });

  it('fails 42 too, and accepts 43, 44 and 45', () => {
    expect(checkSupport('42.3.2', PUBLISHED).supported).toBe(false);
    for (const v of ['43.1.0', '44.2.1', '45.5.0']) expect(checkSupport(v, PUBLISHED).supported).toBe(true);
  });

  it('reads the version package-lock.json pins', () => {
    const lock = JSON.stringify({ packages: { 'node_modules/electron': { version: '45.5.0' } } });
    expect(lockedElectronVersion(lock)).toBe('45.5.0');
    expect(() => lockedElectronVersion('{"packages":{}}')).toThrow(/no node_modules\/electron/);
  });
});

const published = await fetchPublishedVersions();
if (!published.ok)
  console.warn(`[electron-support] skipped: the package registry cannot be reached (${published.reason})`);

describe.skipIf(!published.ok)('the Electron this repository locks, against the registry today', () => {
  it('is inside the supported window', () => {
    if (!published.ok) return;
    const verdict = checkSupport(readLockedVersion(), published.versions);
    expect(verdict.window).toHaveLength(3);
    expect(verdict.supported, verdict.message).toBe(true);
  });
});
