/**
 * The signed report file (docs/REPORT.md §4) and its verification (§5): what is signed, the outcome codes,
 * and the signer checks that make "verifies on any machine" mean something — a report re-signed with a fresh
 * key verifies as a signature, so it is also checked against the key IT expects or the key of earlier reports.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseKeyId, formatKeyId } from '../../../crypto/keys.js';
import { CofferError, isCofferError } from '../../../crypto/errors.js';
import { canonicalJson } from './canonical.js';
import { parseStrictJson } from './strict-json.js';
import { reportFileName, reportFilePrefix } from './publisher.js';
import { decodeStrictBase64 } from '../strict-base64.js';
import {
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  reportKeyId,
  verifySignature,
  type Signer,
} from './signing-key.js';

export const REPORT_FORMAT = 'coffer-report-1';
/** §2: prefixed to the canonical bytes, so a report signature is never valid as anything else. */
const SIGNED_PREFIX = 'coffer report v1\n';

const count = z.number().int().min(0);
const counts = z.record(z.string(), count);

/** §6, checked after the signature (a signed but incomplete body is a bug or a forger holding the key). */
export const reportBodySchema = z.object({
  createdAt: z.iso.datetime(),
  reason: z.enum(['manual', 'change', 'daily']),
  app: z.object({ version: z.string() }),
  device: z.object({
    hostname: z.string(),
    user: z.string(),
    platform: z.string(),
    deviceKeyId: z.string().nullable(),
    deviceKeyState: z.enum(['ok', 'missing', 'damaged', 'none', 'unreadable']),
    readOnlyDeviceKeyIds: z.array(z.string()),
  }),
  recoveryKeys: z.object({
    current: z.array(z.string()),
    fromPolicy: z.array(z.string()),
    trustedByUser: z.array(z.string()),
  }),
  folders: z.array(
    z.object({
      path: z.string(),
      mandatory: z.boolean(),
      // Optional (§6): a folder Coffer cannot see (gone, swapped for a symlink, its drive not mounted).
      unavailable: z.enum(['missing', 'not-mounted']).optional(),
      protected: count,
      inTheClear: count,
      inTheClearByReason: counts,
      excluded: count,
      // Optional: reports made before it was added still verify (§6).
      excludedByReason: counts.optional(),
      notRecoverableByIt: count,
      headersUnreadable: count,
      retiredKeyStanzas: count,
      leftovers: count,
      lastRun: z.object({ op: z.string(), at: z.string(), outcome: z.string() }).nullable(),
    }),
  ),
  mandatoryNotProtected: z.array(z.string()),
  totals: z.object({
    folders: count,
    protected: count,
    inTheClear: count,
    excluded: count.optional(),
    notRecoverableByIt: count,
    unavailable: count.optional(),
  }),
  audit: z.union([
    z.object({ state: z.literal('none'), note: z.string() }),
    z.object({
      state: z.literal('done'),
      at: z.string(),
      filesScanned: count,
      filesWithFindingsOutsideProtected: count,
      findingsOutsideProtected: counts,
    }),
  ]),
  auditTrail: z.object({ records: count, verified: z.boolean() }),
  policy: z.object({
    status: z.enum(['none', 'active', 'invalid']),
    origin: z.string(),
    problems: z.array(z.string()),
    managed: z.record(z.string(), z.json()),
  }),
});
export type ReportBody = z.infer<typeof reportBodySchema>;

export interface ReportFile {
  readonly format: typeof REPORT_FORMAT;
  readonly report: ReportBody;
  readonly signer: { readonly algorithm: 'ed25519'; readonly keyId: string; readonly publicKey: string };
  readonly signature: string;
}

/** The bytes a signature covers: §2's prefix and the canonical JSON of the file without `signature`. */
export function signedBytes(unsigned: Readonly<Record<string, unknown>>): Uint8Array {
  return new TextEncoder().encode(SIGNED_PREFIX + canonicalJson(unsigned));
}

/**
 * Signs `report` with `sign` (the device's key, or a test's own). The signer fields are part of what is
 * signed, so the key is asked for twice: once for its public key, once for the signature over it.
 */
