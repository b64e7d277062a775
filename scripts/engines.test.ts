/**
 * Issue 12 item 3: package.json `engines` matches the dependencies. Every installed package that declares
 * the Node.js versions it supports must support every version our `engines` allows (semver subset), so a
 * machine that meets our `engines` meets theirs. The app itself runs on Electron's Node.js (About panel).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
// semver is what npm itself uses to read `engines` (a dependency of electron-builder and others).
const semver = require('semver') as {
  subset(sub: string, sup: string, options?: { includePrerelease?: boolean }): boolean;
  validRange(range: string): string | null;
};

function readJson(file: string): { name?: string; version?: string; engines?: { node?: string } } {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as { engines?: { node?: string } };
}

describe('engines', () => {
  const ours = readJson(path.join(ROOT, 'package.json')).engines?.node ?? '';

  it('is a valid range', () => {
    expect(semver.validRange(ours)).not.toBeNull();
  });

  it('allows no Node.js version that an installed dependency (production or development) does not support', () => {
    const dirs = execFileSync('npm', ['ls', '--all', '--parseable'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes('node_modules'));
    const tooLoose: string[] = [];
    for (const dir of new Set(dirs)) {
      const file = path.join(dir, 'package.json');
      if (!fs.existsSync(file)) continue;
      const pkg = readJson(file);
      const theirs = pkg.engines?.node;
      if (theirs === undefined || semver.validRange(theirs) === null) continue;
      if (!semver.subset(ours, theirs))
        tooLoose.push(`${pkg.name ?? dir}@${pkg.version ?? '?'} needs ${theirs}`);
    }
    expect(dirs.length).toBeGreaterThan(100);
    expect(tooLoose, `engines.node is ${ours}`).toEqual([]);
  });
});
