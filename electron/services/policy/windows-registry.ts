/**
 * Windows: the policy lives in HKLM\Software\Policies\Coffer, where Group Policy (the ADMX template in
 * build/policy/windows/) and Intune write it and only administrators can. Read with `reg query` rather than a
 * native addon: see docs/DEPLOYMENT.md "Why Coffer reads policies with reg.exe and plutil".
 */
import path from 'node:path';
import type { PolicyRead, PolicySource, RunCommand } from './sources.js';

export const WINDOWS_POLICY_KEY = 'HKLM\\Software\\Policies\\Coffer';

const DEFAULT_SYSTEM_ROOT = 'C:\\Windows';

/**
 * reg.exe by absolute path, `%SystemRoot%\System32\reg.exe`: a bare `reg.exe` is looked up in the current
 * folder and along PATH first, so a `reg.exe` dropped in the user's folder or a user-writable PATH entry
 * would answer with a policy of its own (issue 9 item 7). SystemRoot is used only when it is an absolute
 * drive path (a relative one would bring the current folder back); otherwise C:\Windows.
 */
export function regExePath(env: Readonly<Record<string, string | undefined>>): string {
  // A copied environment object loses Windows' case-insensitivity: accept the spellings found in practice.
  const root = env.SystemRoot ?? env.SYSTEMROOT ?? env.systemroot;
  const usable = root !== undefined && /^[A-Za-z]:[\\/]/.test(root) ? root : DEFAULT_SYSTEM_ROOT;
  return path.win32.join(usable, 'System32', 'reg.exe');
}

export type RegistryValue = string | number | string[];

/**
 * Parses `reg query <key>` output. Values are lines of `    <name>    <REG_TYPE>    <data>`; REG_DWORD and
 * REG_QWORD print as hex, REG_MULTI_SZ joins its strings with a literal `\0`. Subkeys are ignored.
 */
export function parseRegQuery(stdout: string): Record<string, RegistryValue> {
  const values: Record<string, RegistryValue> = {};
  for (const line of stdout.split(/\r?\n/)) {
    const match = /^ {4}(.+?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(line);
    if (match === null) continue;
    const [, name = '', type = '', data = ''] = match;
    switch (type) {
      case 'REG_DWORD':
      case 'REG_QWORD':
        values[name] = Number.parseInt(data, 16);
        break;
      case 'REG_MULTI_SZ':
        values[name] = data === '' ? [] : data.split('\\0').filter((item) => item !== '');
        break;
      case 'REG_SZ':
      case 'REG_EXPAND_SZ':
        values[name] = data;
        break;
      default:
        // REG_BINARY and friends: keep them visible so validation reports the key instead of dropping it.
        values[name] = `(unsupported registry type ${type})`;
    }
  }
  return values;
}

export class RegistryPolicySource implements PolicySource {
  readonly origin = WINDOWS_POLICY_KEY;

  private readonly regExe: string;

  constructor(
    private readonly run: RunCommand,
    env: Readonly<Record<string, string | undefined>>,
  ) {
    this.regExe = regExePath(env);
  }

  async read(): Promise<PolicyRead> {
    // /reg:64 reads the native view even from a 32-bit process; Software\Policies is shared anyway.
    const result = await this.run(this.regExe, ['query', WINDOWS_POLICY_KEY, '/reg:64']);
    if (result.exitCode === 0) {
      return { kind: 'present', origin: this.origin, values: parseRegQuery(result.stdout) };
    }
    // reg.exe exits 1 for a missing key; its message is localized, so only the exit code is relied on, and
    // a key that exists but cannot be read (access denied) also exits 1. Tell them apart by asking for the
    // parent key: if that query succeeds and lists no Coffer subkey, the policy is simply absent.
    if (result.exitCode === 1) {
      const parent = await this.run(this.regExe, ['query', 'HKLM\\Software\\Policies', '/reg:64']);
      const listed = parent.stdout
        .split(/\r?\n/)
        .some((l) => l.trim().toLowerCase() === WINDOWS_POLICY_KEY_LONG);
      if (parent.exitCode === 0 && !listed) return { kind: 'absent', origin: this.origin };
    }
    return {
      kind: 'unreadable',
      origin: this.origin,
      reason: `reg.exe exited with ${result.exitCode}: ${result.stderr.trim() || result.stdout.trim()}`,
    };
  }
}

const WINDOWS_POLICY_KEY_LONG = 'hkey_local_machine\\software\\policies\\coffer';
