/** Picks the policy source for an OS, the way the composition root and the CLI both need it. */
import { ManagedPreferencesSource } from './macos-managed.js';
import { FilePolicySource, LINUX_POLICY_FILE, type PolicySource, type RunCommand } from './sources.js';
import { RegistryPolicySource } from './windows-registry.js';

/** Must match `appId` in electron-builder.ts: macOS files managed preferences under the bundle id. */
export const COFFER_BUNDLE_ID = 'com.coffer.desktop';

export interface PolicyPlatform {
  readonly platform: NodeJS.Platform;
  readonly env: NodeJS.ProcessEnv;
  readonly userName: string;
  readonly run: RunCommand;
  /**
   * Honour COFFER_POLICY_FILE. Only for development and test runs (the composition root passes
   * `!app.isPackaged`): in a shipped build a user could otherwise start Coffer with an empty policy file.
   */
  readonly allowEnvOverride: boolean;
}

export function policySourceFor({
  platform,
  env,
  userName,
  run,
  allowEnvOverride,
}: PolicyPlatform): PolicySource {
  const override = env.COFFER_POLICY_FILE;
  if (allowEnvOverride && override !== undefined && override !== '') {
    return new FilePolicySource(override, { requireAdminOwned: false });
  }
  switch (platform) {
    case 'win32':
      return new RegistryPolicySource(run, env);
    case 'darwin':
      return new ManagedPreferencesSource({ bundleId: COFFER_BUNDLE_ID, userName, run });
    default:
      return new FilePolicySource(LINUX_POLICY_FILE, { requireAdminOwned: true });
  }
}

/**
 * True when code runs from an installed build (inside app.asar), for callers without Electron's
 * `app.isPackaged`, such as the CLI run through the app binary: `isPackagedRun(import.meta.url)`.
 */
export function isPackagedRun(moduleUrl: string): boolean {
  return /[\\/]app\.asar[\\/]/.test(decodeURIComponent(moduleUrl));
}
