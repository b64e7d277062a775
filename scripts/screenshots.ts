/**
 * `npm run screenshots`: refreshes docs/screenshots/ from the app as it is. Runs every e2e test that takes
 * docs screenshots (those importing e2e/helpers/screenshots.js) with COFFER_UPDATE_SCREENSHOTS=1 through
 * scripts/with-keyring.sh; then deletes the screenshots no test wrote (a screen or state that is gone) and
 * writes docs/SCREENS.md, the page that shows them all. A failed run deletes nothing and leaves the page.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as prettier from 'prettier';
import { GALLERY } from '../e2e/app-gallery-screens.js';
import { renderScreensPage, screensPagePath } from './screenshots-page.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SHOTS = path.join(ROOT, 'docs', 'screenshots');

/** The e2e files that write docs screenshots: they get their folder from the screenshots helper. */
function shootingTests(): string[] {
  const dir = path.join(ROOT, 'e2e');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.e2e.ts'))
    .filter((f) => fs.readFileSync(path.join(dir, f), 'utf8').includes('helpers/screenshots.js'))
    .map((f) => `e2e/${f}`)
    .sort();
}

/** docs/SCREENS.md from the gallery list and the files now in docs/screenshots/. */
async function writePage(): Promise<void> {
  const page = screensPagePath(ROOT);
  const text = await prettier.format(renderScreensPage(GALLERY, SHOTS), {
    ...(await prettier.resolveConfig(page)),
    filepath: page,
  });
  fs.writeFileSync(page, text);
}

async function main(): Promise<number> {
  // `npm run screenshots -- --page`: only the page (a caption changed), from the files as they are.
  if (process.argv.includes('--page')) {
    await writePage();
    return 0;
  }
  const tests = shootingTests();
  console.log(`screenshots: running ${tests.join(', ')}`);
  // File times have a coarse grain on some file systems: a second of slack on what "written now" means.
  const started = Date.now() - 1000;
  fs.mkdirSync(SHOTS, { recursive: true });
  const run = spawnSync(
    path.join(ROOT, 'scripts', 'with-keyring.sh'),
    ['npx', 'vitest', 'run', '--maxWorkers=1', ...tests],
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, COFFER_UPDATE_SCREENSHOTS: '1' } },
  );
  if (run.status !== 0) {
    console.error(
      'screenshots: the tests failed; docs/screenshots/ holds what they wrote before failing, nothing was deleted',
    );
    return run.status ?? 1;
  }
  const written = (f: string) => fs.statSync(path.join(SHOTS, f)).mtimeMs >= started;
  const pngs = fs.readdirSync(SHOTS).filter((f) => f.endsWith('.png'));
  const notShot = GALLERY.flatMap((s) => [`${s.name}-light.png`, `${s.name}-dark.png`]).filter(
    (f) => !pngs.includes(f) || !written(f),
  );
  if (notShot.length > 0) {
    // A skipped walk (no Chromium, no keychain) writes nothing: deleting "stale" files would empty the folder.
    console.error(`screenshots: the gallery did not write ${notShot.join(', ')}; nothing deleted`);
    return 1;
  }
  for (const f of pngs.filter((f) => !written(f))) {
    console.log(`screenshots: deleting ${f} (no test takes it any more)`);
    fs.rmSync(path.join(SHOTS, f));
  }
  await writePage();
  console.log(
    `screenshots: ${fs.readdirSync(SHOTS).length} files in docs/screenshots/, docs/SCREENS.md written`,
  );
  return 0;
}

process.exitCode = await main();
