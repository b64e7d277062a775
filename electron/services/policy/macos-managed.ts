/**
 * macOS: the policy is a managed-preferences payload for Coffer's bundle id, installed by an MDM profile
 * (template in build/policy/macos/). macOS writes it to /Library/Managed Preferences/, readable by all and
 * writable only by the system, per machine and, for user-channel profiles, per user. `plutil` converts the
 * plist to JSON; see docs/DEPLOYMENT.md for why this is not a native addon.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PolicyRead, PolicySource, RunCommand } from './sources.js';

export const MANAGED_PREFERENCES_DIR = '/Library/Managed Preferences';

export interface ManagedPreferencesOptions {
  readonly bundleId: string;
  readonly userName: string;
  readonly run: RunCommand;
  readonly fileExists?: (file: string) => boolean;
  readonly root?: string;
}

export class ManagedPreferencesSource implements PolicySource {
  private readonly machineFile: string;
  private readonly userFile: string;

  constructor(private readonly options: ManagedPreferencesOptions) {
    const root = options.root ?? MANAGED_PREFERENCES_DIR;
    this.machineFile = path.posix.join(root, `${options.bundleId}.plist`);
    this.userFile = path.posix.join(root, options.userName, `${options.bundleId}.plist`);
  }

  get origin(): string {
    return `managed preferences for ${this.options.bundleId}`;
  }

  async read(): Promise<PolicyRead> {
    const exists = this.options.fileExists ?? fs.existsSync;
    // A machine-channel profile wins over a user-channel one, as a machine policy should.
    const file = [this.machineFile, this.userFile].find((candidate) => exists(candidate));
    if (file === undefined) return { kind: 'absent', origin: this.origin };
    const result = await this.options.run('/usr/bin/plutil', ['-convert', 'json', '-o', '-', file]);
    if (result.exitCode !== 0) {
      return {
        kind: 'unreadable',
        origin: file,
        reason: `plutil: ${result.stderr.trim() || result.stdout.trim()}`,
      };
    }
    try {
      const values = JSON.parse(result.stdout) as unknown;
      return { kind: 'present', origin: file, values: withoutProfileKeys(values) };
    } catch (error) {
      return { kind: 'unreadable', origin: file, reason: `plutil printed no JSON: ${String(error)}` };
    }
  }
}

/** MDM adds bookkeeping keys (PayloadUUID, ...) to managed preferences; they are not Coffer settings. */
function withoutProfileKeys(values: unknown): unknown {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) return values;
  return Object.fromEntries(Object.entries(values).filter(([key]) => !key.startsWith('Payload')));
}
