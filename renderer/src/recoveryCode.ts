/**
 * The renderer's typo check for a personal recovery code being typed back (FORMAT.md §11.3): six digits per
 * group, a multiple of 11, quotient at most 65 535. It only guides typing; main decides whether the code is
 * the right one.
 */
export type GroupState = 'empty' | 'incomplete' | 'typo' | 'ok';

export function groupState(text: string): GroupState {
  const digits = text.replace(/\s/g, '');
  if (digits === '') return 'empty';
  if (!/^\d+$/.test(digits) || digits.length > 6) return 'typo';
  if (digits.length < 6) return 'incomplete';
  const value = Number(digits);
  return value % 11 === 0 && value / 11 <= 65_535 ? 'ok' : 'typo';
}

/** Splits a pasted code ("123456-234567 …") into its groups, or null when it is not eight groups. */
export function splitPasted(text: string): string[] | null {
  const digits = text.replace(/[\s-]/g, '');
  if (!/^\d{48}$/.test(digits)) return null;
  return digits.match(/\d{6}/g);
}

export const GROUPS = 8;
