/**
 * Is the Electron in the lock file still supported? Electron patches its three newest stable majors only
 * (electronjs.org/docs/latest/tutorial/electron-timelines): an older major gets no more Chromium security
 * fixes, so shipping it must fail CI (issue 12 item 1). The list of published versions comes from the
 * package registry npm is configured with (`npm view electron versions --json`), at test or build time.
 * Offline, the check says so and is skipped: it never passes silently.
 *
 * `tsx scripts/check-electron-support.ts` prints one line; exit 1 when the locked major is out of the window.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Electron supports this many stable majors at a time. */
export const SUPPORTED_MAJORS = 3;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Stable releases only: an alpha, beta or nightly of the next major does not move the window. */
const STABLE = /^(\d+)\.\d+\.\d+$/;

/** The newest `count` stable majors among the published versions, newest first. */
export function supportedMajors(published: readonly string[], count = SUPPORTED_MAJORS): number[] {
  const majors = new Set<number>();
  for (const version of published) {
    const match = STABLE.exec(version);
    if (match?.[1] !== undefined) majors.add(Number(match[1]));
  }
  return [...majors].sort((a, b) => b - a).slice(0, count);
}

/** The Electron version package-lock.json pins (what `npm ci` installs and electron-builder packages). */
export function lockedElectronVersion(lockText: string): string {
  const lock = JSON.parse(lockText) as { packages?: Record<string, { version?: string }> };
  const version = lock.packages?.['node_modules/electron']?.version;
  if (version === undefined) throw new Error('package-lock.json holds no node_modules/electron entry');
  return version;
}

export interface SupportVerdict {
  supported: boolean;
  locked: string;
  window: number[];
  message: string;
}

export function checkSupport(locked: string, published: readonly string[]): SupportVerdict {
  const window = supportedMajors(published);
  const major = Number(locked.split('.')[0]);
  const supported = window.includes(major);
  const range = window.join(', ');
  const message = supported
    ? `Electron ${locked} is supported (supported majors: ${range}).`
    : `Electron ${locked} is out of the supported window (majors ${range} receive security fixes): ` +
      `update with \`npm install --save-dev electron@^${window[0] ?? '?'}\`.`;
  return { supported, locked, window, message };
}

export type Published = { ok: true; versions: string[] } | { ok: false; reason: string };

/** Every published Electron version, from the registry npm is configured with; never throws. */
export function fetchPublishedVersions(timeoutMs = 20_000): Promise<Published> {
  return new Promise((resolve) => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    execFile(
      npm,
      // One attempt: npm's default retries turn an unreachable registry into a minute of waiting.
      ['view', 'electron', 'versions', '--json', '--fetch-retries=0'],
      { timeout: timeoutMs, shell: process.platform === 'win32', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const lines = `${stderr}\n${stdout}`.split('\n');
          const why =
            lines.find((line) => /reason:/.test(line)) ?? lines.find((line) => /error code/.test(line));
          resolve({ ok: false, reason: (why ?? error.message).replace(/^npm error\s*/, '').trim() });
          return;
        }
        try {
          const versions: unknown = JSON.parse(stdout);
          if (!Array.isArray(versions) || !versions.every((v) => typeof v === 'string'))
            throw new Error('not a list of versions');
          resolve({ ok: true, versions });
        } catch (parseError) {
          resolve({ ok: false, reason: `unreadable answer (${String(parseError)})` });
        }
      },
    );
  });
}

export function readLockedVersion(root = ROOT): string {
  return lockedElectronVersion(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
}

async function main(): Promise<number> {
  const locked = readLockedVersion();
  const published = await fetchPublishedVersions();
  if (!published.ok) {
    console.log(
      `Electron support check skipped: the package registry cannot be reached (${published.reason}); locked: ${locked}.`,
    );
    return 0;
  }
  const verdict = checkSupport(locked, published.versions);
  (verdict.supported ? console.log : console.error)(verdict.message);
  return verdict.supported ? 0 : 1;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
