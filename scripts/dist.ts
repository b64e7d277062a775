/**
 * `npm run dist [-- electron-builder arguments]`: preflight first (one line and a stop when a target cannot
 * be built here or something cannot be downloaded), then the app build, the SBOM of what the installer
 * ships (release/coffer-<version>.cdx.json), then electron-builder. Each step's output goes straight through.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { preflight } from './preflight.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function run(command: string, args: string[]): number {
  const result = spawnSync(command, args, {
    cwd: ROOT,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  return result.status ?? 1;
}

const args = process.argv.slice(2);
const verdict = await preflight({ mode: 'dist', args });
(verdict.code === 0 ? console.log : console.error)(verdict.line);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
process.exitCode =
  verdict.code !== 0
    ? verdict.code
    : run(npm, ['run', 'build']) ||
      run(npm, ['run', 'sbom']) ||
      run(npx, ['electron-builder', '--publish', 'never', ...args]);
