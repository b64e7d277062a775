/**
 * `npm run sbom`: a CycloneDX SBOM of what the installer ships (issue 12 item 3), written to
 * release/coffer-<version>.cdx.json beside the installers (`npm run dist` builds it every time).
 *
 * - The production dependency closure (exactly what electron-builder packs into app.asar): made by
 *   @cyclonedx/cyclonedx-npm with `--omit dev`, which reads the installed tree through `npm ls` (offline).
 * - The runtime the installer carries, which npm does not see: Electron (the version package-lock.json pins)
 *   with the Chromium and Node.js inside it. Where they come from, recorded in each component:
 *   - exact, read from the Electron binary itself when one is at hand (COFFER_ELECTRON_DIST, the unpacked
 *     Electron electron-builder packages, or the one the electron package downloaded for `npm start`):
 *     `process.versions` run with ELECTRON_RUN_AS_NODE (a stock Electron still has that fuse on);
 *   - otherwise from tables: Chromium from electron-to-chromium's full-versions.json (Electron's release
 *     data, per Electron version), Node.js's major from the @types/node range the electron package depends
 *     on (Electron pins it to the Node.js line it embeds; the patch level needs the binary).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

interface Component {
  type: string;
  name: string;
  version: string;
  'bom-ref'?: string;
  purl?: string;
  group?: string;
  description?: string;
  properties?: { name: string; value: string }[];
}
export interface Bom {
  bomFormat: 'CycloneDX';
  specVersion: string;
  serialNumber?: string;
  metadata: { component?: Component & { 'bom-ref': string }; properties?: { name: string; value: string }[] };
  components: Component[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
}

export interface RuntimeVersions {
  electron: string;
  chromium: string;
  node: string;
  /** How chromium and node were found (written into the SBOM). */
  source: string;
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The Electron binary inside an unpacked distribution, per OS. */
function binaryIn(dir: string): string {
  if (process.platform === 'darwin') return path.join(dir, 'Electron.app/Contents/MacOS/Electron');
  return path.join(dir, process.platform === 'win32' ? 'electron.exe' : 'electron');
}

/** Chromium and Node.js as the binary reports them, or null when there is no runnable binary. */
function fromBinary(
  root: string,
  env: NodeJS.ProcessEnv,
): { chromium: string; node: string; from: string } | null {
  const candidates = [
    env.COFFER_ELECTRON_DIST,
    env.ELECTRON_OVERRIDE_DIST_PATH,
    path.join(root, 'node_modules/electron/dist'),
  ].filter((dir): dir is string => dir !== undefined && dir.trim() !== '');
  for (const dir of candidates) {
    const binary = binaryIn(dir);
    if (!fs.existsSync(binary)) continue;
    const run = spawnSync(binary, ['-p', 'JSON.stringify(process.versions)'], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...env, ELECTRON_RUN_AS_NODE: '1' },
    });
    try {
      const versions = JSON.parse(run.stdout) as { chrome?: string; node?: string };
      if (versions.chrome !== undefined && versions.node !== undefined)
        return { chromium: versions.chrome, node: versions.node, from: binary };
    } catch {
      // not runnable here (another OS's binary, or fuses flipped): fall back to the tables
    }
  }
  return null;
}

export function runtimeVersions(root = ROOT, env: NodeJS.ProcessEnv = process.env): RuntimeVersions {
  const electronPkg = readJson(path.join(root, 'node_modules/electron/package.json')) as {
    version: string;
    dependencies?: Record<string, string>;
  };
  const electron = electronPkg.version;
  const binary = fromBinary(root, env);
  if (binary !== null)
    return {
      electron,
      chromium: binary.chromium,
      node: binary.node,
      source: `process.versions of ${binary.from}`,
    };
  const table = require('electron-to-chromium/full-versions.json') as Record<string, string>;
  const chromium = table[electron];
  if (chromium === undefined)
    throw new Error(
      `electron-to-chromium does not know Electron ${electron} yet: update it (npm install --save-dev electron-to-chromium@latest)`,
    );
  const typesNode = electronPkg.dependencies?.['@types/node'];
  const major = /(\d+)/.exec(typesNode ?? '')?.[1];
  if (major === undefined)
    throw new Error('the electron package names no @types/node: cannot tell its Node.js line');
  return {
    electron,
    chromium,
    node: `${major}.x`,
    source:
      `Chromium: electron-to-chromium full-versions.json; Node.js: major line from the electron package's ` +
      `@types/node dependency (${typesNode ?? ''}); no Electron binary at hand for the exact versions`,
  };
}

