/**
 * The app's own preferences (today: the auto-lock delay), in app data beside the settings the key services
 * keep. Validated on read; a damaged file falls back to the defaults rather than stopping the app, since
 * nothing in it protects data (the policy, not this file, is what IT relies on).
 */
import fs from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../services/settings.js';

const schema = z.object({
  autoLockMinutes: z.number().int().min(1).max(1440).nullable(),
});

export type Preferences = z.infer<typeof schema>;

/** Open files are closed after this much idle time unless the user or the policy chose otherwise. */
export const DEFAULT_PREFERENCES: Preferences = { autoLockMinutes: 30 };

export class PreferencesFile {
  constructor(private readonly file: string) {}

  read(): Preferences {
    try {
      const parsed = schema.safeParse(JSON.parse(fs.readFileSync(this.file, 'utf8')));
      return parsed.success ? parsed.data : { ...DEFAULT_PREFERENCES };
    } catch {
      return { ...DEFAULT_PREFERENCES };
    }
  }

  update(change: Partial<Preferences>): Preferences {
    const next = schema.parse({ ...this.read(), ...change });
    writeFileAtomic(this.file, JSON.stringify(next, null, 2) + '\n');
    return next;
  }
}
