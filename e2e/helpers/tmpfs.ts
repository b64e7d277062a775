/**
 * Whether this process may mount a real tmpfs, for the tests of folders on a drive that goes away
 * (cli-honest-presence, cli-presence-review, app-cli-presence-review).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { tempDir } from '../cli-harness.js';

/** Why a tmpfs cannot be mounted here (the skip reason to print), or null when it can: tried once for real. */
export function cannotMountTmpfs(): string | null {
  if (process.getuid?.() !== 0) return 'not root: mounting a tmpfs needs root';
  const probe = fs.realpathSync(tempDir('mount-probe'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe]);
    return null;
  } catch (error) {
    return `mount -t tmpfs is not permitted here: ${(error as Error).message.split('\n')[0] ?? ''}`;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}
