/**
 * bin/coffer.js picks what to run: the TypeScript sources in a checkout (so a stale dist/ never runs old
 * code), the compiled dist/ in an installed app, which ships no sources. Run against copies of the launcher
 * with stand-in entry points that say which one ran, and once for real from this checkout.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './cli-harness.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A copy of the launcher in a fresh tree holding the given files. */
function tree(files: Record<string, string>): string {
  const dir = tempDir('bin');
  made.push(dir);
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.copyFileSync(path.join(ROOT, 'bin', 'coffer.js'), path.join(dir, 'bin', 'coffer.js'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  // The launcher resolves tsx from its own tree, as it would in a checkout.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const stub = (label: string, code: number): string =>
  `export async function main(argv${label === 'sources' ? ': readonly string[]' : ''}) {\n` +
  `  console.log('${label} ' + JSON.stringify(argv.slice(2)));\n  return ${code};\n}\n`;

function runBin(dir: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [path.join(dir, 'bin', 'coffer.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, COFFER_HOME: path.join(dir, 'home') },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('bin/coffer.js', () => {
  it('runs the sources when they are there, even with a dist/ beside them, and passes args and exit code', () => {
    const dir = tree({ 'cli/main.ts': stub('sources', 3), 'dist/cli/main.js': stub('dist', 0) });
    const result = runBin(dir, ['status', '--json']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('sources ["status","--json"]');
    expect(result.status).toBe(3);
  });

  it('runs dist/ when there are no sources (an installed app)', () => {
    const dir = tree({ 'dist/cli/main.js': stub('dist', 0) });
    const result = runBin(dir, ['init']);
    expect(result.stdout.trim()).toBe('dist ["init"]');
    expect(result.status).toBe(0);
  });

  it('--version is answered without loading the CLI, with the version of the package named coffer above', () => {
    const dir = tree({ 'dist/cli/main.js': stub('dist', 0) });
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'coffer', version: '9.8.7', type: 'module' }),
    );
    for (const flag of ['--version', '-V']) {
      const result = runBin(dir, [flag]);
      expect(result.stdout).toBe('9.8.7\n');
      expect(result.status).toBe(0);
    }
    // Anything more on the line is the CLI's to answer.
    expect(runBin(dir, ['--version', '--json']).stdout.trim()).toBe('dist ["--version","--json"]');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const real = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'coffer.js'), '--version'], {
      encoding: 'utf8',
    });
    expect(real.stdout).toBe(`${pkg.version}\n`);
  });

  it('--version into a pipe whose reader is gone ends quietly, as the CLI does (issue 10 item 8)', () => {
    // `true` exits at once; the launcher starts after it, so its one write meets a broken pipe (EPIPE).
    const launcher = path.join(ROOT, 'bin', 'coffer.js');
    const result = spawnSync(
      'sh',
      ['-c', '(sleep 0.3; "$0" "$1" --version; echo "exit=$?" >&2) | true', process.execPath, launcher],
      { encoding: 'utf8' },
    );
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled|at /);
    expect(result.stderr.trim()).toBe('exit=0');
  });

  it('from this checkout, runs the current CLI (the policy command is there)', () => {
    const result = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'coffer.js'), '--help'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^\s+policy\b/m);
    expect(result.stdout).toMatch(/^\s+protect\b/m);
  });
});
