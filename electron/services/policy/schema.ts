/**
 * The machine-wide policy: which settings exist, how each source's raw values are read into them, and what
 * makes a policy invalid. docs/DEPLOYMENT.md §5 "Settings" documents every key.
 *
 * Sources disagree on types (the registry has DWORDs and REG_MULTI_SZ, managed preferences have plist
 * booleans and arrays, the Linux file has JSON), so each field accepts the forms its sources produce and is
 * normalized here, once. Anything else is an error: a policy that says something we cannot read is reported
 * and puts Coffer into its restrictive state, never silently ignored (a typo in `allowUnprotect` must not
 * turn into "allowed").
 */
import path from 'node:path';
import { z } from 'zod';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { parsePublicKey } from '../keys/public-key-text.js';

/** The keys IT can set, in the order the UI and docs list them. */
export const POLICY_KEYS = [
  'recoveryPublicKeys',
  'requireRecoveryKey',
  'mandatoryFolders',
  'allowUnprotect',
  'allowDecryptCopy',
  'allowUserRecoveryKeys',
  'exclude',
  'autoLockMinutes',
  'updateUrl',
  'auditForward',
  'helpdeskTools',
  'auditRoots',
  'customerDataPatterns',
  'retentionDays',
  'reportDir',
  'helpdeskContact',
] as const;
export type PolicyKey = (typeof POLICY_KEYS)[number];

export interface RecoveryPublicKey {
  /** The text as written in the policy, kept for display and for round-tripping in reports. */
  readonly text: string;
  readonly publicKey: Uint8Array;
}

/** A valid policy. A key that is absent is not managed: the user's setting (or Coffer's default) applies. */
export interface Policy {
  readonly recoveryPublicKeys?: readonly RecoveryPublicKey[];
  readonly requireRecoveryKey?: boolean;
  /** Absolute, normalized paths (`~` already expanded). */
  readonly mandatoryFolders?: readonly string[];
  readonly allowUnprotect?: boolean;
  readonly allowDecryptCopy?: boolean;
  /** When recovery keys are deployed: whether keys the user trusts are added too (default no). */
  readonly allowUserRecoveryKeys?: boolean;
  /** Globs kept in the clear inside every protected folder (folders/guard-rails.ts `globToRegExp`). */
  readonly exclude?: readonly string[];
  readonly autoLockMinutes?: number;
  readonly updateUrl?: string;
  /** The collector the audit trail is sent to (audit-log/forwarder.ts); https:// only. */
  readonly auditForward?: string;
  /** Whether this computer shows the Helpdesk page and accepts its operations (default no: employees). */
  readonly helpdeskTools?: boolean;
  /** Folders the data audit scans (absolute, `~` expanded); default: Desktop, Documents, Downloads (audit/roots.ts). */
  readonly auditRoots?: readonly string[];
  /** The organization's own customer-data patterns, counted by name; each regex compiled here once to check it. */
  readonly customerDataPatterns?: readonly CustomerDataPattern[];
  /** Files unmodified for longer than this are stale in the data audit. */
  readonly retentionDays?: number;
  /** Where breach-readiness reports go, e.g. a network share (report/publisher.ts, docs/REPORT.md §7). */
  readonly reportDir?: string;
  /** Who employees call, printed on the recovery kit (renderer/src/screens/RecoveryKit.tsx): plain text, one line. */
  readonly helpdeskContact?: string;
}

export interface CustomerDataPattern {
  readonly name: string;
  readonly regex: string;
}

export interface PolicyParseContext {
  /** Turns a recovery public key's text into its 32 bytes; throws (with the reason) when it is not one. */
  readonly parseRecoveryPublicKey: (text: string) => Uint8Array;
  /** For `~` in mandatory folders: the home directory of the user Coffer runs as. */
  readonly homeDir: string;
  /** Path rules of the platform the policy applies to (tests pass path.win32 for Windows policies). */
  readonly pathApi?: path.PlatformPath;
}

export type PolicyParseResult = { ok: true; policy: Policy } | { ok: false; problems: string[] };

/**
 * Recovery public keys in policy are the §11.2 text line (`coffer-recovery-1:...`), whose checksum catches a
 * key mistyped or cut short while copying it into a GPO or profile.
 */
export function recoveryPublicKeyParser(sodium: SodiumBackend): (text: string) => Uint8Array {
  return (text) => parsePublicKey(sodium, text);
}

const MAX_LIST = 64;
const MAX_HELPDESK_CONTACT = 200;

// Registry REG_DWORD and plist integers give 0/1 where JSON gives a boolean.
const flag = z.union([z.boolean(), z.literal(0).transform(() => false), z.literal(1).transform(() => true)], {
  error: 'must be true or false (1 or 0 in the registry)',
});

/** A list arrives as an array (JSON, plist, REG_MULTI_SZ) or as one string holding a JSON array (REG_SZ, VS Code's convention). */
const stringList = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value; // left as a string, so the array check below reports it
    }
  },
  z
    .array(z.string().trim().min(1, 'must not contain empty entries'))
    .max(MAX_LIST, `must have at most ${MAX_LIST} entries`),
);

