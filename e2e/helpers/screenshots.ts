/**
 * Where the Chromium e2e tests put the screenshots that docs/ shows (issue 12 item 6: "screenshots of each
 * state refreshed in docs/"). A normal test run writes them under test-results/ (ignored by git), so
 * `npm test` never leaves the tree dirty with pixel-level differences; `npm run screenshots`
 * (scripts/screenshots.ts) sets COFFER_UPDATE_SCREENSHOTS=1 and they go to docs/screenshots/ instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './app-harness.js';

export const DOCS_DIR = path.join(ROOT, 'docs');
export const DOCS_SCREENSHOTS = path.join(DOCS_DIR, 'screenshots');
/** Where a normal run writes the same files, for a look after the run (or a CI artifact). */
export const RUN_SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots', 'docs');
/** The page that shows every screenshot in docs/screenshots/ (written by scripts/screenshots.ts). */
export const SCREENS_PAGE = path.join(DOCS_DIR, 'SCREENS.md');

/** True when this run refreshes docs/screenshots/ (`npm run screenshots`). */
export function updatingScreenshots(): boolean {
  return process.env.COFFER_UPDATE_SCREENSHOTS === '1';
}

/** The folder a test writes its docs screenshots to in this run (created). */
export function screenshotDir(): string {
  const dir = updatingScreenshots() ? DOCS_SCREENSHOTS : RUN_SCREENSHOTS;
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Every `*.md` file under docs/, and the README. */
export function markdownPages(): string[] {
  const pages: string[] = [path.join(ROOT, 'README.md')];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.md')) pages.push(p);
    }
  };
  walk(DOCS_DIR);
  return pages.filter((p) => fs.existsSync(p)).sort();
}

/** Image links of a Markdown page (`![alt](target)` and `<img src="target">`), resolved from the page's folder. */
export function imageLinks(page: string): { target: string; file: string }[] {
  const text = fs.readFileSync(page, 'utf8');
  const targets = [
    ...[...text.matchAll(/!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? ''),
    ...[...text.matchAll(/<img\s[^>]*src="([^"]+)"/g)].map((m) => m[1] ?? ''),
  ];
  return targets
    .filter((t) => t !== '' && !/^[a-z]+:/i.test(t))
    .map((target) => ({
      target,
      file: path.resolve(path.dirname(page), decodeURIComponent(target.split('#')[0] ?? '')),
    }));
}

/** Every image file under docs/ (what a page could link to). */
export function docsImages(): string[] {
  const images: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(png|jpe?g|gif|svg|webp)$/i.test(entry.name)) images.push(p);
    }
  };
  walk(DOCS_DIR);
  return images.sort();
}
