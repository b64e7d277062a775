/**
 * The user's settings file in app data: a small JSON document, validated on read and written atomically
 * (temp file, fsync, rename, fsync of the folder) so a crash never leaves half a file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CofferError } from '../../crypto/errors.js';

const trustedRecoveryKeySchema = z.object({
  /** The FORMAT.md §11.2 text line. */
  publicKey: z.string(),
  keyId: z.string(),
  addedAt: z.string(),
  label: z.string().optional(),
});

const settingsSchema = z.object({
  version: z.literal(1),
  /**
   * The ID of the device key this account created or restored. Its presence means files may exist under
   * that key, so a missing keychain entry is an error (NO_DEVICE_KEY), never a reason to make a new key.
   */
  deviceKeyId: z.string().optional(),
  trustedRecoveryKeys: z.array(trustedRecoveryKeySchema).default([]),
  /** Key IDs of personal recovery codes used on this machine; they are refused from then on (§11.4). */
  usedRecoveryCodeIds: z.array(z.string()).default([]),
});

export type Settings = z.infer<typeof settingsSchema>;
export type TrustedRecoveryKey = z.infer<typeof trustedRecoveryKeySchema>;

export function defaultSettings(): Settings {
  return { version: 1, trustedRecoveryKeys: [], usedRecoveryCodeIds: [] };
}

export interface SettingsStore {
  read(): Settings;
  /** Reads, applies `change`, writes atomically, and returns the new settings. */
  update(change: (settings: Settings) => Settings): Settings;
}

/** Writes `data` to `file` so that readers see either the old or the new content, even after a crash. */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = path.join(dir, `.${path.basename(file)}.tmp-${randomBytes(6).toString('hex')}`);
  const fd = fs.openSync(temp, 'wx', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  // Windows cannot open a directory for fsync; NTFS orders the rename's metadata itself.
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class JsonSettingsStore implements SettingsStore {
  constructor(private readonly file: string) {}

  read(): Settings {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return defaultSettings();
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw this.corrupt(error);
    }
    const result = settingsSchema.safeParse(parsed);
    if (!result.success) throw this.corrupt(result.error);
    return result.data;
  }

  update(change: (settings: Settings) => Settings): Settings {
    const next = settingsSchema.parse(change(this.read()));
    writeFileAtomic(this.file, JSON.stringify(next, null, 2) + '\n');
    return next;
  }

  private corrupt(cause: unknown): CofferError {
    return new CofferError(
      'SETTINGS_CORRUPT',
      `The settings file ${this.file} cannot be read`,
      'Restore it from a backup, or move it away to start with default settings (the device key stays in the keychain).',
      { cause },
    );
  }
}
