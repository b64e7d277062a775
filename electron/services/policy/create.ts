/**
 * One call that builds the PolicyService the way the app and the CLI both need it: the platform's source,
 * recovery keys in the FORMAT.md §11.2 text, key IDs in messages, OS path rules.
 *
 *   App (composition root): `const policy = createPolicyService({ sodium, allowEnvOverride: !app.isPackaged, log }); await policy.start();`
 *   CLI (one-shot, no timers): `const policy = createPolicyService({ sodium, allowEnvOverride: !isPackagedRun(import.meta.url) }); await policy.reload();`
 */
import os from 'node:os';
import { formatKeyId, recoveryKeyId } from '../../../crypto/keys.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import { policySourceFor } from './platform.js';
import { PolicyService, type PolicyLog } from './policy-service.js';
import { runCommand } from './run-command.js';
import { recoveryPublicKeyParser } from './schema.js';
import type { PolicySource, RunCommand } from './sources.js';

export interface CreatePolicyServiceOptions {
  readonly sodium: SodiumBackend;
  /** Honour COFFER_POLICY_FILE: development and test runs only. */
  readonly allowEnvOverride: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly platform?: NodeJS.Platform;
  readonly homeDir?: string;
  readonly userName?: string;
  readonly run?: RunCommand;
  /** Replaces the platform's source (tests). */
  readonly source?: PolicySource;
  readonly log?: PolicyLog;
  readonly pollMs?: number;
}

export function createPolicyService(options: CreatePolicyServiceOptions): PolicyService {
  const platform = options.platform ?? process.platform;
  const { sodium } = options;
  return new PolicyService({
    source:
      options.source ??
      policySourceFor({
        platform,
        env: options.env ?? process.env,
        userName: options.userName ?? os.userInfo().username,
        run: options.run ?? runCommand,
        allowEnvOverride: options.allowEnvOverride,
      }),
    parseRecoveryPublicKey: recoveryPublicKeyParser(sodium),
    describeRecoveryKey: (publicKey) => formatKeyId(recoveryKeyId(sodium, publicKey)),
    homeDir: options.homeDir ?? os.homedir(),
    caseInsensitivePaths: platform === 'win32' || platform === 'darwin',
    ...(options.log !== undefined && { log: options.log }),
    ...(options.pollMs !== undefined && { pollMs: options.pollMs }),
  });
}
