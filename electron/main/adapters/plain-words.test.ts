/**
 * What the adapters say to the screen (issue 12 item 6): the services' real messages, as they come out of
 * RecoveryService and FolderEscrow, turned into words for employees with the stable code kept.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { plainMessage, plainRestoreWarning } from '../../shared/plain-words.js';

describe('plain words for the screen', () => {
  it('turns a real errno message into words', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-plain-'));
    try {
      fs.mkdirSync(path.join(dir, 'in-the-way'));
      let raw = '';
      try {
        fs.writeFileSync(path.join(dir, 'in-the-way'), 'x');
      } catch (error) {
        raw = (error as Error).message;
      }
      expect(raw).toMatch(/^EISDIR: /);
      const said = plainMessage(
        `ESCROW_COPY_FAILED: The new key escrow record could not be written beside ${dir} (${raw})`,
      );
      expect(said).toBe(
        `ESCROW_COPY_FAILED: The new copy of your key record could not be written beside ${dir} (a folder is in the way)`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says what to do in the app instead of a command', () => {
    expect(
      plainRestoreWarning(
        '3 item(s) were not re-wrapped to the new device key (they still open here): run `coffer rewrap` again.',
      ),
    ).toBe(
      '3 file(s) still use your old key. They open on this computer all the same; protect their folders again, or ask the helpdesk to finish the move to the new key.',
    );
    const lost = plainRestoreWarning(
      'Device key 1111-2222-3333-4444 is still missing from the keychain: its files open with the organization key or its own escrow record.',
    );
    expect(lost).not.toMatch(/escrow|rewrap|stanza/i);
    expect(lost).not.toMatch(/\bE[A-Z]{3,}:/);
    expect(lost).toContain('1111-2222-3333-4444');
  });

  it('leaves plain text and unknown codes alone', () => {
    expect(plainMessage('Nothing was changed.')).toBe('Nothing was changed.');
    expect(plainMessage('RECORD_UNREADABLE: the file is damaged')).toBe(
      'RECORD_UNREADABLE: the file is damaged',
    );
  });
});
