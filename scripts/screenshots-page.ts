/**
 * docs/SCREENS.md: every screenshot in docs/screenshots/, the gallery's states first (in walk order, with
 * their captions), then the states the flow tests take (e2e/app-self-service, e2e/app-audit-screen, ...).
 * Written by `npm run screenshots`; e2e/app-gallery.e2e.ts checks the page is what this makes of the folder.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface PageEntry {
  name: string;
  caption: string;
}

const THEMES = ['light', 'dark'] as const;

/** The stem of a screenshot file: `audit-after-dark.png` → `audit-after`; no theme suffix → itself. */
function stemOf(file: string): string {
  return file.replace(/\.png$/, '').replace(/-(light|dark)$/, '');
}

function images(stem: string, files: Set<string>, alt: string): string {
  const themed = THEMES.filter((t) => files.has(`${stem}-${t}.png`));
  if (themed.length === 0) return `![${alt}](screenshots/${stem}.png)`;
  return themed.map((t) => `![${alt} (${t})](screenshots/${stem}-${t}.png)`).join(' ');
}

/** The page for these gallery entries and the files now in `dir` (the PNG names only are read). */
export function renderScreensPage(gallery: readonly PageEntry[], dir: string): string {
  const files = new Set(fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.png')) : []);
  const lines = [
    '# What the app looks like',
    '',
    'Every screen and notable state of the app, in light and dark, as the Chromium end-to-end tests see it',
    'over the real services. Each state of the gallery (e2e/app-gallery-screens.ts, one entry per state) passes',
    'an axe scan for WCAG 2.x A and AA in both themes. Written by `npm run screenshots` (scripts/screenshots.ts);',
    'do not edit by hand.',
    '',
  ];
  const inGallery = new Set<string>();
  for (const entry of gallery) {
    inGallery.add(entry.name);
    lines.push(`## ${entry.name}`, '', entry.caption + '.', '', images(entry.name, files, entry.caption), '');
  }
  const others = [...new Set([...files].map(stemOf))].filter((s) => !inGallery.has(s)).sort();
  if (others.length > 0) {
    lines.push('## States from the flow tests', '');
    lines.push(
      'Taken by the tests that walk a whole task (self-service and helpdesk restore, the data audit).',
      '',
    );
    for (const stem of others) lines.push(`### ${stem}`, '', images(stem, files, stem), '');
  }
  return lines.join('\n');
}

export function screensPagePath(root: string): string {
  return path.join(root, 'docs', 'SCREENS.md');
}
