import { describe, expect, it } from 'vitest';
import { isCofferError } from '../../crypto/errors.js';
import { execFileSync } from 'node:child_process';
import { assertMayReplace, isCofferOwnedName, processUmask, restoredMode } from './restore-rules.js';

describe('restore rules', () => {
  it('narrows the stored mode by the umask and drops setuid/setgid/sticky', () => {
    expect(restoredMode(0o6777, 0o022)).toBe(0o755);
    expect(restoredMode(0o100644, 0o077)).toBe(0o600);
    expect(restoredMode(0o1777, 0)).toBe(0o777);
  });

  it('reads the umask of the process (without setting it) as the shell reports it', () => {
    const shell = execFileSync('/bin/sh', ['-c', 'umask'], { encoding: 'utf8' }).trim();
    expect(processUmask()).toBe(Number.parseInt(shell, 8));
  });

  it('knows Coffer names as a case-insensitive or Windows file system sees them', () => {
    for (const name of [
      'a.coffer',
      'A.COFFER',
      'a.coffer.',
      'a.coffer ',
      '.coffer-escrow.json',
      '.Coffer-Escrow.JSON.tmp',
    ])
      expect(isCofferOwnedName(name), name).toBe(true);
    for (const name of ['a.docx', 'coffer', 'a.coffer.docx', 'escrow.json'])
      expect(isCofferOwnedName(name), name).toBe(false);
  });

  it('refuses a forced replace of a Coffer name with PROTECTED_NAME', () => {
    expect(() => {
      assertMayReplace('contract.docx');
    }).not.toThrow();
    try {
      assertMayReplace('contract.docx.coffer');
      expect.unreachable();
    } catch (error) {
      expect(isCofferError(error) && error.code).toBe('PROTECTED_NAME');
    }
  });
});
