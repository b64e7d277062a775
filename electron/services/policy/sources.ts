/**
 * Where the machine-wide policy comes from. One small interface, one implementation per OS store, picked by
 * `policySourceFor` from an injected platform (so every implementation is tested on any OS):
 *
 *   Linux, and COFFER_POLICY_FILE anywhere: a JSON file (FilePolicySource)
 *   Windows: HKLM\Software\Policies\Coffer (RegistryPolicySource, windows-registry.ts)
 *   macOS:   managed preferences for the bundle id (ManagedPreferencesSource, macos-managed.ts)
 */
import fs from 'node:fs';
import path from 'node:path';

export type PolicyRead =
  /** No policy configured: Coffer's defaults and the user's settings apply. */
  | { kind: 'absent'; origin: string }
  | { kind: 'present'; origin: string; values: unknown }
  /** A policy exists but cannot be read or trusted: the service treats it as invalid, never as absent. */
  | { kind: 'unreadable'; origin: string; reason: string };

export interface PolicySource {
  /** Where the policy is read from, as shown to people ("/etc/coffer/policy.json"). */
  readonly origin: string;
  read(): Promise<PolicyRead>;
  /**
   * Optional change notification; the service re-reads (debounced) when it fires, and polls as well, because
   * notifications can be missed (editors that replace files, network home folders, registry writes).
   * Returns a function that stops watching.
   */
  watch?(onMaybeChanged: () => void): () => void;
}

export const LINUX_POLICY_FILE = '/etc/coffer/policy.json';
const MAX_POLICY_BYTES = 256 * 1024;

export interface FilePolicySourceOptions {
  /**
   * The machine file must be owned by root and writable by no one else, or a user could weaken their own
   * policy. Off for COFFER_POLICY_FILE (tests, pilots), which says so in its origin.
   */
  requireAdminOwned: boolean;
}

export class FilePolicySource implements PolicySource {
  constructor(
    readonly file: string,
    private readonly options: FilePolicySourceOptions,
  ) {}

  get origin(): string {
    return this.file;
  }

  read(): Promise<PolicyRead> {
    const origin = this.origin;
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR'))
        return Promise.resolve({ kind: 'absent', origin });
      return Promise.resolve({ kind: 'unreadable', origin, reason: describeError(error) });
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile())
        return Promise.resolve({ kind: 'unreadable', origin, reason: 'not a regular file' });
      if (stat.size > MAX_POLICY_BYTES) {
        return Promise.resolve({
          kind: 'unreadable',
          origin,
          reason: `larger than ${MAX_POLICY_BYTES} bytes`,
        });
      }
      if (this.options.requireAdminOwned && process.platform !== 'win32') {
        if (stat.uid !== 0) {
          return Promise.resolve({
            kind: 'unreadable',
            origin,
            reason: 'not owned by root (chown root:root it)',
          });
        }
        if ((stat.mode & 0o022) !== 0) {
          return Promise.resolve({
            kind: 'unreadable',
            origin,
            reason: 'writable by non-root users (chmod 644 it)',
          });
        }
      }
      const text = fs.readFileSync(fd, 'utf8');
      try {
        return Promise.resolve({ kind: 'present', origin, values: JSON.parse(text) as unknown });
      } catch (error) {
        return Promise.resolve({
          kind: 'unreadable',
          origin,
          reason: `not valid JSON: ${describeError(error)}`,
        });
      }
    } catch (error) {
      return Promise.resolve({ kind: 'unreadable', origin, reason: describeError(error) });
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Watches the folder, not the file: editors and config management replace the file by renaming. */
  watch(onMaybeChanged: () => void): () => void {
    const dir = path.dirname(this.file);
    const base = path.basename(this.file);
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(dir, { persistent: false }, (_event, name) => {
        if (name === null || name === base) onMaybeChanged();
      });
    } catch {
      return () => undefined; // the folder does not exist (yet): polling picks up a policy created later
    }
    watcher.on('error', () => {
      watcher.close();
    });
    return () => {
      watcher.close();
    };
  }
}

/** The result of running a command: what the OS readers need, injectable so tests replay recorded output. */
export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}
export type RunCommand = (command: string, args: readonly string[]) => Promise<CommandResult>;

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
