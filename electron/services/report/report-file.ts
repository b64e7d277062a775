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
import { reportFilePrefix } from './publisher.js';
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
      protected: count,
      inTheClear: count,
      inTheClearByReason: counts,
      excluded: count,
      notRecoverableByIt: count,
      headersUnreadable: count,
      retiredKeyStanzas: count,
      leftovers: count,
      lastRun: z.object({ op: z.string(), at: z.string(), outcome: z.string() }).nullable(),
    }),
  ),
  mandatoryNotProtected: z.array(z.string()),
  totals: z.object({ folders: count, protected: count, inTheClear: count, notRecoverableByIt: count }),
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
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
    .refine((s) => Buffer.from(s, 'base64').length === length, `must be ${length} bytes`);

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
    value = JSON.parse(text);
  } catch (error) {
    return fail('REPORT_MALFORMED', `not JSON (${error instanceof Error ? error.message : String(error)})`);
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

function readText(file: string): string | CofferError {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    return new CofferError('REPORT_UNREADABLE', `${file}: ${(error as Error).message}`, 'Check the path.');
  }
}

/** Accepts a key ID as people copy it (with or without dashes); null when it is not one. */
export function normalizeKeyId(text: string): string | null {
  const id = parseKeyId(text);
  return id === null ? null : formatKeyId(id);
}

/**
 * The earliest report in `dir` (other than `file`) from the same host and user whose own signature verifies:
 * the signer that later reports must keep (§5, trust on first use).
 */
function firstSignerIn(
  dir: string,
  file: string,
  report: ReportBody,
): { keyId: string; file: string } | null {
  let names: string[];
  try {
    // The same laptop's files only (§7 names them by host and user): a share holds every laptop's reports.
    const prefix = reportFilePrefix(report);
    names = fs.readdirSync(dir).filter((n) => n.startsWith(prefix) && n.endsWith('.json'));
  } catch {
    return null;
  }
  let first: { keyId: string; file: string; at: string } | null = null;
  for (const name of names) {
    const other = path.join(dir, name);
    if (path.resolve(other) === path.resolve(file)) continue;
    const text = readText(other);
    if (typeof text !== 'string') continue;
    const checked = checkReportText(other, text);
    if (!checked.ok) continue;
    const { device, createdAt } = checked.report;
    if (device.hostname !== report.device.hostname || device.user !== report.device.user) continue;
    if (first === null || createdAt < first.at)
      first = { keyId: checked.signerKeyId, file: other, at: createdAt };
  }
  return first;
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
  if (typeof text !== 'string') return { ok: false, file, code: 'REPORT_UNREADABLE', problem: text.message };
  const checked = checkReportText(file, text);
  if (!checked.ok) return checked;
  const { report, signerKeyId } = checked;
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
    const first = firstSignerIn(path.dirname(path.resolve(file)), file, report);
    if (first !== null && first.keyId !== signerKeyId) {
      return {
        ok: false,
        file,
        code: 'REPORT_SIGNER_CHANGED',
        problem: `signed by key ${signerKeyId}, but the earlier report ${path.basename(first.file)} of ${report.device.user}@${report.device.hostname} was signed by ${first.keyId}: a forgery, or the laptop's key was reset`,
        signerKeyId,
        expectedKeyId: first.keyId,
      };
    }
    if (first !== null) {
      return { ok: true, file, report, signerKeyId, signerChecked: true, checkedAgainst: first.file };
    }
  }
  return { ok: true, file, report, signerKeyId, signerChecked: false };
}
