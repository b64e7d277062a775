/**
 * The user's settings file in app data: a small JSON document, validated on read and written atomically
 * (temp file, fsync, rename, fsync of the folder) so a crash never leaves half a file. In the app and the
 * CLI it is a signed state file (state/envelope.ts): it decides who can open future files.
 */
import { z } from 'zod';
import { CofferError } from '../../crypto/errors.js';
import { stateStorage, type StateAuth, type StateStorage } from './state/state-file.js';

const trustedRecoveryKeySchema = z.object({
  /** The FORMAT.md §11.2 text line. */
  publicKey: z.string(),
  /**
   * Written by v1 only. Never trusted: the key ID shown and compared is always recomputed from `publicKey`
   * (TrustedRecoveryKeys.list), so an edited public key cannot hide behind its old ID.
   */
  keyId: z.string().optional(),
  addedAt: z.string(),
  label: z.string().optional(),
});

const trustLogEntrySchema = z.object({
  at: z.string(),
  /** `confirm`: the set was re-confirmed after tampering (`coffer state confirm`). */
  action: z.enum(['trust', 'untrust', 'confirm']),
  /** Recomputed from the public key when the entry was made. */
  keyId: z.string(),
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
  /**
   * IDs of read-only device keys (a restored or rotated-out key, keychain account `device-key-ro-<ID>`):
   * they open files, never write them (DeviceKeyService). Only an index: IDs are recomputed from the keys.
   */
  readOnlyDeviceKeyIds: z.array(z.string()).default([]),
  /** Every change of the trusted recovery keys, newest last (TrustedRecoveryKeys keeps it bounded). */
  trustLog: z.array(trustLogEntrySchema).default([]),
});

export type Settings = z.infer<typeof settingsSchema>;
export type StoredRecoveryKey = z.infer<typeof trustedRecoveryKeySchema>;
export type TrustLogEntry = z.infer<typeof trustLogEntrySchema>;

export function defaultSettings(): Settings {
  return {
    version: 1,
    trustedRecoveryKeys: [],
    usedRecoveryCodeIds: [],
    trustLog: [],
    readOnlyDeviceKeyIds: [],
  };
}

export interface SettingsStore {
  read(): Settings;
  /** Reads, applies `change`, writes atomically, and returns the new settings. */
  update(change: (settings: Settings) => Settings): Settings;
}

// Kept here for the many callers that import it from settings.
export { writeFileAtomic, fsyncDir } from './state/atomic-write.js';

export class JsonSettingsStore implements SettingsStore {
  private readonly storage: StateStorage;

  /** `auth` signs the file (the app and the CLI pass it); without it the file is plain JSON (unit tests). */
  constructor(
    private readonly file: string,
    auth?: StateAuth,
  ) {
    this.storage = stateStorage(file, 'settings', auth);
  }

  read(): Settings {
    return this.parse(this.storage.read());
  }

  update(change: (settings: Settings) => Settings): Settings {
    // Read, change and write under one lock: another process's update in between is never lost.
    let next: Settings | undefined;
    this.storage.update((text) => {
      next = settingsSchema.parse(change(this.parse(text)));
      return JSON.stringify(next, null, 2) + '\n';
    });
    if (next === undefined) throw new Error('settings update wrote nothing');
    return next;
  }

  private parse(text: string | null): Settings {
    if (text === null) return defaultSettings();
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

  private corrupt(cause: unknown): CofferError {
    return new CofferError(
      'SETTINGS_CORRUPT',
      `The settings file ${this.file} cannot be read`,
      'Restore it from a backup, or move it away and run `coffer state confirm` to start with default settings (the device key stays in the keychain).',
      { cause },
    );
  }
}
