/**
 * The protected-folder registry, a small JSON file in app data written atomically. One entry per protected
 * tree: adding a folder inside a protected one adds nothing (it is already covered), and adding a parent of
 * protected folders replaces them by the parent, so no file is ever walked twice.
 */
import { realpathSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, relative, isAbsolute, sep } from 'node:path';
import { z } from 'zod';
import { CofferError } from '../../../crypto/errors.js';
import { toCofferError } from '../fs-errors.js';
import { stateStorage, type StateAuth, type StateStorage } from '../state/state-file.js';
import { DEFAULT_IGNORE } from './litter.js';

const lastRunSchema = z.object({
  op: z.enum(['protect', 'unprotect']),
  at: z.number(),
  outcome: z.enum(['ok', 'partial', 'failed', 'cancelled']),
  filesDone: z.number(),
  failed: z.number(),
  waiting: z.number(),
});

const folderSchema = z.object({
  id: z.string(),
  path: z.string(),
  addedAt: z.number(),
  /** `unprotecting` while an unprotect runs: leftovers are then resolved towards the plaintext. */
  state: z.enum(['protected', 'unprotecting']),
  lastRun: lastRunSchema.nullable(),
  /** The user's exclusions in this folder (globs, folders/guard-rails.ts), kept in the clear. */
  exclude: z.array(z.string()).optional(),
});

const registrySchema = z.object({
  version: z.literal(1),
  folders: z.array(folderSchema),
  /** Litter patterns (base names with `*`), replacing the defaults when set. */
  ignore: z.array(z.string()).optional(),
});

export type FolderEntry = z.infer<typeof folderSchema>;
export type LastRun = z.infer<typeof lastRunSchema>;
type RegistryFile = z.infer<typeof registrySchema>;

export interface AddResult {
  readonly entry: FolderEntry;
  /** False when the folder was already covered by `entry` (itself or a protected parent). */
  readonly added: boolean;
  /** Protected folders inside the new one, whose entries it replaced. */
  readonly absorbed: readonly string[];
}

/** `child` is `parent` or inside it. */
export function isWithin(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

export function canonicalFolder(path: string): string {
  try {
    return realpathSync(path);
  } catch (error) {
    throw toCofferError(error, path);
  }
}

export class FolderRegistry {
  private readonly storage: StateStorage;

  /**
   * `auth` signs the file (the app and the CLI pass it): the registry and its ignore list decide what gets
   * protected, so a hand-edited `"ignore": ["*"]` must be refused (STATE_TAMPERED), not obeyed.
   */
  constructor(
    private readonly file: string,
    auth?: StateAuth,
  ) {
    this.storage = stateStorage(file, 'folders', auth);
  }

  static inHome(home: string, auth?: StateAuth): FolderRegistry {
    return new FolderRegistry(join(home, 'folders.json'), auth);
  }

  list(): FolderEntry[] {
    return this.read().folders;
  }

  ignorePatterns(): readonly string[] {
    return this.read().ignore ?? DEFAULT_IGNORE;
  }

  /** The entry whose tree holds `path` (a folder or a file), if any. */
  covering(path: string): FolderEntry | undefined {
    return this.list().find((f) => isWithin(path, f.path));
  }

  add(folder: string, now = Date.now()): AddResult {
    const path = canonicalFolder(folder);
    let result: AddResult | undefined;
    this.modify((data) => {
      const covering = data.folders.find((f) => isWithin(path, f.path));
      if (covering) {
        result = { entry: covering, added: false, absorbed: [] };
        return null;
      }
      const absorbed = data.folders.filter((f) => isWithin(f.path, path));
      // The subfolders a user unprotected inside an absorbed folder stay out: they are exclusions of exact
      // paths, as meaningful in the parent. (Glob exclusions are relative to their folder and would widen.)
      const kept = absorbed.flatMap((f) => (f.exclude ?? []).filter((x) => isAbsolute(x)));
      const entry: FolderEntry = {
        id: randomBytes(8).toString('hex'),
        path,
        addedAt: now,
        state: 'protected',
        lastRun: null,
        ...(kept.length > 0 && { exclude: [...new Set(kept)] }),
      };
      result = { entry, added: true, absorbed: absorbed.map((f) => f.path) };
      return { ...data, folders: [...data.folders.filter((f) => !absorbed.includes(f)), entry] };
    });
    if (!result) throw new Error('registry update did not run');
    return result;
  }

  remove(id: string): void {
    this.modify((data) => ({ ...data, folders: data.folders.filter((f) => f.id !== id) }));
  }

  update(id: string, change: (entry: FolderEntry) => FolderEntry): FolderEntry {
    let next: FolderEntry | undefined;
    this.modify((data) => {
      const current = data.folders.find((f) => f.id === id);
      if (!current)
        throw new CofferError(
          'FOLDER_NOT_FOUND',
          `no protected folder with id ${id}`,
          'List folders with `coffer status`.',
        );
      const changed = change(current);
      next = changed;
      return { ...data, folders: data.folders.map((f) => (f.id === id ? changed : f)) };
    });
    if (!next) throw new Error('registry update did not run');
    return next;
  }

  private read(): RegistryFile {
    let text: string | null;
    try {
      text = this.storage.read();
    } catch (error) {
      if (error instanceof CofferError) throw error;
      throw toCofferError(error, this.file);
    }
    return this.parse(text);
  }

  /**
   * Read, change and write under the file's lock (state/file-lock.ts), so a folder added by the app and a
   * lastRun recorded by a CLI run at the same moment are both kept. `change` returns null to write nothing.
   */
  private modify(change: (data: RegistryFile) => RegistryFile | null): void {
    try {
      this.storage.update((text) => {
        const next = change(this.parse(text));
        return next === null ? null : JSON.stringify(next, null, 2) + '\n';
      });
    } catch (error) {
      if (error instanceof CofferError) throw error;
      throw toCofferError(error, this.file);
    }
  }

  private parse(text: string | null): RegistryFile {
    if (text === null) return { version: 1, folders: [] };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const result = registrySchema.safeParse(parsed);
    if (!result.success) {
      throw new CofferError(
        'REGISTRY_CORRUPT',
        `${this.file}: the list of protected folders is damaged`,
        'Your files are untouched. Move this file away, run `coffer state confirm`, and add your folders again with `coffer protect`.',
      );
    }
    return result.data;
  }
}
