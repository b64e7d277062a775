/**
 * The canonical JSON a report signature covers (docs/REPORT.md §2): RFC 8785 restricted to integers —
 * members sorted, no white space, safe integers only. The verifier re-serializes what it parsed, so the
 * file's layout never matters and any changed member does.
 */
import { CofferError } from '../../../crypto/errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function malformed(where: string, why: string): CofferError {
  return new CofferError(
    'REPORT_MALFORMED',
    `Not a Coffer report: ${where} ${why}`,
    'Use the report file as Coffer wrote it (docs/REPORT.md); a copy edited by hand does not verify.',
  );
}

/** The canonical text of `value`; throws REPORT_MALFORMED on a non-integer number or a non-JSON value. */
export function canonicalJson(value: unknown, where = '(report)'): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) throw malformed(where, `holds ${String(value)}, not an integer`);
      return String(value === 0 ? 0 : value); // -0 as 0
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((v, i) => canonicalJson(v, `${where}[${i}]`)).join(',')}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      return `{${keys
        .filter((k) => record[k] !== undefined)
        .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k], `${where}.${k}`)}`)
        .join(',')}}`;
    }
    default:
      throw malformed(where, `holds a ${typeof value}`);
  }
}
