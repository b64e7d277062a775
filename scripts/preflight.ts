/**
 * Before anything slow (issue 12 item 4): can this machine do what `npm start` or `npm run dist` is about to
 * do? Without it, an installer build dies after 45 s on a raw ENOTFOUND when GitHub is unreachable, and
 * `--mac` on Linux starts and fails the same way. It answers in ONE line:
 * - targets this host cannot build (DMG/PKG off macOS, MSI off Windows, …) → exit 2, before anything starts;
 * - what must be downloaded and cannot be (the Electron binary, electron-builder's tools), and how to supply
 *   it (electronDist, ELECTRON_MIRROR, ELECTRON_BUILDER_BINARIES_MIRROR, or the download cache) → exit 1.
 * docs/DEPLOYMENT.md §1 "Offline builds" explains the same for IT.
 *
 *   tsx scripts/preflight.ts start                 # before `npm start`
 *   tsx scripts/preflight.ts dist [builder args]   # before `npm run dist` (scripts/dist.ts runs it)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DOCS = 'docs/DEPLOYMENT.md §1 "Offline builds"';
const ELECTRON_HOST = 'https://github.com/electron/electron/releases/download/';
const BUILDER_HOST = 'https://github.com/electron-userland/electron-builder-binaries/releases/download/';

export type Platform = 'darwin' | 'win32' | 'linux';
export interface Target {
  platform: Platform;
  target: string;
}

/** The installers electron-builder.ts builds per OS when the command line names none. */
const DEFAULT_TARGETS: Record<Platform, string[]> = {
  darwin: ['dmg', 'pkg'],
  win32: ['nsis', 'msi'],
  linux: ['AppImage', 'deb', 'rpm'],
};

const PLATFORM_FLAGS: Record<string, Platform> = {
  '--mac': 'darwin',
  '--macos': 'darwin',
  '-m': 'darwin',
  '-o': 'darwin',
  '--win': 'win32',
  '--windows': 'win32',
  '-w': 'win32',
  '--linux': 'linux',
  '-l': 'linux',
};

/** The targets an electron-builder command line asks for (`--mac`, `--linux deb rpm`, `--dir`, none). */
export function requestedTargets(args: readonly string[], host: Platform): Target[] {
  const named = new Map<Platform, string[]>();
  let current: Platform | undefined;
  let dir = false;
  for (const arg of args) {
    const platform = PLATFORM_FLAGS[arg];
    if (platform !== undefined) {
      current = platform;
      if (!named.has(platform)) named.set(platform, []);
    } else if (arg === '--dir') dir = true;
    else if (arg.startsWith('-')) current = undefined;
    else if (current !== undefined) named.get(current)?.push(arg);
  }
  if (named.size === 0) named.set(host, []);
  return [...named].flatMap(([platform, targets]) => {
    const chosen = dir ? ['dir'] : targets.length > 0 ? targets : DEFAULT_TARGETS[platform];
    return chosen.map((target) => ({ platform, target }));
  });
}

export interface HostFacts {
  platform: Platform;
  hasCommand(name: string): boolean;
}

/** Why this host cannot build a target, or null. Checked before anything is built or downloaded. */
export function cannotBuild(t: Target, host: HostFacts): string | null {
  const target = t.target.toLowerCase();
  if (target === 'dir' && t.platform !== 'darwin') return null;
  if (t.platform === 'darwin' && host.platform !== 'darwin')
    return `${target === 'dir' ? 'a macOS app' : target.toUpperCase()} builds only on macOS`;
  if (target === 'msi' && host.platform !== 'win32') return 'MSI builds only on Windows (the WiX toolset)';
  if (target === 'nsis' && host.platform !== 'win32' && !host.hasCommand('wine'))
    return 'NSIS off Windows needs Wine, which is not installed';
  if (t.platform === 'linux' && host.platform !== 'linux') return `${t.target} builds only on Linux`;
  if (target === 'rpm' && !host.hasCommand('rpmbuild')) return 'rpm needs rpmbuild, which is not installed';
  return null;
}