export async function signReport(
  report: ReportBody,
  sign: (message: Uint8Array) => Promise<Signer> | Signer,
): Promise<ReportFile> {
  const probe = await sign(new Uint8Array(0));
  const signer = {
    algorithm: 'ed25519' as const,
    keyId: probe.keyId,
    publicKey: Buffer.from(probe.publicKey).toString('base64'),
  };
  const unsigned = { format: REPORT_FORMAT as typeof REPORT_FORMAT, report, signer };
  const signed = await sign(signedBytes(unsigned));
  if (signed.keyId !== probe.keyId) {
    throw new CofferError(
      'REPORT_KEY_CHANGED',
      'The report-signing key changed while the report was being signed',
      'Run `coffer report` again.',
    );
  }
  return { ...unsigned, signature: Buffer.from(signed.signature).toString('base64') };
}

export type VerifyCode =
  | 'REPORT_UNREADABLE'
  | 'REPORT_MALFORMED'
  | 'REPORT_KEY_MISMATCH'
  | 'REPORT_SIGNATURE_INVALID'
  | 'REPORT_NAME_MISMATCH'
  | 'REPORT_UNEXPECTED_SIGNER'
  | 'REPORT_SIGNER_CHANGED';

export type Verdict =
  | {
      readonly ok: true;
      readonly file: string;
      readonly report: ReportBody;
      readonly signerKeyId: string;
      /** True when the signer was compared with --expect-key or an earlier report (§5). */
      readonly signerChecked: boolean;
      /** What the signer was compared with, for people. */
      readonly checkedAgainst?: string;
    }
  | {
      readonly ok: false;
      readonly file: string;
      readonly code: VerifyCode;
      readonly problem: string;
      readonly signerKeyId?: string;
      readonly expectedKeyId?: string;
    };

const base64 = (length: number) =>
  z
    .string()
    .refine((s) => decodeStrictBase64(s, length) !== null, `must be ${length} bytes in canonical base64`);

const envelopeSchema = z.object({
  format: z.literal(REPORT_FORMAT),
  report: z.record(z.string(), z.unknown()),
  signer: z.object({
    algorithm: z.literal('ed25519'),
    keyId: z.string(),
    publicKey: base64(PUBLIC_KEY_BYTES),
  }),
  signature: base64(SIGNATURE_BYTES),
});

type Checked = { ok: true; report: ReportBody; signerKeyId: string } | Extract<Verdict, { ok: false }>;