/** Detector names are reported as JSON keys and CLI columns: letters, digits, `-` and `_`, not a built-in name. */
const BUILT_IN_DETECTORS = new Set(['email', 'phone', 'iban', 'payment-card', 'us-ssn', 'uk-nino']);

/**
 * `customerDataPatterns`: `{name, regex}` objects (JSON, plist dicts) or one string holding their JSON array
 * (the registry). Each regex is compiled here, so a typo is a policy problem, not a scan that crashes.
 */
const patternList = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  },
  z
    .array(
      z.strictObject({
        name: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/, 'must be 1-40 letters, digits, - or _')
          .refine((name) => !BUILT_IN_DETECTORS.has(name), 'must not be the name of a built-in detector'),
        regex: z
          .string()
          .min(1)
          .max(1000)
          .refine((source) => {
            try {
              new RegExp(source, 'u');
              return true;
            } catch {
              return false;
            }
          }, 'must be a valid regular expression (JavaScript syntax, Unicode mode)'),
      }),
    )
    .max(MAX_LIST, `must have at most ${MAX_LIST} entries`)
    .refine((list) => new Set(list.map((p) => p.name)).size === list.length, 'names must be unique'),
);

const httpsUrl = (why: string) =>
  z
    .string()
    .trim()
    .refine((url) => URL.parse(url)?.protocol === 'https:', `must be an https:// URL (${why})`);

const rawPolicySchema = z.strictObject({
  recoveryPublicKeys: stringList.optional(),
  requireRecoveryKey: flag.optional(),
  mandatoryFolders: stringList.optional(),
  allowUnprotect: flag.optional(),
  allowDecryptCopy: flag.optional(),
  allowUserRecoveryKeys: flag.optional(),
  exclude: stringList.optional(),
  // 0 would mean "never lock": an organization that wants that omits the key instead.
  autoLockMinutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .optional(),
  updateUrl: httpsUrl('updates are never fetched over plain HTTP').optional(),
  auditForward: httpsUrl('audit events are never sent over plain HTTP').optional(),
  helpdeskTools: flag.optional(),
  auditRoots: stringList
    .refine(
      (list) => list.every((f) => /^~([\\/]|$)/.test(f) || path.isAbsolute(f) || path.win32.isAbsolute(f)),
      'must be absolute paths or start with ~',
    )
    .optional(),
  customerDataPatterns: patternList.optional(),
  retentionDays: z
    .number()
    .int()
    .min(1)
    .max(100 * 365)
    .optional(),
  // A folder that must already exist (a mounted share): Coffer never creates it (docs/REPORT.md §7).
  reportDir: z
    .string()
    .trim()
    .refine(
      (f) => path.isAbsolute(f) || path.win32.isAbsolute(f),
      'must be an absolute path (a local or network folder)',
    )
    .optional(),
  // Printed on the recovery kit as text, never as a link or markup: one short line a person can read out.
  helpdeskContact: z
    .string()
    .trim()
    .min(1, 'must not be empty (omit the key instead)')
    .max(MAX_HELPDESK_CONTACT, `must be at most ${MAX_HELPDESK_CONTACT} characters`)
    // Format characters (direction overrides, invisible marks) are refused, except the zero-width
    // (non-)joiner that Persian, Indic scripts and emoji sequences spell with; half a character (a lone
    // surrogate) and private-use characters are not text anyone can read.
    .refine(
      (text) => !/[\p{Cc}\p{Cs}\p{Co}\p{Zl}\p{Zp}]|(?![\u200c\u200d])\p{Cf}/u.test(text),
      'must be one line of plain text',
    )
    .optional(),
});

function expandHome(folder: string, ctx: PolicyParseContext): string {
  if (folder === '~') return ctx.homeDir;
  if (folder.startsWith('~/') || folder.startsWith('~\\')) return `${ctx.homeDir}${folder.slice(1)}`;
  return folder;
}

/** The lists whose entries need more than a type check, each taken only when it is well-typed on its own. */
function listsOf(raw: unknown): { recoveryPublicKeys?: string[]; mandatoryFolders?: string[] } {
  if (typeof raw !== 'object' || raw === null) return {};
  const record = raw as Record<string, unknown>;
  const list = (v: unknown): string[] | undefined => {
    const parsed = stringList.optional().safeParse(v);
    return parsed.success ? parsed.data : undefined;
  };
  return {
    recoveryPublicKeys: list(record.recoveryPublicKeys),
    mandatoryFolders: list(record.mandatoryFolders),
  };
}

const KINDS: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'text',
  boolean: 'true or false',
  array: 'a list',
  object: 'a set of settings (a JSON object)',
};

/**
 * zod's default wording ("Invalid input: expected int, received number") said for IT and for the
 * employee who sees it on the Overview; messages written here on purpose are kept as they are.
 */
