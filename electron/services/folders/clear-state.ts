/**
 * What "protected" means, stated once for the CLI and the app (DESIGN.md "Counts are honest"): every file
 * a run or a folder scan left readable is counted in the clear and listed with its reason; a run that left
 * one is not a success, and "all files protected" is said only when nothing is in the clear.
 */
import type { FileIssue, RunReport } from './types.js';

/**
 * Skips that hold no data of their own: a link (its target is protected where it lives), a pipe or device,
 * a file deleted before it was reached. Every other skip or failure leaves a plaintext behind, including
 * codes added later: unknown reasons count as in the clear, never as protected.
 */
const NOT_DATA: ReadonlySet<string> = new Set(['SYMLINK', 'SPECIAL_FILE', 'NOT_A_FILE', 'VANISHED']);

/**
 * Reasons that concern the plaintext side only: they keep a file from being encrypted, so an unprotect
 * (which wants the plaintext) has nothing to answer for.
 */
const PLAINTEXT_ONLY: ReadonlySet<string> = new Set(['IN_USE', 'HARD_LINK', 'WAITING']);

/**
 * Left out by rule, on purpose (guard-rails.ts GUARD_CODES): what the machine needs in the clear, hidden
 * dot-files, IT's and the user's exclusions. Counted as excluded, never as protected nor as a problem.
 */
const EXCLUDED_BY_RULE: ReadonlySet<string> = new Set(['FORBIDDEN_PATH', 'HIDDEN', 'EXCLUDED']);

/** At most this many files are listed by name (the count is always exact): status of 100,000 files stays small. */
export const CLEAR_LIST_LIMIT = 500;

/** The code of a plaintext that simply was not protected yet (no run since it appeared). */
export const WAITING = 'WAITING';

export function leavesPlaintext(issue: Pick<FileIssue, 'code'>): boolean {
  return !NOT_DATA.has(issue.code) && !EXCLUDED_BY_RULE.has(issue.code);
}

export interface ProtectionState {
  /** `.coffer` files. */
  readonly protectedFiles: number;
  /** Every plaintext file that is not excluded on purpose: waiting, in use, in conflict, hard-linked… */
  readonly inTheClearFiles: number;
  /** The first CLEAR_LIST_LIMIT of them, each with its reason (a stable code) and what to do. */
  readonly inTheClear: readonly FileIssue[];
  /** Left alone on purpose: OS litter, editors' lock files, user and policy exclusions. */
  readonly excluded: number;
  readonly allProtected: boolean;
}

/** The protection state of a scanned folder: its protected files, waiting plaintext and skips. */
export function folderState(scan: {
  readonly protectedFiles: number;
  readonly plaintext: readonly { readonly path: string }[];
  readonly skipped: readonly FileIssue[];
  readonly excluded: number;
}): ProtectionState {
  const inTheClear: FileIssue[] = [];
  let count = 0;
  const add = (issue: FileIssue): void => {
    count++;
    if (inTheClear.length < CLEAR_LIST_LIMIT) inTheClear.push(issue);
  };
  let excluded = scan.excluded;
  for (const issue of scan.skipped) {
    if (EXCLUDED_BY_RULE.has(issue.code)) excluded++;
    else if (leavesPlaintext(issue)) add(issue);
  }
  for (const file of scan.plaintext)
    add({
      path: file.path,
      code: WAITING,
      message: `${file.path}: not protected yet`,
      hint: 'Run `coffer protect` on its folder (the app protects new files by itself).',
    });
  return {
    protectedFiles: scan.protectedFiles,
    inTheClearFiles: count,
    inTheClear,
    excluded,
    allProtected: count === 0,
  };
}

export interface RunVerdict {
  /** True only when every file the run was about ended in the wanted state. */
  readonly ok: boolean;
  /**
   * Protect: the files the run left in the clear, with why (failures and skips). Unprotect: the files it
   * could not bring back (failures, conflicts).
   */
  readonly problems: readonly FileIssue[];
}

/** Whether a run did what it was asked, and what it left undone. The CLI's exit code and the app's run state. */
export function runVerdict(report: RunReport): RunVerdict {
  const skips = report.skipped.filter(
    (s) => leavesPlaintext(s) && (report.op === 'protect' || !PLAINTEXT_ONLY.has(s.code)),
  );
  // Each file counted once, whatever number of steps (the run, a re-wrap after it) reported it.
  const seen = new Set<string>();
  const problems = [...report.failed, ...skips].filter((p) => {
    const key = `${p.path}\0${p.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { ok: problems.length === 0 && !report.cancelled, problems };
}
