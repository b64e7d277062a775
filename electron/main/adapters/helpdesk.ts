/**
 * HelpdeskPort: an organization recovery key loaded for one session (its secret zeroed on unload), files
 * inspected by their header's key IDs, and restores as tracked runs — decrypt to a folder, or rekey to
 * this device in place (headers only, FORMAT.md §8) through RekeyService, the same one `coffer rekey` uses.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CofferError } from '../../../crypto/errors.js';
import { inspectFd } from '../../../crypto/file.js';
import { formatKeyId, recoveryKeyId, type Identity } from '../../../crypto/keys.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import type { DeviceKeyService } from '../../services/keys/device-key.js';
import { readRecoveryKeyFile } from '../../services/keys/recovery-key-file.js';
import type { RekeyService } from '../../services/keys/rekey.js';
import { PROTECTED_SUFFIX, type SafeFiles } from '../../services/safe-file.js';
import type { FileInspection, Progress } from '../../shared/contract.js';
import { toErrorInfo } from '../handle.js';
import { plainMessage } from '../../shared/plain-words.js';
import type { HelpdeskPort } from '../ports.js';
import type { RunTracker } from '../runs.js';

type RecoveryIdentity = Extract<Identity, { kind: 'recovery' }>;

const MAX_FILES = 100_000;

/** Every `.coffer` file under the given paths (files or folders), not following symlinks. */
export function findProtectedFiles(paths: string[]): string[] {
  const found: string[] = [];
  const walk = (p: string) => {
    if (found.length >= MAX_FILES) return;
    const stat = fs.lstatSync(p);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name));
    } else if (stat.isFile() && p.endsWith(PROTECTED_SUFFIX)) {
      found.push(p);
    }
  };
  for (const p of paths) walk(p);
  return found;
}

export class HelpdeskAdapter implements HelpdeskPort {
  private identity: RecoveryIdentity | null = null;
  private keyId: string | null = null;

  constructor(
    private readonly deps: {
      sodium: SodiumBackend;
      safeFiles: SafeFiles;
      deviceKeys: DeviceKeyService;
      runs: RunTracker;
      /** The one rekey (shared with `coffer rekey`): device + the opening key + the current set. */
      rekey: RekeyService;
    },
  ) {}

  async loadKey(keyFile: string, passphrase: string): Promise<{ keyId: string }> {
    const identity = await readRecoveryKeyFile(keyFile, passphrase);
    this.unloadKey();
    this.identity = identity;
    this.keyId = formatKeyId(recoveryKeyId(this.deps.sodium, identity.publicKey));
    return { keyId: this.keyId };
  }

  loadedKeyId(): string | null {
    return this.keyId;
  }

  /** For a device restore in main (adapters/device-restore.ts copies it); never crosses to the renderer. */
  loadedIdentity(): RecoveryIdentity | null {
    return this.identity;
  }

  unloadKey(): void {
    if (this.identity) this.deps.sodium.zero(this.identity.secretKey);
    this.identity = null;
    this.keyId = null;
  }

  async inspect(paths: string[]): Promise<FileInspection[]> {
    const deviceKeyId = await this.deps.deviceKeys.deviceKeyId().catch(() => null);
    return findProtectedFiles(paths).map((file) => {
      const base = { path: file, name: path.basename(file, PROTECTED_SUFFIX) };
      try {
        const fd = fs.openSync(file, 'r');
        try {
          const info = inspectFd(fd);
          const stanzas = info.stanzas.map((s) =>
            s.kind === 'device' && s.keyId === deviceKeyId
              ? { kind: s.kind, keyId: s.keyId, thisDevice: true }
              : { kind: s.kind, keyId: s.keyId },
          );
          return {
            ...base,
            stanzas,
            opensWithLoadedKey:
              this.keyId !== null && stanzas.some((s) => s.kind === 'recovery' && s.keyId === this.keyId),
            opensOnThisDevice:
              deviceKeyId !== null && stanzas.some((s) => s.kind === 'device' && s.keyId === deviceKeyId),
          };
        } finally {
          fs.closeSync(fd);
        }
      } catch (error) {
        // Shown in the helpdesk's list as it is: said in words ("stanza" is the format's term), code kept.
        const info = toErrorInfo(error);
        return {
          ...base,
          stanzas: [],
          opensWithLoadedKey: false,
          opensOnThisDevice: false,
          error: {
            ...info,
            message: plainMessage(info.message),
            ...(info.hint === undefined ? {} : { hint: plainMessage(info.hint) }),
          },
        };
      }
    });
  }

  restore(
    paths: string[],
    mode: 'decrypt' | 'rekey',
    destination: string | null,
  ): Promise<{ runId: string }> {
    const identity = this.identity;
    if (!identity) {
      return Promise.reject(
        new CofferError(
          'NO_RECOVERY_KEY_LOADED',
          'No organization recovery key is loaded.',
          'Load the key file with its passphrase first.',
        ),
      );
    }
    const { safeFiles, runs, rekey } = this.deps;
    const runId = runs.start(mode === 'decrypt' ? 'restore' : 'rekey', null, async (run) => {
      const sizes = new Map(paths.map((p) => [p, fs.statSync(p).size]));
      run.setTotals(
        paths.length,
        [...sizes.values()].reduce((a, b) => a + b, 0),
      );
      if (mode === 'rekey') {
        await rekey.rekey(paths, identity, {
          signal: run.signal,
          onResult: (result) => {
            run.addBytes(sizes.get(result.path) ?? 0);
            if ('error' in result) run.fileFailed(result.path, result.error);
            else run.fileDone();
          },
        });
        return;
      }
      for (const file of paths) {
        if (run.signal.aborted) return;
        await yieldToLoop();
        try {
          safeFiles.decryptTo(file, {
            identities: [identity],
            outDir: destination ?? path.dirname(file),
            signal: run.signal,
          });
          run.addBytes(sizes.get(file) ?? 0);
          run.fileDone();
        } catch (error) {
          run.addBytes(sizes.get(file) ?? 0);
          run.fileFailed(file, error);
        }
      }
    });
    return Promise.resolve({ runId });
  }

  onProgress(listener: (progress: Progress) => void): () => void {
    return this.deps.runs.onProgress(listener);
  }
}
