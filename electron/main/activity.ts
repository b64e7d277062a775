/**
 * The activity log behind the Activity screen: recent operations and their outcomes, kept as JSON lines in
 * app data so they survive a restart. Entries name files and key IDs, never secrets.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ActivityEntry } from '../shared/contract.js';
import type { ActivityPort } from './ports.js';

const entrySchema = z.object({
  id: z.string(),
  at: z.number(),
  action: z.string(),
  target: z.string(),
  outcome: z.enum(['ok', 'error', 'cancelled']),
  detail: z.string().optional(),
});

const KEEP = 500;

export class ActivityLog implements ActivityPort {
  private entries: ActivityEntry[];

  constructor(
    private readonly file: string,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = ActivityLog.load(file);
  }

  private static load(file: string): ActivityEntry[] {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return [];
    }
    // A damaged line (a crash mid-append) is skipped, not fatal: the log is informative, not a ledger.
    return text
      .split('\n')
      .flatMap((line) => {
        try {
          const parsed = entrySchema.safeParse(JSON.parse(line));
          return parsed.success ? [parsed.data] : [];
        } catch {
          return [];
        }
      })
      .slice(-KEEP);
  }

  list(): ActivityEntry[] {
    return [...this.entries].reverse();
  }

  record(entry: Omit<ActivityEntry, 'id' | 'at'>): void {
    const full: ActivityEntry = { id: randomUUID(), at: this.now(), ...entry };
    this.entries.push(full);
    if (this.entries.length > KEEP * 2) {
      this.entries = this.entries.slice(-KEEP);
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(this.file, this.entries.map((e) => JSON.stringify(e)).join('\n') + '\n', {
        mode: 0o600,
      });
      return;
    }
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    fs.appendFileSync(this.file, JSON.stringify(full) + '\n', { mode: 0o600 });
  }
}
