/**
 * The data audit's incremental cache, in app data: per file, its identity when read (size, mtime, ctime,
 * inode) and what the read found: counts per detector, or why no text could be taken from it. A file
 * whose identity is unchanged is not read again. Minimal data (issue 11): no matched value and no text is
 * ever stored, for protected files neither; only the counts a report shows anyway.
 *
 * It is an optimization, never a source of truth for anything else: a cache that cannot be read, was
 * written by another version or for other detectors (`fingerprint`) is ignored and rebuilt.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../state/atomic-write.js';
import type { ListedFile } from './scanner-walk.js';
import type { FindingCounts } from './types.js';

const CACHE_FORMAT = 'coffer-audit-cache-1';

/** What reading a file gave; only outcomes that depend on the content alone are cached. */
export type CachedOutcome =
  | { readonly kind: 'scanned'; readonly findings: FindingCounts; readonly modifiedMs: number }
  | { readonly kind: 'content'; readonly code: string; readonly reason: string };

const outcomeSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('scanned'),
    findings: z.record(z.string(), z.number().int().nonnegative()),
    modifiedMs: z.number(),
  }),
  z.object({ kind: z.literal('content'), code: z.string(), reason: z.string() }),
]);

const entrySchema = z.object({
  size: z.number(),
  mtimeMs: z.number(),
  ctimeMs: z.number(),
  ino: z.number(),
  dev: z.number(),
  outcome: outcomeSchema,
});
type Entry = z.infer<typeof entrySchema>;

const fileSchema = z.object({
  format: z.literal(CACHE_FORMAT),
  fingerprint: z.string(),
  entries: z.record(z.string(), entrySchema),
});

export class AuditCache {
  private entries = new Map<string, Entry>();
  private dirty = false;

  private constructor(
    private readonly file: string,
    /** The detectors and extractors in use: a change invalidates every entry. */
    private readonly fingerprint: string,
  ) {}

  /** Loads the cache at `file`; anything unreadable or for another fingerprint starts empty. */
  static load(file: string, fingerprint: string): AuditCache {
    const cache = new AuditCache(file, fingerprint);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return cache;
    }
    try {
      const parsed = fileSchema.safeParse(JSON.parse(text));
      if (parsed.success && parsed.data.fingerprint === fingerprint)
        cache.entries = new Map(Object.entries(parsed.data.entries));
      else cache.dirty = true;
    } catch {
      cache.dirty = true; // not JSON: rewritten at the next save
    }
    return cache;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached outcome when the file is exactly as it was read then. */
  lookup(file: ListedFile): CachedOutcome | undefined {
    const entry = this.entries.get(file.path);
    if (!entry) return undefined;
    // ctime too: a same-size rewrite that restores the mtime (touch -r, rsync -t) still moves the ctime.
    const same =
      entry.size === file.size &&
      entry.mtimeMs === file.mtimeMs &&
      entry.ctimeMs === file.ctimeMs &&
      entry.ino === file.ino &&
      entry.dev === file.dev;
    return same ? entry.outcome : undefined;
  }

  store(file: ListedFile, outcome: CachedOutcome): void {
    const { size, mtimeMs, ctimeMs, ino, dev } = file;
    this.entries.set(file.path, { size, mtimeMs, ctimeMs, ino, dev, outcome });
    this.dirty = true;
  }

  forget(path: string): void {
    if (this.entries.delete(path)) this.dirty = true;
  }

  /**
   * Drops the entries under `roots` that the last listing did not find (deleted or moved files), so the
   * cache does not keep names of files long gone.
   */
  prune(
    roots: readonly string[],
    listed: ReadonlySet<string>,
    within: (p: string, root: string) => boolean,
  ): void {
    for (const path of this.entries.keys()) {
      if (!listed.has(path) && roots.some((r) => within(path, r))) {
        this.entries.delete(path);
        this.dirty = true;
      }
    }
  }

  /** Writes the cache atomically (0600) when something changed. */
  save(): void {
    if (!this.dirty) return;
    const doc = {
      format: CACHE_FORMAT,
      fingerprint: this.fingerprint,
      entries: Object.fromEntries(this.entries),
    };
    writeFileAtomic(this.file, JSON.stringify(doc));
    this.dirty = false;
  }
}