/** The production closure, as cyclonedx-npm sees the installed tree. */
function npmBom(root: string): Bom {
  // The package exports only its index (beside bin/): its command line is found from there.
  const cli = path.join(
    path.dirname(require.resolve('@cyclonedx/cyclonedx-npm')),
    'bin/cyclonedx-npm-cli.js',
  );
  const run = spawnSync(
    process.execPath,
    [cli, '--omit', 'dev', '--flatten-components', '--output-format', 'JSON', '--output-file', '-'],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (run.status !== 0) throw new Error(`cyclonedx-npm failed: ${run.stderr.trim().split('\n').pop() ?? ''}`);
  return JSON.parse(run.stdout) as Bom;
}

export function buildSbom(root = ROOT, env: NodeJS.ProcessEnv = process.env): Bom {
  const bom = npmBom(root);
  const runtime = runtimeVersions(root, env);
  const source = { name: 'coffer:version-source', value: runtime.source };
  const electron: Component = {
    type: 'framework',
    name: 'electron',
    version: runtime.electron,
    'bom-ref': `runtime|electron@${runtime.electron}`,
    purl: `pkg:github/electron/electron@v${runtime.electron}`,
    description: 'The Electron runtime the installer carries (the app binary)',
    properties: [{ name: 'coffer:version-source', value: 'package-lock.json (node_modules/electron)' }],
  };
  const chromium: Component = {
    type: 'framework',
    name: 'chromium',
    version: runtime.chromium,
    'bom-ref': `runtime|chromium@${runtime.chromium}`,
    purl: `pkg:generic/chromium@${runtime.chromium}`,
    description: `Chromium inside Electron ${runtime.electron}`,
    properties: [source],
  };
  const node: Component = {
    type: 'framework',
    name: 'node',
    version: runtime.node,
    'bom-ref': `runtime|node@${runtime.node}`,
    purl: `pkg:generic/nodejs@${runtime.node}`,
    description: `Node.js inside Electron ${runtime.electron}`,
    properties: [source],
  };
  bom.components.push(electron, chromium, node);
  const app = bom.metadata.component?.['bom-ref'];
  bom.dependencies ??= [];
  if (app !== undefined) {
    const entry = bom.dependencies.find((d) => d.ref === app);
    if (entry) entry.dependsOn = [...(entry.dependsOn ?? []), electron['bom-ref'] ?? ''];
    else bom.dependencies.push({ ref: app, dependsOn: [electron['bom-ref'] ?? ''] });
  }
  bom.dependencies.push(
    { ref: electron['bom-ref'] ?? '', dependsOn: [chromium['bom-ref'] ?? '', node['bom-ref'] ?? ''] },
    { ref: chromium['bom-ref'] ?? '' },
    { ref: node['bom-ref'] ?? '' },
  );
  bom.serialNumber = `urn:uuid:${randomUUID()}`;
  return bom;
}

export function sbomPath(root = ROOT): string {
  const { version } = readJson(path.join(root, 'package.json')) as { version: string };
  return path.join(root, 'release', `coffer-${version}.cdx.json`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? sbomPath();
  const bom = buildSbom();
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(bom, null, 2) + '\n');
  const runtime = bom.components.filter((c) => c.type === 'framework').map((c) => `${c.name} ${c.version}`);
  console.log(
    `SBOM: ${path.relative(process.cwd(), out)} (${bom.components.length} components; ${runtime.join(', ')})`,
  );
}