function problemText(issue: z.core.$ZodIssue): string {
  if (!/^(Invalid input|Too small|Too big|Unrecognized key)/.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${KINDS[issue.expected] ?? issue.expected}`;
    case 'unrecognized_keys':
      return `${issue.keys.map((k) => `"${k}"`).join(', ')} ${issue.keys.length === 1 ? 'is not a Coffer setting' : 'are not Coffer settings'} (check the spelling; docs/DEPLOYMENT.md §5 lists them)`;
    case 'too_small':
      return issue.origin === 'number'
        ? `must be at least ${String(issue.minimum)}`
        : `must have at least ${String(issue.minimum)} ${issue.origin === 'string' ? 'characters' : 'entries'}`;
    case 'too_big':
      return issue.origin === 'number'
        ? `must be at most ${String(issue.maximum)}`
        : `must have at most ${String(issue.maximum)} ${issue.origin === 'string' ? 'characters' : 'entries'}`;
    default:
      return issue.message;
  }
}

/** Validates raw values from any source into a Policy, or lists every problem found (for the UI, CLI and log). */
export function parsePolicy(raw: unknown, ctx: PolicyParseContext): PolicyParseResult {
  const result = rawPolicySchema.safeParse(raw);
  const problems: string[] = result.success
    ? []
    : result.error.issues.map((issue) => {
        const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(policy)';
        return `${where}: ${problemText(issue)}`;
      });
  // The lists are checked further even when another key has the wrong type, so IT sees every problem at once.
  const lists = result.success ? result.data : listsOf(raw);
  const p = ctx.pathApi ?? path;

  let recoveryPublicKeys: RecoveryPublicKey[] | undefined;
  if (lists.recoveryPublicKeys !== undefined) {
    recoveryPublicKeys = [];
    lists.recoveryPublicKeys.forEach((text, index) => {
      let publicKey: Uint8Array;
      try {
        publicKey = ctx.parseRecoveryPublicKey(text);
      } catch (error) {
        problems.push(
          `recoveryPublicKeys.${index}: ${error instanceof Error ? error.message : String(error)}`,
        );
        return;
      }
      if (!recoveryPublicKeys?.some((k) => Buffer.from(k.publicKey).equals(publicKey))) {
        recoveryPublicKeys?.push({ text, publicKey });
      }
    });
  }

  let mandatoryFolders: string[] | undefined;
  if (lists.mandatoryFolders !== undefined) {
    mandatoryFolders = [];
    lists.mandatoryFolders.forEach((folder, index) => {
      const expanded = expandHome(folder, ctx);
      if (!p.isAbsolute(expanded)) {
        problems.push(
          `mandatoryFolders.${index}: must be an absolute path or start with ~ (got "${folder}")`,
        );
      } else {
        mandatoryFolders?.push(p.resolve(expanded));
      }
    });
  }

  // requireRecoveryKey without keys is valid on purpose: IT may stage the requirement before the key, and
  // Coffer then refuses to encrypt (NO_RECOVERY_KEY) instead of writing files nobody can recover.
  if (!result.success || problems.length > 0) return { ok: false, problems };
  const value = result.data;

  const policy: Policy = {
    ...(recoveryPublicKeys !== undefined && { recoveryPublicKeys }),
    ...(value.requireRecoveryKey !== undefined && { requireRecoveryKey: value.requireRecoveryKey }),
    ...(mandatoryFolders !== undefined && { mandatoryFolders }),
    ...(value.allowUnprotect !== undefined && { allowUnprotect: value.allowUnprotect }),
    ...(value.allowDecryptCopy !== undefined && { allowDecryptCopy: value.allowDecryptCopy }),
    ...(value.allowUserRecoveryKeys !== undefined && { allowUserRecoveryKeys: value.allowUserRecoveryKeys }),
    ...(value.exclude !== undefined && { exclude: value.exclude }),
    ...(value.autoLockMinutes !== undefined && { autoLockMinutes: value.autoLockMinutes }),
    ...(value.updateUrl !== undefined && { updateUrl: value.updateUrl }),
    ...(value.auditForward !== undefined && { auditForward: value.auditForward }),
    ...(value.helpdeskTools !== undefined && { helpdeskTools: value.helpdeskTools }),
    ...(value.auditRoots !== undefined && {
      auditRoots: value.auditRoots.map((f) => p.resolve(expandHome(f, ctx))),
    }),
    ...(value.customerDataPatterns !== undefined && { customerDataPatterns: value.customerDataPatterns }),
    ...(value.retentionDays !== undefined && { retentionDays: value.retentionDays }),
    ...(value.reportDir !== undefined && { reportDir: value.reportDir }),
    ...(value.helpdeskContact !== undefined && { helpdeskContact: value.helpdeskContact }),
  };
  return { ok: true, policy };
}

/** The keys a policy manages, for "set by your organization" in the UI. */
export function managedKeys(policy: Policy): PolicyKey[] {
  return POLICY_KEYS.filter((key) => policy[key] !== undefined);
}
