/**
 * What a folder run keeps while it goes: counts, and the files that need a reason (failed, skipped, in
 * the clear), never an entry for a file that went well, so that its memory follows the problems, not the
 * tree (issue 10 scale target). The counts are exact; every problem is listed (clear-state.ts decides
 * which of them leave a file in the clear).
 */
import type { FileIssue, FileOutcome, Op, RunReport } from './types.js';

const skipHints: Record<string, string> = {
  CONFLICT:
    'Both copies were kept. If the plaintext is your edited copy, `coffer encrypt --replace FILE` protects it over the old .coffer; otherwise delete the copy you do not want.',
  VANISHED: 'Nothing to do: it was deleted or moved while the run was going.',
  NAME_TOO_LONG: 'Shorten the file name; it stays in the clear until then.',
  NOT_A_FILE: 'Only regular files are protected.',
  SYMLINK: 'Coffer never follows links; protect the folder it points to instead.',
  STILL_CHANGING: 'It is still being written; it will be protected once it stops changing (or run again).',
  IN_USE: 'It will be protected once the program that has it open closes it (or run again then).',
  OUTSIDE_FOLDER: 'A folder was moved or replaced by a link during the run; nothing outside was touched.',
  CONFLICT_COPY: 'Open it and the protected file, keep what you need, and protect the folder again.',
  HARD_LINK:
    'Remove the other names (`find / -samefile FILE` lists them) or replace this one with a copy of itself, then protect again.',
};

export class RunTally {
  /** Files that needed work (plaintext for protect, `.coffer` for unprotect), and their bytes. */
  filesTotal = 0;
  bytesTotal = 0;
  filesDone = 0;
  bytesDone = 0;
  /** Already in the wanted state before the run. */
  alreadyDone = 0;
  leftovers = 0;
  ignored = 0;
  /** Files a cancel left as they were. */
  cancelledFiles = 0;
  readonly failed: FileIssue[] = [];
  readonly skipped: FileIssue[] = [];

  /** A file the walk left alone, with its reason. */
  walkSkip(issue: FileIssue): void {
    this.skipped.push(issue);
  }

  /** A file's outcome (a `changed` one only once the run gives up on it: STILL_CHANGING). */
  outcome(o: FileOutcome): void {
    switch (o.kind) {
      case 'done':
        this.filesDone++;
        this.bytesDone += o.bytes;
        break;
      case 'leftover':
        this.leftovers++;
        break;
      case 'skipped':
        this.skipped.push({ path: o.path, code: o.code, message: o.reason, hint: skipHints[o.code] ?? '' });
        break;
      case 'changed':
        this.skipped.push({
          path: o.path,
          code: 'STILL_CHANGING',
          message: `${o.path}: kept changing while it was read; left as it is`,
          hint: skipHints.STILL_CHANGING ?? '',
        });
        break;
      case 'cancelled':
        this.cancelledFiles++;
        break;
      case 'failed':
        this.failed.push({ path: o.path, code: o.code, message: o.message, hint: o.hint });
        break;
    }
  }

  report(op: Op, folder: string, cancelled: boolean, started: number): RunReport {
    return {
      op,
      folder,
      filesTotal: this.filesTotal,
      bytesTotal: this.bytesTotal,
      filesDone: this.filesDone,
      bytesDone: this.bytesDone,
      alreadyDone: this.alreadyDone,
      leftoversResolved: this.leftovers,
      failed: this.failed,
      skipped: this.skipped,
      ignored: this.ignored,
      cancelled,
      durationMs: Math.round(performance.now() - started),
    };
  }
}
