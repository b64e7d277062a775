/**
 * Electronegativity (@doyensec/electronegativity) over the app's Electron code and renderer HTML: fails on any
 * HIGH or MEDIUM finding that is not in the allowlist below with its reason. Runs offline (its update
 * checks fail quietly). The CLI entry breaks under the commander version this tree hoists, so the test
 * calls its runner, which is what the CLI calls.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);

interface Issue {
  id: string;
  file: string;
  severity: { name: string };
  location: { line: number; column: number };
  description: string;
}
type Runner = (
  options: Record<string, unknown>,
  forCli: boolean,
) => Promise<{ issues: Issue[]; errors: unknown[] }>;

/** Findings accepted, each with why. Keyed by check ID and file. */
const ALLOWLIST: { id: string; file: string; why: string }[] = [];

const electronVersion = (
  JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/electron/package.json'), 'utf8')) as {
    version: string;
  }
).version;

async function scan(dir: string): Promise<Issue[]> {
  const pkg = path.dirname(require.resolve('@doyensec/electronegativity/package.json'));
  const i18nModule = require(path.join(pkg, 'dist/locales/i18n.js')) as { default?: () => Promise<void> };
  const i18n = i18nModule.default ?? (i18nModule as unknown as () => Promise<void>);
  await i18n(); // installs the global __() the runner's messages use
  const run = require(pkg) as Runner;
  const result = await run(
    {
      input: dir,
      output: path.join(dir, '..', 'electronegativity.csv'),
      isSarif: false,
      customScan: [],
      excludeFromScan: [],
      isRelative: true,
      isVerbose: false,
      electronVersionOverride: electronVersion,
      parserPlugins: [],
    },
    false,
  );
  expect(result.errors).toEqual([]);
  return result.issues;
}

const serious = (issues: Issue[]) =>
  issues.filter((i) => i.severity.name === 'HIGH' || i.severity.name === 'MEDIUM');
const temps: string[] = [];

function stage(files: Record<string, string>): string {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-eneg-'));
  temps.push(base);
  const dir = path.join(base, 'app');
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

function appFiles(): Record<string, string> {
  const files: Record<string, string> = {
    'package.json': fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'),
  };
  const add = (rel: string) => {
    const full = path.join(ROOT, rel);
    if (fs.statSync(full).isDirectory()) {
      for (const name of fs.readdirSync(full)) add(path.join(rel, name));
    } else if (/\.(ts|tsx|html)$/.test(rel) && !/\.test\.tsx?$/.test(rel)) {
      files[rel] = fs.readFileSync(full, 'utf8');
    }
  };
  for (const rel of [
    'electron/main',
    'electron/preload',
    'electron/shared',
    'renderer/index.html',
    'renderer/src',
  ])
    add(rel);
  return files;
}

afterAll(() => {
  for (const t of temps) fs.rmSync(t, { recursive: true, force: true });
});

describe('Electronegativity', () => {
  it('finds nothing high or medium in the app beyond the explained allowlist', async () => {
    const issues = serious(await scan(stage(appFiles())));
    const unexplained = issues.filter(
      (i) => !ALLOWLIST.some((a) => a.id === i.id && i.file.endsWith(a.file)),
    );
    expect(
      unexplained.map((i) => `${i.severity.name} ${i.id} ${i.file}:${i.location.line} — ${i.description}`),
    ).toEqual([]);
  });

  it('does flag an insecure window (so a clean result means something)', async () => {
    const insecure = stage({
      'package.json': JSON.stringify({ name: 'x', devDependencies: { electron: electronVersion } }),
      'main.js': `const { BrowserWindow } = require('electron');
new BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false, sandbox: false, webSecurity: false } });`,
      'index.html': '<!doctype html><html><body></body></html>',
    });
    const ids = serious(await scan(insecure)).map((i) => i.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'CONTEXT_ISOLATION_JS_CHECK',
        'SANDBOX_JS_CHECK',
        'WEB_SECURITY_JS_CHECK',
        'CSP_GLOBAL_CHECK',
      ]),
    );
  });
});
