#!/usr/bin/env node
// The `coffer` command. In a checkout (cli/main.ts sits beside this folder) it runs the TypeScript sources
// through tsx, so a stale dist/ left by an old build never runs old code. An installed app ships no
// sources (electron-builder packs bin/ and dist/ only), so there it runs the compiled dist/cli/main.js.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';

// The young generation stays at its start size (1 MiB per semi-space) instead of growing to 16 MiB per
// semi-space (V8's default): a folder run's main thread makes short-lived garbage per file (issue 10 target:
// ≤ 150 MB at 1,000,000 files). Set here, before the CLI loads and the heap grows: --max-semi-space-size is
// read only when the heap is made (set now it changed nothing: 187 MiB), the growth factor at each growth.
// 20,000 files of 512 B, peak RSS: unprotect 161 → 144 MiB, protect 194 → 188 (its peak is elsewhere).
v8.setFlagsFromString('--semi-space-growth-factor=1');
// Each Worker's start puts it back to 2 for the whole process; startWorker sets it again when this mark is
// here (electron/services/young-generation.ts). Cold audit scan, 100,000 tiny files: 190 → 139-144 MiB.
globalThis[Symbol.for('coffer.semiSpaceGrowthFactor')] = true;

/**
 * `coffer --version` needs none of the CLI: answered here, before some 300 modules load (0.24 s of CPU,
 * seconds on a loaded machine). The same answer as appVersion() (electron/services/app-version.ts): the
 * version of the first package.json named `coffer` above; none found, the CLI answers as usual.
 */
function quickVersion() {
  const args = process.argv.slice(2);
  if (args.length !== 1 || (args[0] !== '--version' && args[0] !== '-V')) return null;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'coffer' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: look further up
    }
    if (dirname(dir) === dir) return null;
  }
}

const version = quickVersion();
if (version !== null) {
  // A reader gone before the write (`coffer --version | true`) ends quietly, as in the CLI (cli/output.ts),
  // not with an unhandled EPIPE and its stack trace.
  process.stdout.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
  });
  process.stdout.write(`${version}\n`);
} else {
  const source = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
  let entry;
  if (existsSync(source)) {
    const { register } = await import('tsx/esm/api');
    register();
    entry = pathToFileURL(source).href;
  } else {
    entry = new URL('../dist/cli/main.js', import.meta.url).href;
  }
  const { main } = await import(entry);
  process.exitCode = await main(process.argv);
}
