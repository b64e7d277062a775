/**
 * Issue 12 item 3: the SBOM `npm run sbom` writes lists what the installer ships — the production closure
 * (checked against `npm ls --omit=dev`, the list electron-builder packs), Electron with its Chromium and
 * Node.js — and no development dependency. Runs the real script, as `npm run sbom` does.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bom } from './sbom.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-sbom-'));
const out = path.join(work, 'sbom.cdx.json');
let bom: Bom;

beforeAll(() => {
  execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/sbom.ts'), out], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  bom = JSON.parse(fs.readFileSync(out, 'utf8')) as Bom;
}, 60_000);
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

const fullName = (c: { group?: string; name: string }): string => (c.group ? `${c.group}/${c.name}` : c.name);

/** Package names `npm ls` puts in a tree (`--omit=dev` for what ships). */
function npmLs(args: string[]): Set<string> {
  const text = execFileSync('npm', ['ls', '--all', '--parseable', ...args], { cwd: ROOT, encoding: 'utf8' });
  return new Set(
    text
      .split('\n')
      .filter((line) => line.includes('node_modules'))
      .map((line) => {
        const rest = line.slice(line.lastIndexOf('node_modules') + 'node_modules/'.length);
        const parts = rest.split(/[\\/]/);
        return (parts[0] ?? '').startsWith('@') ? `${parts[0] ?? ''}/${parts[1] ?? ''}` : (parts[0] ?? '');
      }),
  );
}

describe('the SBOM of the installer', () => {
  it('is CycloneDX JSON about Coffer', () => {
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(Number(bom.specVersion)).toBeGreaterThanOrEqual(1.5);
    expect(bom.metadata.component?.name).toBe('coffer');
  });

  it('lists the production dependencies, libsodium among them', () => {
    const names = new Set(bom.components.map(fullName));
    for (const dep of ['libsodium-wrappers-sumo', 'libsodium-sumo', 'zod', 'react', '@napi-rs/keyring'])
      expect(names, dep).toContain(dep);
    const shipped = npmLs(['--omit=dev']);
    const npmComponents = bom.components.filter((c) => c.purl?.startsWith('pkg:npm/'));
    expect([...shipped].filter((p) => !npmComponents.some((c) => fullName(c) === p))).toEqual([]);
  });

  it('lists no development dependency', () => {
    const npmNames = bom.components.filter((c) => c.purl?.startsWith('pkg:npm/')).map(fullName);
    for (const dev of ['electron', 'electron-builder', 'vitest', 'typescript', 'eslint', 'vite', 'tsx'])
      expect(npmNames, dev).not.toContain(dev);
    const shipped = npmLs(['--omit=dev']);
    expect(npmNames.filter((n) => !shipped.has(n))).toEqual([]);
  });

  it('lists the runtime: Electron as locked, with its Chromium and Node.js, and where those came from', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version: string }>;
    };
    const runtime = (name: string) => bom.components.find((c) => c.type === 'framework' && c.name === name);
    expect(runtime('electron')?.version).toBe(lock.packages['node_modules/electron']?.version);
    expect(runtime('chromium')?.version).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(runtime('node')?.version).toMatch(/^\d+\.(x|\d+\.\d+)$/);
    for (const name of ['chromium', 'node'])
      expect(runtime(name)?.properties?.find((p) => p.name === 'coffer:version-source')?.value).toBeTruthy();
    const electronRef = runtime('electron')?.['bom-ref'];
    expect(bom.dependencies?.find((d) => d.ref === electronRef)?.dependsOn).toHaveLength(2);
  });
});