/** electron-builder's own downloads per target (its cache folder names; electron-builder-binaries). */
export function toolsFor(t: Target): string[] {
  switch (t.target.toLowerCase()) {
    case 'appimage':
      return ['appimage'];
    case 'deb':
    case 'rpm':
      return ['fpm'];
    case 'nsis':
      return ['nsis', 'nsis-resources', 'winCodeSign'];
    case 'msi':
      return ['wix', 'winCodeSign'];
    case 'dmg':
      return ['dmg-builder'];
    default:
      return [];
  }
}

export interface Probe {
  /** null when the URL answers (any HTTP status), else why not (ENOTFOUND, ECONNREFUSED, timeout). */
  (url: string): Promise<string | null>;
}

export const probe: Probe = async (url) => {
  try {
    await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(4000), redirect: 'manual' });
    return null;
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const name = error instanceof Error && error.name === 'TimeoutError' ? 'no answer in 4 s' : undefined;
    return name ?? cause?.code ?? cause?.message ?? String(error);
  }
};

function env(name: string, source: NodeJS.ProcessEnv): string | undefined {
  const value = source[name] ?? source[`npm_config_${name.toLowerCase()}`];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Where @electron/get keeps downloaded Electron zips (electron_config_cache overrides). */
export function electronCache(source: NodeJS.ProcessEnv, platform = process.platform): string {
  const custom = env('electron_config_cache', source);
  if (custom !== undefined) return custom;
  if (platform === 'darwin') return path.join(os.homedir(), 'Library/Caches/electron');
  if (platform === 'win32')
    return path.join(source.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData/Local'), 'electron/Cache');
  return path.join(source.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'electron');
}

/** Where electron-builder keeps its tools (ELECTRON_BUILDER_CACHE overrides). */
export function builderCache(source: NodeJS.ProcessEnv, platform = process.platform): string {
  const custom = env('ELECTRON_BUILDER_CACHE', source);
  if (custom !== undefined) return custom;
  if (platform === 'darwin') return path.join(os.homedir(), 'Library/Caches/electron-builder');
  if (platform === 'win32')
    return path.join(
      source.LOCALAPPDATA ?? path.join(os.homedir(), 'AppData/Local'),
      'electron-builder/Cache',
    );
  return path.join(source.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'electron-builder');
}

/** Is the zip in the cache (@electron/get files it one folder down, under a hash of its URL)? */
function cachedZip(cache: string, zip: string): boolean {
  if (fs.existsSync(path.join(cache, zip))) return true;
  try {
    return fs.readdirSync(cache).some((entry) => fs.existsSync(path.join(cache, entry, zip)));
  } catch {
    return false;
  }
}

function electronVersion(root: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/electron/package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** `-c.electronDist=…` / `--config.electronDist …` on the builder command line, or COFFER_ELECTRON_DIST. */
export function electronDistOf(args: readonly string[], source: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const match = /^(?:-c|--config)\.electronDist(?:=(.*))?$/.exec(args[i] ?? '');
    if (match) return match[1] ?? args[i + 1];
  }
  return env('COFFER_ELECTRON_DIST', source);
}

export interface Verdict {
  code: 0 | 1 | 2;
  line: string;
}

export interface PreflightOptions {
  mode: 'start' | 'dist';
  args?: readonly string[];
  env?: NodeJS.ProcessEnv;
  root?: string;
  host?: HostFacts;
  arch?: string;
  probe?: Probe;
}

function defaultHost(): HostFacts {
  const lookup = process.platform === 'win32' ? 'where' : 'which';
  return {
    platform: process.platform as Platform,
    hasCommand: (name) => spawnSync(lookup, [name], { stdio: 'ignore' }).status === 0,
  };
}

export async function preflight(options: PreflightOptions): Promise<Verdict> {
  const source = options.env ?? process.env;
  const root = options.root ?? ROOT;
  const host = options.host ?? defaultHost();
  const arch = options.arch ?? process.arch;
  const check = options.probe ?? probe;
  const version = electronVersion(root);
  const electronMirror = env('ELECTRON_MIRROR', source);
  const electronUrl = electronMirror ?? ELECTRON_HOST;

  if (options.mode === 'start') {
    // The electron package fetches its binary when first run (not at install): can it?
    const pathTxt = path.join(root, 'node_modules/electron/path.txt');
    const override = env('ELECTRON_OVERRIDE_DIST_PATH', source);
    const installed = fs.existsSync(pathTxt) && fs.existsSync(path.join(root, 'node_modules/electron/dist'));
    if (override !== undefined || installed)
      return { code: 0, line: `preflight: Electron ${version} is here.` };
    const zip = `electron-v${version}-${host.platform}-${arch}.zip`;
    if (cachedZip(electronCache(source, host.platform), zip))
      return { code: 0, line: `preflight: Electron ${version} will be unpacked from the download cache.` };
    const why = await check(electronUrl);
    if (why === null)
      return { code: 0, line: `preflight: Electron ${version} will be downloaded on first start.` };
    return {
      code: 1,
      line:
        `preflight: cannot download the Electron ${version} binary (${hostOf(electronUrl)}: ${why}); supply it: ` +
        `ELECTRON_MIRROR=<reachable mirror>, or ELECTRON_OVERRIDE_DIST_PATH=<unpacked Electron ${version}> ` +
        `(the dev-run equivalent of electronDist), or put ${zip} in ${electronCache(source, host.platform)} — ${DOCS}.`,
    };
  }

  const args = options.args ?? [];
  const targets = requestedTargets(args, host.platform);
  const refused = targets.flatMap((t) => {
    const why = cannotBuild(t, host);
    return why === null ? [] : [`${t.target} (${why})`];
  });
  if (refused.length > 0)
    return {
      code: 2,
      line: `preflight: this ${host.platform} machine cannot build ${refused.join(', ')}: build each installer on its own OS — ${DOCS}.`,
    };

  const missing: string[] = [];
  const remedies: string[] = [];
  const electronDist = electronDistOf(args, source);
  if (electronDist === undefined) {
    const zips = [...new Set(targets.map((t) => `electron-v${version}-${t.platform}-${arch}.zip`))];
    const absent = zips.filter((zip) => !cachedZip(electronCache(source, host.platform), zip));
    const why = absent.length > 0 ? await check(electronUrl) : null;
    if (why !== null) {
      missing.push(`Electron ${version} (${absent.join(', ')}; ${hostOf(electronUrl)}: ${why})`);
      remedies.push(
        `electronDist (COFFER_ELECTRON_DIST=<unpacked Electron ${version}> or -c.electronDist=…)`,
        'ELECTRON_MIRROR=<reachable mirror>',
        `the zip in ${electronCache(source, host.platform)}`,
      );
    }
  }
  const tools = [...new Set(targets.flatMap(toolsFor))].filter(
    (tool) => !fs.existsSync(path.join(builderCache(source, host.platform), tool)),
  );
  if (tools.length > 0) {
    const builderUrl = env('ELECTRON_BUILDER_BINARIES_MIRROR', source) ?? BUILDER_HOST;
    const why = await check(builderUrl);
    if (why !== null) {
      missing.push(`electron-builder's ${tools.join(', ')} (${hostOf(builderUrl)}: ${why})`);
      remedies.push(
        'ELECTRON_BUILDER_BINARIES_MIRROR=<reachable mirror>',
        `the tools in ${builderCache(source, host.platform)}`,
      );
    }
  }
  const names = targets.map((t) => t.target).join(', ');
  if (missing.length === 0) return { code: 0, line: `preflight: ready to build ${names}.` };
  return {
    code: 1,
    line: `preflight: cannot download ${missing.join(' and ')} for ${names}; supply: ${remedies.join(', or ')} — ${DOCS}.`,
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}

async function main(): Promise<number> {
  const [mode, ...args] = process.argv.slice(2);
  if (mode !== 'start' && mode !== 'dist') {
    console.error('usage: tsx scripts/preflight.ts start | dist [electron-builder arguments]');
    return 2;
  }
  const verdict = await preflight({ mode, args });
  (verdict.code === 0 ? console.log : console.error)(verdict.line);
  return verdict.code;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
