/**
 * The Activity screen's rules, shared by the renderer (what the table shows) and main (what an export
 * writes), so an export holds exactly the rows on screen (issue 12 item 6). No Node or DOM imports.
 */
import type { ActivityCategory, ActivityEntry, ActivityFilter } from './contract.js';

export const CATEGORY_LABELS: Record<ActivityCategory, string> = {
  protection: 'Protection',
  files: 'Opening and copies',
  keys: 'Keys and recovery',
  helpdesk: 'Helpdesk',
  settings: 'Settings',
  audit: 'Data audit',
  security: 'Security events',
  other: 'Other',
};

/** The actions handlers.ts and composition.ts record, by what a person would look for. */
const BY_ACTION: Record<string, ActivityCategory> = {
  Protect: 'protection',
  'Protect finished': 'protection',
  Unprotect: 'protection',
  'Unprotect finished': 'protection',
  'Auto-protect': 'protection',
  'Add folder': 'protection',
  'Remove folder': 'protection',
  'Re-wrap to recovery keys': 'keys',
  'Open for editing': 'files',
  'Save edits': 'files',
  'Decrypt a copy': 'files',
  Verify: 'files',
  Lock: 'files',
  'Recover open files': 'files',
  'Make recovery code': 'keys',
  'Confirm recovery code': 'keys',
  // Its name until issue 12 item 6 ("escrow" is not a word for employees); kept for older entries.
  'Export escrow record': 'keys',
  'Save a copy of the key record': 'keys',
  'Trust recovery key': 'keys',
  'Stop trusting recovery key': 'keys',
  'Load recovery key': 'helpdesk',
  'Helpdesk restore': 'helpdesk',
  'Helpdesk rekey': 'helpdesk',
  'Helpdesk restore finished': 'helpdesk',
  'Helpdesk rekey finished': 'helpdesk',
  'Change auto-lock': 'settings',
  'Confirm settings': 'settings',
  'Data audit': 'audit',
  'Audit log': 'audit',
  'Protect folder (audit)': 'audit',
  'Move into protected folder (audit)': 'audit',
  'Delete file (audit)': 'audit',
  // Audit-trail events with no Activity entry of their own (adapters/activity-view.ts).
  'Policy changed': 'settings',
  'Failed authentication': 'security',
  'Settings changed outside Coffer': 'security',
  'Files left in the clear': 'security',
  'Audit trail damaged': 'security',
  'Recovery code used': 'keys',
  'Device key restored': 'keys',
  'New device key': 'keys',
  Rekey: 'keys',
  'Breach-readiness report': 'audit',
  'Breach-readiness report failed': 'audit',
};

export function categoryOf(action: string): ActivityCategory {
  return BY_ACTION[action] ?? 'other';
}

/**
 * Actions recorded under a developer's name, said for people on the screen (issue 12 item 6: no "escrow",
 * no "re-wrap"). What is recorded, exported and put on the audit trail keeps the recorded name (tests and
 * IT's tools look for it); only the table and its search box use the label.
 */
const LABELS: Record<string, string> = {
  'Re-wrap to recovery keys': 'Update files for the recovery keys',
  'Export escrow record': 'Save a copy of the key record',
};

/** Every action the app or the audit trail records, by its recorded name. */
export const ACTIONS: readonly string[] = Object.keys(BY_ACTION);

/** An action as the Activity table shows it. */
export function actionLabel(action: string): string {
  return LABELS[action] ?? action;
}

/** Said beside an entry the audit trail does not hold (adapters/activity-view.ts `unverified`). */
export const UNVERIFIED_TEXT = 'not on the audit trail';

/** The outcome as the table words it. */
export function outcomeText(outcome: ActivityEntry['outcome']): string {
  return outcome === 'ok' ? 'Done' : outcome === 'error' ? 'Failed' : 'Cancelled';
}

export function matchesFilter(entry: ActivityEntry, filter: ActivityFilter): boolean {
  if (filter.category !== undefined && categoryOf(entry.action) !== filter.category) return false;
  if (filter.from !== undefined && entry.at < filter.from) return false;
  if (filter.to !== undefined && entry.at > filter.to) return false;
  const text = filter.text?.trim().toLowerCase();
  if (text) {
    const haystack = [
      entry.action,
      actionLabel(entry.action),
      entry.target,
      entry.detail ?? '',
      outcomeText(entry.outcome),
    ]
      .join('\n')
      .toLowerCase();
    if (!haystack.includes(text)) return false;
  }
  return true;
}

/**
 * A cell a spreadsheet could run as a formula (OWASP "CSV injection"): = + - @ first, also after blanks
 * some spreadsheets trim, in their full-width forms (read as formulas in East Asian locales), or after a
 * leading tab, CR or LF. File names are chosen by whoever made the file, so any may be one.
 */
const FORMULA_START = /^[\s\u3000]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]|^[\t\r\n]/;

/** RFC 4180 field; a cell that could start a formula is prefixed with ' so a spreadsheet shows it as text. */
function csvField(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const CSV_HEADER = ['time', 'category', 'action', 'target', 'outcome', 'detail'] as const;

/** One export file's text: a JSON object per line, or CSV with a header row. Times are ISO 8601, UTC. */
export function serializeActivity(entries: readonly ActivityEntry[], format: 'jsonl' | 'csv'): string {
  if (format === 'jsonl') {
    return entries
      .map((e) =>
        JSON.stringify({
          time: new Date(e.at).toISOString(),
          category: categoryOf(e.action),
          action: e.action,
          target: e.target,
          outcome: e.outcome,
          ...(e.detail === undefined ? {} : { detail: e.detail }),
          ...(e.unverified ? { unverified: true } : {}),
        }),
      )
      .map((line) => `${line}\n`)
      .join('');
  }
  const rows = entries.map((e) =>
    [
      new Date(e.at).toISOString(),
      categoryOf(e.action),
      actionLabel(e.action),
      e.target,
      e.unverified ? `${outcomeText(e.outcome)} (${UNVERIFIED_TEXT})` : outcomeText(e.outcome),
      e.detail ?? '',
    ]
      .map(csvField)
      .join(','),
  );
  return [CSV_HEADER.join(','), ...rows].map((r) => `${r}\r\n`).join('');
}
