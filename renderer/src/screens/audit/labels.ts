/** How the data audit screen says findings, folders and times: words for people, counts only. */

/** The built-in detectors (issue 11 item 1) as people say them: [one, many]. Policy names are shown as is. */
const DETECTOR_LABELS: Record<string, readonly [string, string]> = {
  email: ['e-mail address', 'e-mail addresses'],
  phone: ['phone number', 'phone numbers'],
  iban: ['IBAN', 'IBANs'],
  'payment-card': ['payment card number', 'payment card numbers'],
  'us-ssn': ['US social security number', 'US social security numbers'],
  'uk-nino': ['UK National Insurance number', 'UK National Insurance numbers'],
};

export function detectorLabel(name: string): string {
  const many = DETECTOR_LABELS[name]?.[1];
  return many === undefined ? name : many.charAt(0).toUpperCase() + many.slice(1);
}

/** "3 e-mail addresses", "1 IBAN", "2 × customer-number" (a policy pattern). */
function countOf(name: string, n: number): string {
  const labels = DETECTOR_LABELS[name];
  const count = n.toLocaleString('en-US');
  if (!labels) return `${count} × ${name}`;
  return `${count} ${n === 1 ? labels[0] : labels[1]}`;
}

export function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts.at(-1) ?? p;
}

export function totalOf(findings: Record<string, number>): number {
  return Object.values(findings).reduce((n, c) => n + c, 0);
}

export function describeFindings(findings: Record<string, number>): string {
  return Object.entries(findings)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => countOf(name, n))
    .join(', ');
}

/** The trend's axis: days, or times when the audits so far all fall within two days. */
export function pointLabel(at: number, spanMs: number): string {
  return spanMs < 2 * 86_400_000
    ? new Date(at).toLocaleString(undefined, {
        month: 'short',
        day: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
      })
    : new Date(at).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}
