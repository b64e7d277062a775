import { describe, expect, it } from 'vitest';
import { keyLabel, namesInFolder, problemText } from './helpdesk-files.js';

describe('namesInFolder', () => {
  it('names files relative to the folder they share', () => {
    expect(
      namesInFolder([
        '/tmp/coffer-e2e-x/lost-laptop/ledger.csv.coffer',
        '/tmp/coffer-e2e-x/lost-laptop/2025/offer.docx.coffer',
      ]),
    ).toEqual({
      folder: '/tmp/coffer-e2e-x/lost-laptop',
      names: ['ledger.csv.coffer', '2025/offer.docx.coffer'],
    });
  });

  it('one file: its folder and its name; files in sibling folders: their shared parent', () => {
    expect(namesInFolder(['/home/ana/a.txt.coffer'])).toEqual({
      folder: '/home/ana',
      names: ['a.txt.coffer'],
    });
    expect(namesInFolder(['/home/ana/x/a.coffer', '/home/ana/y/b.coffer'])).toEqual({
      folder: '/home/ana',
      names: ['x/a.coffer', 'y/b.coffer'],
    });
    expect(namesInFolder(['/a.coffer', '/b.coffer'])).toEqual({
      folder: '/',
      names: ['a.coffer', 'b.coffer'],
    });
    expect(namesInFolder([])).toEqual({ folder: '', names: [] });
  });

  it('keeps a Windows path’s backslashes, and a name that only starts like another folder apart', () => {
    expect(
      namesInFolder(['C:\\Users\\ana\\Deals\\q1.xlsx.coffer', 'C:\\Users\\ana\\Deals\\sub\\q2.xlsx.coffer']),
    ).toEqual({
      folder: 'C:\\Users\\ana\\Deals',
      names: ['q1.xlsx.coffer', 'sub\\q2.xlsx.coffer'],
    });
    expect(namesInFolder(['/home/ana/Deals/a.coffer', '/home/ana/Deals-old/b.coffer'])).toEqual({
      folder: '/home/ana',
      names: ['Deals/a.coffer', 'Deals-old/b.coffer'],
    });
  });
});

describe('keyLabel', () => {
  it('says whose key each slot is, not the format’s kind', () => {
    const keyId = '3f9a-12bc-0e77-a1d4';
    expect(keyLabel({ kind: 'recovery', keyId })).toBe('Organization recovery key');
    expect(keyLabel({ kind: 'device', keyId, thisDevice: true })).toBe('This laptop’s key');
    expect(keyLabel({ kind: 'device', keyId })).toBe('Key of the user’s laptop');
    expect(keyLabel({ kind: 'unknown', keyId })).toBe('A key of another kind');
  });
});

describe('problemText', () => {
  it('names the file in its folder and says errno for people', () => {
    const full = '/tmp/coffer-e2e-x/lost-laptop/ledger.csv.coffer';
    expect(
      problemText(
        { code: 'EACCES', message: `EACCES: permission denied, open '${full}'` },
        full,
        'ledger.csv.coffer',
      ),
    ).not.toMatch(/EACCES|\/tmp\//);
    expect(
      problemText({ code: 'BAD_MAGIC', message: `${full}: not a Coffer file` }, full, 'ledger.csv.coffer'),
    ).toBe('ledger.csv.coffer: not a Coffer file');
  });
});
