import { describe, expect, it } from 'vitest';
import { formatBytes, formatEta, formatWhen, plural, progressPercent } from './format.js';
import { groupState, splitPasted } from './recoveryCode.js';
import { folderFromHash, screenFromHash } from './screens.js';
import { explain, titleFor } from './explain.js';

describe('format', () => {
  it('sizes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.5 KB');
    expect(formatBytes(42_200_000)).toBe('42.2 MB');
    expect(formatBytes(123_000_000_000)).toBe('123 GB');
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
  });

  it('time left', () => {
    expect(formatEta(null)).toBe('—');
    expect(formatEta(400)).toBe('1 s');
    expect(formatEta(59_000)).toBe('59 s');
    expect(formatEta(150_000)).toBe('about 3 min');
    expect(formatEta(2 * 3_600_000 + 5 * 60_000)).toBe('about 2 h 5 min');
  });

  it('when', () => {
    const now = 10_000_000_000;
    expect(formatWhen(now - 5_000, now)).toBe('just now');
    expect(formatWhen(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(formatWhen(now - 3 * 3_600_000, now)).toBe('3 h ago');
    expect(formatWhen(now + 60_000, now)).toBe('just now'); // clock skew is not "in the future"
  });

  it('plural and progress', () => {
    expect(plural(1, 'file')).toBe('1 file');
    expect(plural(1234, 'file')).toBe('1,234 files');
    expect(progressPercent({ filesDone: 1, filesTotal: 4, bytesDone: 50, bytesTotal: 100 })).toBe(50);
    expect(progressPercent({ filesDone: 1, filesTotal: 4, bytesDone: 0, bytesTotal: 0 })).toBe(25);
    expect(progressPercent({ filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0 })).toBe(0);
    expect(progressPercent({ filesDone: 9, filesTotal: 4, bytesDone: 500, bytesTotal: 100 })).toBe(100);
  });
});

describe('recovery code typing', () => {
  it('checks each group the way FORMAT.md §11.3 defines it', () => {
    expect(groupState('')).toBe('empty');
    expect(groupState('12')).toBe('incomplete');
    expect(groupState('000000')).toBe('ok');
    expect(groupState('720885')).toBe('ok'); // 11 × 65535, the largest
    expect(groupState('720896')).toBe('typo'); // 11 × 65536: a multiple of 11 but too large
    expect(groupState('123456')).toBe('typo'); // not a multiple of 11
    expect(groupState('12345a')).toBe('typo');
    expect(groupState('1234567')).toBe('typo');
    // A single mistyped digit always breaks the multiple-of-11 check.
    const good = '351747'; // 11 × 31977
    expect(groupState(good)).toBe('ok');
    for (let i = 0; i < 6; i++) {
      for (let d = 0; d <= 9; d++) {
        const typo = good.slice(0, i) + String(d) + good.slice(i + 1);
        if (typo !== good) expect(groupState(typo), typo).toBe('typo');
      }
    }
  });

  it('splits a pasted code', () => {
    const code = '000000-111111-222222-333333-444444-555555-666666-777777';
    expect(splitPasted(code)).toEqual(code.split('-'));
    expect(splitPasted(code.replace(/-/g, ' '))).toEqual(code.split('-'));
    expect(splitPasted('000000-111111')).toBeNull();
  });
});

describe('navigation and errors', () => {
  it('maps hashes to screens', () => {
    expect(screenFromHash('#/helpdesk')).toBe('helpdesk');
    expect(screenFromHash('')).toBe('overview');
    expect(screenFromHash('#/../../etc')).toBe('overview');
  });

  it('opens a folder from the tray or its notification at #/folders/<id>', () => {
    expect(screenFromHash('#/folders/f1a2')).toBe('folders');
    expect(folderFromHash('#/folders/f1a2')).toBe('f1a2');
    expect(folderFromHash('#/folders/a%2Fb')).toBe('a/b');
    expect(folderFromHash('#/folders')).toBeNull();
    expect(folderFromHash('#/files/f1a2')).toBeNull();
    expect(folderFromHash('#/folders/%E0%A4%A')).toBeNull(); // malformed escape: no folder, no crash
  });

  it('explains codes in plain language', () => {
    expect(titleFor('NO_MATCHING_KEY')).toBe('Locked with another key');
    expect(titleFor('SOMETHING_NEW')).toBe('Could not finish');
    expect(explain({ code: 'BAD_PASSPHRASE', message: 'Nope.', hint: 'Type it again.' })).toEqual({
      title: 'Wrong passphrase',
      text: 'Nope. Type it again.',
    });
  });
});
