/**
 * What a state file holds, for a person deciding whether to confirm it (`coffer state show`, the app's
 * banner). Reads the content leniently (it may be tampered) and recomputes every recovery key ID from its
 * public key, so the names shown are the keys' own, not whatever a stored `keyId` claims.
 */
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { formatKeyId, recoveryKeyId } from '../../../crypto/keys.js';
import { parsePublicKey } from '../keys/public-key-text.js';
import { printable } from '../../shared/printable.js';
import type { StateKind } from './envelope.js';
import type { StateReport } from './state-files.js';

export interface StateFileView {
  kind: StateKind;
  file: string;
  status: 'ok' | 'absent' | 'tampered';
  /** Why it does not verify (tampered only). */
  problem?: string;
  detail?: string;
  generation?: number;
  /** One line per fact, for people. */
  lines: string[];
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

function describeSettings(sodium: SodiumBackend, doc: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const keys = list(doc.trustedRecoveryKeys);
  lines.push(`trusted recovery keys: ${keys.length}`);
  for (const entry of keys.map(record)) {
    let id: string;
    try {
      id = formatKeyId(recoveryKeyId(sodium, parsePublicKey(sodium, text(entry.publicKey))));
    } catch (error) {
      id = `(not a valid public key: ${error instanceof Error ? error.message : String(error)})`;
    }
    const claimed =
      typeof entry.keyId === 'string' && entry.keyId !== id ? ` (file claims ${entry.keyId})` : '';
    const label = typeof entry.label === 'string' ? `  "${entry.label}"` : '';
    lines.push(`  ${id}${claimed}${label}`);
  }
  lines.push(`device key ID: ${typeof doc.deviceKeyId === 'string' ? doc.deviceKeyId : '(none)'}`);
  lines.push(`used recovery codes: ${list(doc.usedRecoveryCodeIds).length}`);
  lines.push(`trust log entries: ${list(doc.trustLog).length}`);
  return lines;
}

function describeFolders(doc: Record<string, unknown>): string[] {
  const folders = list(doc.folders).map(record);
  const lines = [`protected folders: ${folders.length}`];
  for (const f of folders) lines.push(`  ${text(f.path)} (${text(f.state)})`);
  lines.push(
    Array.isArray(doc.ignore)
      ? `ignore patterns (replacing the defaults): ${doc.ignore.map(text).join(', ') || '(none)'}`
      : 'ignore patterns: the defaults',
  );
  return lines;
}

function describeEscrow(doc: Record<string, unknown>): string[] {
  const code = record(doc.code);
  return [
    `device key ID: ${text(doc.deviceKeyId)}`,
    `recovery code ID: ${text(code.keyId)}`,
    `created: ${text(doc.createdAt)}`,
    // A sealed box does not name its recipient: these IDs are the record's own claim.
    `sealed to recovery keys (as the record says): ${
      list(doc.recovery)
        .map((r) => text(record(r).keyId))
        .join(', ') || '(none)'
    }`,
  ];
}

export function describeState(sodium: SodiumBackend, report: StateReport): StateFileView {
  const { kind, file, state } = report;
  if (state.status === 'absent') return { kind, file, status: 'absent', lines: ['(no file)'] };
  const base: StateFileView =
    state.status === 'ok'
      ? { kind, file, status: 'ok', generation: state.generation, lines: [] }
      : {
          kind,
          file,
          status: 'tampered',
          problem: state.problem,
          detail: state.detail,
          ...(state.generation !== undefined ? { generation: state.generation } : {}),
          lines: [],
        };
  if (state.body === undefined) return { ...base, lines: ['(content cannot be read)'] };
  let doc: Record<string, unknown>;
  try {
    doc = record(JSON.parse(state.body));
  } catch {
    return { ...base, lines: ['(content is not JSON)'] };
  }
  const lines =
    kind === 'settings'
      ? describeSettings(sodium, doc)
      : kind === 'folders'
        ? describeFolders(doc)
        : describeEscrow(doc);
  // Every line carries text from a file that may be an intruder's: a label with a line break, ESC or a bidi
  // override must not forge lines like Coffer's own ("verified …") in `coffer state show` or the banner.
  return { ...base, lines: lines.map(printable) };
}
