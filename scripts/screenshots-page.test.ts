/** docs/SCREENS.md's layout (screenshots-page.ts) and the image links the docs checks read (e2e/helpers/screenshots.ts). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { imageLinks } from '../e2e/helpers/screenshots.js';
import { renderScreensPage } from './screenshots-page.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-shots-page-'));
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('docs/SCREENS.md', () => {
  it('shows the gallery in walk order, then every other screenshot once, light before dark', () => {
    const shots = path.join(dir, 'screenshots');
    fs.mkdirSync(shots);
    for (const f of [
      'b-light.png',
      'b-dark.png',
      'a-light.png',
      'a-dark.png',
      'flow-dark.png',
      'flow-light.png',
      'dialog.png',
      'notes.txt',
    ])
      fs.writeFileSync(path.join(shots, f), '');
    const page = renderScreensPage(
      [
        { name: 'b', caption: 'B first' },
        { name: 'a', caption: 'A second' },
      ],
      shots,
    );
    const links = [...page.matchAll(/\]\((screenshots\/[^)]+)\)/g)].map((m) => m[1]);
    expect(links).toEqual([
      'screenshots/b-light.png',
      'screenshots/b-dark.png',
      'screenshots/a-light.png',
      'screenshots/a-dark.png',
      'screenshots/dialog.png',
      'screenshots/flow-light.png',
      'screenshots/flow-dark.png',
    ]);
    expect(page).toContain('![B first (light)](screenshots/b-light.png)');
  });
});

describe('image links of a docs page', () => {
  it('reads Markdown and HTML images, resolved from the page, and leaves web addresses alone', () => {
    const page = path.join(dir, 'docs', 'PAGE.md');
    fs.mkdirSync(path.dirname(page), { recursive: true });
    fs.writeFileSync(
      page,
      [
        '![one](screenshots/one.png)',
        'text ![two](<screenshots/two%20words.png> "a title") text',
        '<img alt="three" src="../three.png">',
        '![badge](https://example.com/badge.svg) [a link, not an image](screenshots/four.png)',
      ].join('\n'),
    );
    expect(imageLinks(page).map((l) => path.relative(dir, l.file))).toEqual([
      'docs/screenshots/one.png',
      'docs/screenshots/two words.png',
      'three.png',
    ]);
  });
});
