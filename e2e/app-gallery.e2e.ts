/**
 * The gallery (issue 12 item 6): every screen and notable state of the app (e2e/app-gallery-screens.ts), in
 * light and dark, in real Chromium over one real composition (real files, a private real keychain, the
 * handler table main registers, the app's CSP). axe finds no WCAG 2.x A/AA violation in any of them, and each
 * is photographed: into test-results/ on a normal run, into docs/screenshots/ with `npm run screenshots`.
 * The walk must reach every page renderer/src/screens.ts names, so a new page fails here until it has a state.
 *
 * The docs checks below need no browser: every gallery state has its two screenshots in docs/, every image
 * a docs page links exists, every image in docs/ is linked from a page, and docs/SCREENS.md shows the folder
 * as it is.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as prettier from 'prettier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatKeyId, generateDeviceKey, recoveryKeyId } from '../crypto/keys.js';
import { defaultBackend } from '../crypto/sodium.js';
import { encodePublicKey } from '../electron/services/keys/public-key-text.js';
import { sealRecoveryKeyFile } from '../electron/services/keys/recovery-key-file.js';
import { SafeFiles } from '../electron/services/safe-file.js';
import { HIDDEN_SCREENS, SCREENS, screenFromHash, type Screen } from '../renderer/src/screens.js';
import { renderScreensPage } from '../scripts/screenshots-page.js';
import { GALLERY, type GalleryContext } from './app-gallery-screens.js';
import { ROOT, chromiumSkipReason, startHarness } from './helpers/app-harness.js';
import { axeViolations } from './helpers/axe.js';
import {
  DOCS_SCREENSHOTS,
  SCREENS_PAGE,
  docsImages,
  imageLinks,
  markdownPages,
  screenshotDir,
  updatingScreenshots,
} from './helpers/screenshots.js';

const skipReason = chromiumSkipReason();
if (skipReason) console.warn(`[e2e] gallery walk skipped: ${skipReason}`);

const THEMES = ['light', 'dark'] as const;

describe.skipIf(skipReason !== null)('the gallery: every screen in light and dark, axe-clean', () => {
  let g: GalleryContext;
  let shots: string;
  /** The pages the walk photographed (from the hash route at each state). */
  const visited = new Set<Screen>();

  beforeAll(async () => {
    const sodium = await defaultBackend();
    const h = await startHarness();
    const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-e2e-gallery-')));
    shots = screenshotDir();

    const org = sodium.boxKeypair();
    const passphrase = 'correct horse battery staple';
    const keyFile = path.join(work, 'org.cofferkey');
    fs.writeFileSync(keyFile, await sealRecoveryKeyFile(org, passphrase, { opslimit: 1, memlimit: 8192 }));

    const customers = path.join(h.home, 'Customers');
    fs.mkdirSync(path.join(customers, 'contracts'), { recursive: true });
    fs.writeFileSync(path.join(customers, 'notes.txt'), 'Customer: ACME\nPhone: 555-0100\n');
    fs.writeFileSync(path.join(customers, 'contracts', 'acme.pdf'), randomBytes(120_000));
    fs.writeFileSync(path.join(customers, 'empty.txt'), '');

    // Another laptop's files: its own device key plus the organization key, as the helpdesk receives them.
    const lostLaptop = path.join(work, 'lost-laptop');
    fs.mkdirSync(lostLaptop);
    const otherDevice = generateDeviceKey(sodium);
    const safe = new SafeFiles(sodium);
    for (const [name, data] of [
      ['offer.docx', randomBytes(50_000)],
      ['ledger.csv', Buffer.from('id,amount\n1,100\n')],
    ] as const) {
      fs.writeFileSync(path.join(lostLaptop, name), data);
      safe.encryptInPlace(path.join(lostLaptop, name), {
        recipients: [
          { kind: 'device', key: otherDevice },
          { kind: 'recovery', publicKey: org.publicKey },
        ],
        identities: [{ kind: 'device', key: otherDevice }],
      });
    }
    const restoredCopies = path.join(work, 'restored');
    fs.mkdirSync(restoredCopies);

    const policyFile = path.join(h.home, 'policy.json');
    const { page } = h;
    g = {
      h,
      page,
      work,
      customers,
      lostLaptop,
      restoredCopies,
      org: {
        keyFile,
        passphrase,
        keyId: formatKeyId(recoveryKeyId(sodium, org.publicKey)),
        line: encodePublicKey(sodium, org.publicKey),
      },
      otherKeyLine: encodePublicKey(sodium, sodium.boxKeypair().publicKey),
      intruderKeyLine: encodePublicKey(sodium, sodium.boxKeypair().publicKey),
      code: [],
      async setPolicy(policy) {
        const before = JSON.stringify(await h.app.handlers.getPolicy({}));
        // Written aside and renamed in: the app's watcher never reads half a file.
        fs.writeFileSync(`${policyFile}.new`, typeof policy === 'string' ? policy : JSON.stringify(policy));
        fs.renameSync(`${policyFile}.new`, policyFile);
        await expect
          .poll(async () => JSON.stringify(await h.app.handlers.getPolicy({})), { timeout: 15_000 })
          .not.toBe(before);
      },
      async open(route, heading) {
        // The sidebar's way (a hash change), not a reload: the page keeps its state between entries.
        await page.evaluate(`window.location.hash = ${JSON.stringify(`#/${route}`)}`);
        await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      },
      async sees(text) {
        await page.getByText(text).first().waitFor({ timeout: 30_000 });
      },
    };
  });

  afterAll(async () => {
    await g.h.close();
    fs.rmSync(g.work, { recursive: true, force: true });
  });

  for (const screen of GALLERY) {
    it(`${screen.name}: ${screen.caption}`, async () => {
      await screen.show(g);
      const { page } = g;
      visited.add(screenFromHash(String(await page.evaluate('window.location.hash'))));
      // No hover styles in the picture: the pointer rests outside the app's controls.
      await page.mouse.move(0, 0);
      const found: string[] = [];
      for (const theme of THEMES) {
        await page.emulateMedia({ colorScheme: theme });
        found.push(...(await axeViolations(page)).map((v) => `${theme}: ${v}`));
        await page.screenshot({ path: path.join(shots, `${screen.name}-${theme}.png`), fullPage: true });
      }
      await page.emulateMedia({ colorScheme: 'light' });
      await screen.leave?.(g);
      expect(found, screen.name).toEqual([]);
    });
  }

  it('visited every page of the app (a new page needs its entry in e2e/app-gallery-screens.ts)', () => {
    expect([...SCREENS, ...HIDDEN_SCREENS].filter((s) => !visited.has(s))).toEqual([]);
  });

  it('saw no console error, page error or CSP violation on the way', () => {
    expect(g.h.problems).toEqual([]);
  });
});

