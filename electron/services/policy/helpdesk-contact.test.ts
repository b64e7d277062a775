/**
 * Policy `helpdeskContact` (issue 12 item 6, the recovery kit): one line of plain text, at most 200
 * characters, printed on the kit as text. Anything else makes the policy invalid with a reason IT can read.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy, type PolicyParseContext } from './schema.js';

const ctx: PolicyParseContext = {
  parseRecoveryPublicKey: () => new Uint8Array(32),
  homeDir: '/home/ada',
};

describe('policy helpdeskContact', () => {
  it('takes one trimmed line of text', () => {
    const result = parsePolicy({ helpdeskContact: '  IT helpdesk, +1 555 0100, help@example.com ' }, ctx);
    expect(result).toEqual({
      ok: true,
      policy: { helpdeskContact: 'IT helpdesk, +1 555 0100, help@example.com' },
    });
  });

  it.each([
    ['empty', '   ', 'must not be empty'],
    ['too long', 'x'.repeat(201), 'at most 200 characters'],
    ['two lines', 'IT helpdesk\nCall 555 0100', 'one line of plain text'],
    ['a control character', 'IT\u0007 helpdesk', 'one line of plain text'],
    ['a direction override', 'IT \u202Ehelpdesk', 'one line of plain text'],
    ['a number', 5550100, 'expected string'],
  ])('refuses %s with a reason', (_what, value, reason) => {
    const result = parsePolicy({ helpdeskContact: value }, ctx);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(/^helpdeskContact: /);
    expect(result.problems[0]).toContain(reason);
  });
});
