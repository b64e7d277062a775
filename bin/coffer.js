#!/usr/bin/env node
// The `coffer` command. In a checkout (cli/main.ts sits beside this folder) it runs the TypeScript sources
// through tsx, so a stale dist/ left by an old build never runs old code. An installed app ships no
// sources (electron-builder packs bin/ and dist/ only), so there it runs the compiled dist/cli/main.js.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