describe('the screenshots in docs/', () => {
  it('gallery names are unique file stems', () => {
    const names = GALLERY.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('every gallery state has its light and dark screenshot in docs/screenshots/', () => {
    const missing = GALLERY.flatMap((s) => THEMES.map((t) => `${s.name}-${t}.png`)).filter(
      (f) => !fs.existsSync(path.join(DOCS_SCREENSHOTS, f)),
    );
    expect(missing, 'run `npm run screenshots` and commit docs/screenshots/').toEqual([]);
  });

  it('every image a docs page links exists', () => {
    const broken = markdownPages().flatMap((p) =>
      imageLinks(p)
        .filter((l) => !fs.existsSync(l.file))
        .map((l) => `${path.relative(ROOT, p)}: ${l.target}`),
    );
    expect(broken).toEqual([]);
  });

  // While `npm run screenshots` runs, new files are not linked yet: the script writes SCREENS.md after.
  it.skipIf(updatingScreenshots())(
    'every image in docs/ is linked from a page, and docs/SCREENS.md shows docs/screenshots/ as it is',
    async () => {
      const linked = new Set(markdownPages().flatMap((p) => imageLinks(p).map((l) => l.file)));
      const unlinked = docsImages()
        .filter((f) => !linked.has(f))
        .map((f) => path.relative(ROOT, f));
      expect(unlinked, 'not shown by any page: delete it, or run `npm run screenshots`').toEqual([]);
      const expected = await prettier.format(renderScreensPage(GALLERY, DOCS_SCREENSHOTS), {
        ...(await prettier.resolveConfig(SCREENS_PAGE)),
        filepath: SCREENS_PAGE,
      });
      expect(fs.readFileSync(SCREENS_PAGE, 'utf8'), 'run `npm run screenshots`').toBe(expected);
    },
  );
});
if (updatingScreenshots()) {
  console.warn('[e2e] gallery: links of new screenshots not checked while `npm run screenshots` runs');
}