/** §5 up to the signer check: readable, well-formed, key ID, signature, body shape. */
export function checkReportText(file: string, text: string): Checked {
  const fail = (code: VerifyCode, problem: string, extra: { signerKeyId?: string } = {}): Checked => ({
    ok: false,
    file,
    code,
    problem,
    ...extra,
  });
  let value: unknown;
  try {
    // Not JSON.parse: it keeps the last of two members with one name and reads 0.99999999999999999 as 1,
    // so the text could show another value than the signed one (§2, strict-json.ts).
    value = parseStrictJson(text);
  } catch (error) {
    return fail(
      'REPORT_MALFORMED',
      `not strict JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const envelope = envelopeSchema.safeParse(value);
  if (!envelope.success) {
    const issue = envelope.error.issues[0];
    const where = issue?.path.map(String).join('.') || '(file)';
    return fail('REPORT_MALFORMED', `${where}: ${issue?.message ?? 'not a report'}`);
  }
  const { signer, signature } = envelope.data;
  const publicKey = new Uint8Array(Buffer.from(signer.publicKey, 'base64'));
  const keyId = reportKeyId(publicKey);
  if (signer.keyId !== keyId) {
    return fail(
      'REPORT_KEY_MISMATCH',
      `signer.keyId ${signer.keyId} is not the key ID of signer.publicKey (${keyId})`,
      { signerKeyId: keyId },
    );
  }
  const unsigned: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  delete unsigned.signature;
  let message: Uint8Array;
  try {
    message = signedBytes(unsigned);
  } catch (error) {
    return fail('REPORT_MALFORMED', isCofferError(error) ? error.message : String(error));
  }
  if (!verifySignature(message, publicKey, new Uint8Array(Buffer.from(signature, 'base64')))) {
    return fail(
      'REPORT_SIGNATURE_INVALID',
      `the signature of key ${keyId} does not verify: the report was changed after it was signed, or its signature is not its own`,
      { signerKeyId: keyId },
    );
  }
  const body = reportBodySchema.safeParse(envelope.data.report);
  if (!body.success) {
    const issue = body.error.issues[0];
    return fail(
      'REPORT_MALFORMED',
      `report.${issue?.path.map(String).join('.') ?? ''}: ${issue?.message ?? 'not a report body'} (signed, but not a complete report)`,
      { signerKeyId: keyId },
    );
  }
  return { ok: true, report: body.data, signerKeyId: keyId };
}

/** A report is a few KiB (a thousand folders stay under 1 MiB); more is not one, and is not read. */
export const MAX_REPORT_BYTES = 4 * 1024 * 1024;

/**
 * The file's text, or why not. Only a regular file, opened without blocking (a pipe planted in a share
 * would hang a plain read forever), at most MAX_REPORT_BYTES, and valid UTF-8 (a replacement character
 * would let two different byte strings verify as one).
 */
// Not defined on Windows, where a named pipe is not a file in a share folder anyway.
const NONBLOCK: number = (fs.constants as Partial<typeof fs.constants>).O_NONBLOCK ?? 0;

function readText(file: string): string | CofferError {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | NONBLOCK);
  } catch (error) {
    return new CofferError('REPORT_UNREADABLE', `${file}: ${(error as Error).message}`, 'Check the path.');
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      return new CofferError('REPORT_UNREADABLE', `${file}: not a regular file`, 'Check the path.');
    }
    if (stat.size > MAX_REPORT_BYTES) {
      return new CofferError(
        'REPORT_MALFORMED',
        `${file}: ${stat.size} bytes, larger than any report (${MAX_REPORT_BYTES})`,
        'Use the report file as Coffer wrote it.',
      );
    }
    const bytes = fs.readFileSync(fd);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return new CofferError(
        'REPORT_MALFORMED',
        `${file}: not UTF-8 text`,
        'Use the report file as Coffer wrote it.',
      );
    }
  } catch (error) {
    return new CofferError('REPORT_UNREADABLE', `${file}: ${(error as Error).message}`, 'Check the path.');
  } finally {
    fs.closeSync(fd);
  }
}

/** Accepts a key ID as people copy it (with or without dashes); null when it is not one. */
export function normalizeKeyId(text: string): string | null {
  const id = parseKeyId(text);
  return id === null ? null : formatKeyId(id);
}

const NAME_START = 'coffer-report-';

/** The laptop slot of a report: its §7 file-name prefix, without case (Windows host and user names have none). */
function slotOf(report: Pick<ReportBody, 'device'>): string {
  return reportFilePrefix(report).toLowerCase();
}

/**
 * §5: a file named as a report (`coffer-report-…`) must be the report of the host, user and day its name
 * says. Else a forgery whose host name differs by an invisible or mapped character, or an older genuine
 * report copied over today's file, would sit in the laptop's slot and be read as its newest state.
 */
function nameMismatch(file: string, report: ReportBody): string | null {
  const name = path.basename(file).toLowerCase();
  if (!name.startsWith(NAME_START)) return null; // a copy IT renamed: nothing to compare
  const expected = reportFileName(report)
    .replace(/\.json$/, '')
    .toLowerCase();
  if (name.startsWith(expected)) return null;
  return `the file is named ${path.basename(file)}, but it is the report of ${JSON.stringify(report.device.user)}@${JSON.stringify(report.device.hostname)} of ${report.createdAt.slice(0, 10)} (${reportFileName(report)}): a report moved into another laptop's or day's place`;
}

/**
 * The other reports in `dir` of the same laptop slot whose own signatures verify, by signer (§5, trust on
 * first use). Every one of them must have the same signer: the earliest cannot be told by its `createdAt`,
 * which is whatever its signer wrote, so a forger who plants a back-dated report of their own key would
 * otherwise become "the first".
 */
function signersIn(dir: string, file: string, report: ReportBody): Map<string, string[]> {
  const signers = new Map<string, string[]>();
  const slot = slotOf(report);
  let names: string[];
  try {
    // The same laptop's files only (§7 names them by host and user): a share holds every laptop's reports.
    // The date right after the prefix keeps laptop "a" user "b-c" apart from laptop "a-b" user "c".
    names = fs
      .readdirSync(dir)
      .filter((n) => n.toLowerCase().startsWith(slot) && /^\d{4}-\d{2}-\d{2}/.test(n.slice(slot.length)));
  } catch {
    return signers;
  }
  for (const name of names.sort()) {
    const other = path.join(dir, name);
    if (path.resolve(other) === path.resolve(file)) continue;
    const text = readText(other);
    if (typeof text !== 'string') continue;
    const checked = checkReportText(other, text);
    if (!checked.ok || slotOf(checked.report) !== slot) continue;
    signers.set(checked.signerKeyId, [...(signers.get(checked.signerKeyId) ?? []), other]);
  }
  return signers;
}

export interface VerifyOptions {
  /** The report key ID IT recorded for this laptop (--expect-key). */
  readonly expectKeyId?: string;
  /** Also compare with earlier reports in the file's folder (default true; §5). */
  readonly compareWithFolder?: boolean;
}

/** §5: every check, in order; never throws for a bad file. */
export function verifyReportFile(file: string, options: VerifyOptions = {}): Verdict {
  const text = readText(file);
  if (typeof text !== 'string') {
    const code = text.code === 'REPORT_MALFORMED' ? 'REPORT_MALFORMED' : 'REPORT_UNREADABLE';
    return { ok: false, file, code, problem: text.message };
  }
  const checked = checkReportText(file, text);
  if (!checked.ok) return checked;
  const { report, signerKeyId } = checked;
  const misnamed = nameMismatch(file, report);
  if (misnamed !== null) {
    return { ok: false, file, code: 'REPORT_NAME_MISMATCH', problem: misnamed, signerKeyId };
  }
  if (options.expectKeyId !== undefined) {
    if (signerKeyId !== options.expectKeyId) {
      return {
        ok: false,
        file,
        code: 'REPORT_UNEXPECTED_SIGNER',
        problem: `signed by key ${signerKeyId}, not by the expected ${options.expectKeyId}: not this laptop's report, or its key was replaced`,
        signerKeyId,
        expectedKeyId: options.expectKeyId,
      };
    }
    return { ok: true, file, report, signerKeyId, signerChecked: true, checkedAgainst: '--expect-key' };
  }
  if (options.compareWithFolder !== false) {
    const signers = signersIn(path.dirname(path.resolve(file)), file, report);
    const others = [...signers.entries()].filter(([id]) => id !== signerKeyId);
    const [otherId, otherFiles] = others[0] ?? [];
    if (otherId !== undefined && otherFiles !== undefined) {
      return {
        ok: false,
        file,
        code: 'REPORT_SIGNER_CHANGED',
        problem: `signed by key ${signerKeyId}, but ${otherFiles.length} other report(s) of ${report.device.user}@${report.device.hostname} in this folder (${otherFiles.map((f) => path.basename(f)).join(', ')}) were signed by ${otherId}: a forgery, or the laptop's key was reset; check with --expect-key and the key ID recorded at enrolment`,
        signerKeyId,
        expectedKeyId: otherId,
      };
    }
    const same = signers.get(signerKeyId);
    if (same !== undefined) {
      return {
        ok: true,
        file,
        report,
        signerKeyId,
        signerChecked: true,
        checkedAgainst: `${same.length} other report(s) of this laptop in ${path.dirname(path.resolve(file))}, all signed by this key`,
      };
    }
  }
  return { ok: true, file, report, signerKeyId, signerChecked: false };
}
