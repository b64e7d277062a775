/**
 * Issue 12 item 4: the preflight says in one line what cannot be downloaded and how to supply it, and refuses
 * targets this host cannot build, before anything slow. The real script, run as `npm start` / `npm run dist`
 * run it, against a mirror that refuses connections and empty download caches.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestedTargets } from './preflight.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = path.join(ROOT, 'scripts/preflight.ts');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-preflight-'));
const electronVersion = (
  JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as {
    version: string;
  }
).version;
let deadMirror = '';

beforeAll(async () => {
  // A port that was just free: connecting to it is refused at once (a mirror that is down).
  const server = net.createServer();
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  deadMirror = `http://127.0.0.1:${port}/`;
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

function emptyDir(name: string): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function run(
  args: string[],
  extra: Record<string, string> = {},
): { code: number | null; lines: string[]; ms: number } {
  // Nothing of the caller's download setup leaks in: the test sets it.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(ELECTRON_|COFFER_ELECTRON_DIST|electron_config_cache|npm_config_electron)/i.test(name),
    ),
  );
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...env,
      ELECTRON_MIRROR: deadMirror,
      ELECTRON_BUILDER_BINARIES_MIRROR: deadMirror,
      electron_config_cache: emptyDir('electron-cache'),
      ELECTRON_BUILDER_CACHE: emptyDir('builder-cache'),
      ...extra,
    },
  });
  const lines = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
  return { code: result.status, lines, ms: performance.now() - started };
}

const notLinux =
  process.platform === 'linux' ? null : 'the refusals below are written for a Linux build host';
if (notLinux) console.warn(`[preflight] skipped: ${notLinux}`);

describe.skipIf(notLinux !== null)('npm run dist: the preflight', () => {
  it('refuses DMG and PKG on Linux before anything starts: one line, exit 2', () => {
    const r = run(['dist', '--mac']);
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(
      /cannot build dmg \(DMG builds only on macOS\), pkg \(PKG builds only on macOS\)/,
    );
    expect(r.lines[0]).toContain('DEPLOYMENT.md');
    expect(r.ms).toBeLessThan(10_000);
  });

  it('refuses MSI off Windows too', () => {
    const r = run(['dist', '--win', 'msi']);
    expect(r.code).toBe(2);
    expect(r.lines[0]).toMatch(/MSI builds only on Windows/);
  });

  it('Electron cannot be downloaded: one line naming it, the mirror that failed, and electronDist / ELECTRON_MIRROR', () => {
    const r = run(['dist', '--linux', 'dir']);
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(1);
    const line = r.lines[0] ?? '';
    expect(line).toContain(`Electron ${electronVersion}`);
    expect(line).toContain(`electron-v${electronVersion}-linux-${process.arch}.zip`);
    expect(line).toContain('ECONNREFUSED');
    expect(line).toContain('electronDist');
    expect(line).toContain('ELECTRON_MIRROR');
    expect(line).not.toContain('ELECTRON_BUILDER_BINARIES_MIRROR'); // `dir` needs no builder tools
    expect(r.ms).toBeLessThan(10_000);
  });

  it("electron-builder's tools cannot be downloaded either: ELECTRON_BUILDER_BINARIES_MIRROR in the same line", () => {
    const r = run(['dist', '--linux', 'deb', 'AppImage']);
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/electron-builder's fpm, appimage/);
    expect(r.lines[0]).toContain('ELECTRON_BUILDER_BINARIES_MIRROR');
  });

  it('passes with an electronDist, or with the Electron zip already in the download cache', () => {
    expect(run(['dist', '--linux', 'dir'], { COFFER_ELECTRON_DIST: work }).code).toBe(0);
    expect(run(['dist', '--linux', 'dir', `-c.electronDist=${work}`]).code).toBe(0);
    const cache = emptyDir('filled-cache');
    fs.mkdirSync(path.join(cache, 'a1b2c3'));
    fs.writeFileSync(
      path.join(cache, 'a1b2c3', `electron-v${electronVersion}-linux-${process.arch}.zip`),
      '',
    );
    const r = run(['dist', '--linux', 'dir'], { electron_config_cache: cache });
    expect(r.code).toBe(0);
    expect(r.lines).toEqual(['preflight: ready to build dir.']);
  });
});

const binaryPresent = fs.existsSync(path.join(ROOT, 'node_modules/electron/path.txt'));
if (binaryPresent)
  console.warn('[preflight] `npm start` case skipped: the Electron binary is installed here');

describe.skipIf(binaryPresent || notLinux !== null)('npm start: the preflight', () => {
  it('the binary is not installed and cannot be fetched: one line, how to supply it, exit 1', () => {
    const r = run(['start']);
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/cannot download the Electron .* binary \(127\.0\.0\.1:\d+: ECONNREFUSED\)/);
    expect(r.lines[0]).toContain('ELECTRON_MIRROR');
    expect(r.lines[0]).toContain('ELECTRON_OVERRIDE_DIST_PATH');
    expect(r.ms).toBeLessThan(10_000);
  });

  it('passes when the zip is in the download cache (the electron package unpacks it on first start)', () => {
    const cache = emptyDir('start-cache');
    fs.writeFileSync(path.join(cache, `electron-v${electronVersion}-linux-${process.arch}.zip`), '');
    expect(run(['start'], { electron_config_cache: cache }).code).toBe(0);
  });
});

describe('the targets an electron-builder command line asks for', () => {
  it('reads platforms, named targets, --dir, and the host default', () => {
    expect(requestedTargets([], 'linux').map((t) => t.target)).toEqual(['AppImage', 'deb', 'rpm']);
    expect(requestedTargets(['--mac'], 'linux')).toEqual([
      { platform: 'darwin', target: 'dmg' },
      { platform: 'darwin', target: 'pkg' },
    ]);
    expect(requestedTargets(['--linux', 'deb', '--x64'], 'darwin')).toEqual([
      { platform: 'linux', target: 'deb' },
    ]);
    expect(requestedTargets(['--win', '--dir'], 'linux')).toEqual([{ platform: 'win32', target: 'dir' }]);
  });
});
