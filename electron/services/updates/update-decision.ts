/**
 * Whether Coffer may check for updates, and where: plain Node, so every rule is unit-tested without Electron.
 * electron/main/updater.ts follows the decision and never makes a network call when it says no.
 *
 * Rules (docs/DEPLOYMENT.md "Updates"):
 * 1. Only installed builds update (a development run would overwrite nothing sensible).
 * 2. An invalid policy pauses updates: its updateUrl may have pointed at an internal mirror, and falling back
 *    to the build's URL would make calls the organization did not allow.
 * 3. The feed is the policy's updateUrl, else the URL built in (COFFER_UPDATE_URL at build time), else there
 *    is no feed and no call at all. Only https.
 * 4. No channel without signatures: Windows needs the publisher names electron-updater checks each
 *    installer's Authenticode signature against (from app-update.yml; without them electron-updater skips the
 *    check), macOS needs a signed app (Squirrel.Mac only accepts an update signed by the same Developer ID).
 *    Linux packages are updated by the organization's signed apt/dnf repository instead: electron-updater
 *    checks only a SHA-512 from the same server there, which is not a signature.
 */
import type { PolicyState } from '../policy/policy-service.js';

export interface UpdateContext {
  readonly platform: NodeJS.Platform;
  readonly isPackaged: boolean;
  readonly policy: PolicyState;
  /** The URL built into this build (`coffer.updateUrl` in the packaged package.json), if any. */
  readonly builtInUrl: string | undefined;
  /** The contents of resources/app-update.yml, or null when the build has none. */
  readonly appUpdateYml: string | null;
  /** macOS: the app bundle carries a valid Developer ID signature. */
  readonly macCodeSigned: boolean;
}

export type UpdateDecision =
  | {
      readonly enabled: true;
      readonly url: string;
      readonly source: 'policy' | 'build';
      readonly publisherNames: readonly string[];
    }
  | { readonly enabled: false; readonly reason: string };

export function decideUpdates(ctx: UpdateContext): UpdateDecision {
  if (!ctx.isPackaged) return off('this is a development build; updates are for installed builds');
  if (ctx.policy.status === 'invalid') {
    return off(`updates are paused because the organization policy (${ctx.policy.origin}) is invalid`);
  }
  const policyUrl = ctx.policy.status === 'active' ? ctx.policy.policy.updateUrl : undefined;
  const url = policyUrl ?? emptyToUndefined(ctx.builtInUrl);
  if (url === undefined)
    return off('no update URL is set (by policy or in this build), so Coffer never checks');
  if (!isHttps(url)) return off(`the update URL ${url} is not https`);
  const source = policyUrl !== undefined ? 'policy' : 'build';

  switch (ctx.platform) {
    case 'win32': {
      const publisherNames =
        ctx.appUpdateYml === null ? [] : publisherNamesFromAppUpdateYml(ctx.appUpdateYml);
      if (publisherNames.length === 0) {
        return off(
          'this build is not code-signed (no publisher name to check updates against), so it does not update itself',
        );
      }
      return { enabled: true, url, source, publisherNames };
    }
    case 'darwin':
      if (!ctx.macCodeSigned)
        return off('this build is not code-signed, and macOS only installs signed updates');
      return { enabled: true, url, source, publisherNames: [] };
    default:
      return off(
        'on Linux, Coffer is updated by your package manager from the organization’s signed repository',
      );
  }
}

function off(reason: string): UpdateDecision {
  return { enabled: false, reason };
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function isHttps(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Reads `publisherName` from app-update.yml as electron-builder writes it: a scalar or a block list.
 * A full YAML parser is not needed for the one shape electron-builder serializes.
 */
export function publisherNamesFromAppUpdateYml(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const index = lines.findIndex((line) => /^publisherName:/.test(line));
  if (index < 0) return [];
  const inline = (lines[index] ?? '').slice('publisherName:'.length).trim();
  if (inline !== '') return [unquote(inline)].filter((name) => name !== '');
  const names: string[] = [];
  for (const line of lines.slice(index + 1)) {
    const item = /^\s+-\s+(.+)$/.exec(line);
    if (item === null) break;
    names.push(unquote(item[1] ?? ''));
  }
  return names.filter((name) => name !== '');
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) {
    return v.slice(1, -1).replace(/''/g, "'");
  }
  return v;
}

/** How often an enabled updater checks: at start, then every few hours (and when the user asks). */
export const UPDATE_CHECK_INTERVAL_MS = 4 * 60 * 60 * 1000;
