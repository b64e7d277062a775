/**
 * The Overview's one headline (issue 12 item 6): the worst of what the page shows, in this order. A green
 * "Everything is protected" stood under a red policy banner before; the Chromium e2e (app-recovery-kit)
 * checks the page, this checks every rank.
 */
import { describe, expect, it } from 'vitest';
import type { Overview } from '@shared/contract.js';
import { headlineOf } from './Overview.js';

const allGood: Overview = {
  policy: { status: 'active', origin: '/etc/coffer/policy.json', problems: [] },
  folders: 1,
  filesProtected: 10,
  plaintextWaiting: 0,
  inTheClear: 0,
  notRecoverable: 0,
  lastRun: null,
  keychain: { ok: true, deviceKeyId: '1111-2222-3333-4444' },
  recovery: {
    deviceKeyId: '1111-2222-3333-4444',
    trustedRecoveryKeys: [{ keyId: 'aaaa-bbbb-cccc-dddd', label: 'IT', source: 'policy' }],
    personalCode: { state: 'confirmed', keyId: 'eeee-ffff-0000-1111', madeAt: 1 },
  },
};
const invalidPolicy: Overview = {
  ...allGood,
  policy: { status: 'invalid', origin: allGood.policy.origin, problems: ['helpdeskContact: x'] },
};

describe('the Overview headline', () => {
  it('is green only when nothing is wrong', () => {
    expect(headlineOf(allGood, undefined, false, 0)?.tone).toBe('ok');
    expect(headlineOf(allGood, undefined, false, 0)?.title).toBe('Everything is protected');
  });

  it('takes the worst: policy, changed settings, unavailable status, no key, then files and recovery', () => {
    const tone = (...args: Parameters<typeof headlineOf>) => {
      const h = headlineOf(...args);
      return h ? `${h.tone}: ${h.title}` : null;
    };
    // Every file protected, and yet a policy that cannot be read is red (the bug: green under the banner).
    expect(tone(invalidPolicy, undefined, false, 0)).toBe(
      'error: Action needed: the organization policy cannot be read',
    );
    expect(tone({ ...invalidPolicy, inTheClear: 3 }, undefined, true, 2)).toMatch(/^error: .*policy/);
    expect(tone(allGood, undefined, true, 0)).toMatch(/^error: .*settings changed outside/);
    expect(tone(undefined, { code: 'STATE_TAMPERED', message: 'x' }, false, 0)).toBe(
      'error: Protection status unavailable',
    );
    expect(tone(undefined, undefined, false, 0)).toBeNull(); // still loading: no claim either way
    expect(tone({ ...allGood, keychain: { ok: false, problem: 'locked' } }, undefined, false, 0)).toMatch(
      /^error: .*key is not available/,
    );
    expect(tone({ ...allGood, inTheClear: 2, notRecoverable: 5 }, undefined, false, 3)).toBe(
      'warn: Action needed: 2 files in the clear',
    );
    expect(tone({ ...allGood, notRecoverable: 1 }, undefined, false, 1)).toBe(
      'warn: 1 protected file IT cannot restore',
    );
    // A count that could not be made is not "all recoverable" (the folder list leaves it out on failure).
    expect(tone({ ...allGood, notRecoverable: null }, undefined, false, 1)).toBe(
      'warn: Coffer could not check whether IT can restore your files',
    );
    expect(tone(allGood, undefined, false, 1)).toBe('warn: One thing needs you');
    expect(tone(allGood, undefined, false, 2)).toBe('warn: 2 things need you');
  });
});

describe('the Overview headline when a load fails (review of issue 12 item 6)', () => {
  // useLoad keeps the last data when a reload fails: the page then shows the old counts and the error below
  // them. The tray says "Status unavailable" (tray-refresh.ts) in that case; the headline was green.
  const failed = { code: 'STATE_TAMPERED', message: 'The folder list does not verify' };

  it('is never green while the status it stands on could not be reloaded', () => {
    const h = headlineOf(allGood, failed, false, 0);
    expect(h?.tone).toBe('error');
    expect(h?.title).toBe('Protection status unavailable');
  });

  it('is never green when the review of the signed state files could not be read', () => {
    // Overview passes the review's error as the status error: a review that throws is not "not tampered".
    const h = headlineOf(allGood, undefined, false, 0, failed);
    expect(h?.tone).toBe('error');
    expect(h?.title).toBe('Protection status unavailable');
  });

  it('still names the worse problem first: an unreadable policy or changed settings', () => {
    expect(headlineOf(invalidPolicy, failed, false, 0)?.title).toMatch(/policy cannot be read/);
    expect(headlineOf(allGood, failed, true, 0)?.title).toMatch(/settings changed outside/);
  });
});

describe('the Overview headline and the tray say the same (issue 10 item 4)', () => {
  // The tray called files waiting for their quiet period "in the clear, being protected" (working), the
  // Overview "Action needed: in the clear". Both read the same split now (electron/shared/clear-split.ts,
  // getOverview's beingProtected); waiting files are still in the clear, so never green.
  it('says "being protected" for files only waiting, as the tray does, and never green', () => {
    const h = headlineOf(
      { ...allGood, inTheClear: 2, plaintextWaiting: 2, beingProtected: 2 },
      undefined,
      false,
      1,
    );
    expect(h).toMatchObject({ tone: 'warn', title: '2 files in the clear, being protected' });
  });

  it('asks for action only for the files that need the user, and counts the others as being protected', () => {
    const h = headlineOf({ ...allGood, inTheClear: 5, beingProtected: 3 }, undefined, false, 2);
    expect(h?.title).toBe('Action needed: 2 files in the clear');
    expect(h?.text).toMatch(/3 more files in the clear, being protected/);
  });

  it('is not green for a protected folder Coffer cannot see (gone, or its drive not mounted)', () => {
    const notMounted = { ...allGood, unavailable: [{ path: '/mnt/Drive', reason: 'not-mounted' as const }] };
    expect(headlineOf(notMounted, undefined, false, 1)).toMatchObject({
      tone: 'warn',
      title: 'Drive is not available',
    });
    const gone = { ...allGood, unavailable: [{ path: '/media/ana/USB', reason: 'missing' as const }] };
    expect(headlineOf(gone, undefined, false, 1)?.title).toBe('USB cannot be found');
    const two = { ...allGood, unavailable: [...notMounted.unavailable, ...gone.unavailable] };
    expect(headlineOf(two, undefined, false, 2)?.title).toBe('2 protected folders are not available');
  });
});
