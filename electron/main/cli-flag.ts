/** The argument that makes the app binary run the `coffer` command (build/cli/coffer and coffer.cmd pass it). */
export const CLI_FLAG = '--coffer-cli';

/** The CLI's argv as cli/main.ts expects it (node-style: two leading entries), from the app binary's argv. */
export function cliArgv(argv: readonly string[]): string[] {
  const at = argv.indexOf(CLI_FLAG);
  return at < 0 ? [] : ['coffer', 'coffer', ...argv.slice(at + 1)];
}
