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
    ['a number', 5550100, 'must be text'],
  ])('refuses %s with a reason', (_what, value, reason) => {
    const result = parsePolicy({ helpdeskContact: value }, ctx);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(/^helpdeskContact: /);
    expect(result.problems[0]).toContain(reason);
  });
});

describe('policy problems in words, not zod wording (issue 12 item 6: shown on the Overview)', () => {
  it.each([
    [{ autoLockMinutes: 'soon' }, 'autoLockMinutes: must be a number'],
    [{ autoLockMinutes: 2.5 }, 'autoLockMinutes: must be a whole number'],
    [{ autoLockMinutes: 0 }, 'autoLockMinutes: must be at least 1'],
    [{ retentionDays: 100_000 }, 'retentionDays: must be at most 36500'],
    [{ exclude: 'node_modules' }, 'exclude: must be a list'],
    [{ helpdeskContact: 'x'.repeat(201) }, 'helpdeskContact: must be at most 200 characters'],
    [{ alowUnprotect: false }, '(policy): "alowUnprotect" is not a Coffer setting'],
    [[], '(policy): must be a set of settings (a JSON object)'],
  ])('%j', (raw, problem) => {
    const result = parsePolicy(raw, ctx);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]?.startsWith(problem), result.problems[0]).toBe(true);
    expect(result.problems[0]).not.toMatch(
      /Invalid input|Too (small|big)|Unrecognized key|expected \w+, received/,
    );
  });
});
