/**
 * The environment Coffer passes to the processes it starts (the keychain helper, OS tools such as reg.exe
 * and plutil): the parent's, minus secrets no child needs. The CLI also takes COFFER_PASSPHRASE out of its
 * own environment at start (cli/passphrase.ts takeEnvPassphrase), which covers worker threads; this is the
 * second line for every spawn site, in the app as in the CLI.
 */
export const SECRET_ENV_NAMES: readonly string[] = ['COFFER_PASSPHRASE'];

export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy = { ...env };
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing named secrets is the point
  for (const name of SECRET_ENV_NAMES) delete copy[name];
  return copy;
}

/**
 * Deletes the secrets from `env` itself (the process's own environment): for a process that reads none of
 * them, such as the app, so nothing it starts later (an editor, a worker) can inherit one.
 */
export function removeSecrets(env: NodeJS.ProcessEnv = process.env): void {
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing named secrets is the point
  for (const name of SECRET_ENV_NAMES) delete env[name];
}
