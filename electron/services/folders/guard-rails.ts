/**
 * Guard rails: what Coffer must never encrypt, because the machine (or Coffer itself) needs it in the
 * clear. One definition, used by FolderService (protect, register, watcher batches), the walk, the CLI
 * and for the policy's mandatory folders (DESIGN.md "Never protect what the machine needs in the clear").
 *
 * - A folder is refused (FOLDER_FORBIDDEN, nothing touched) when it is a file-system root, a home folder
 *   root (ours or another user's), inside a system folder, inside Coffer's app data or edit workspace,
 *   inside an OS keychain or keyring folder, inside a hidden (dot) folder, or when it CONTAINS any of
 *   those. Everything is compared by real path (symlinks resolved), case-insensitively where the OS is.
 * - Inside a protected folder, the walk skips (with a reason) those same paths, hidden entries, and what
 *   IT (policy `exclude`) or the user (per folder) excluded.
 *
 * Hidden entries: dot-folders (`.git`, `.ssh`, `.config`) and dot-files (`.bashrc`, `.env`, `.gitignore`)
 * are configuration that programs read in the clear; customer documents are not named that way. Both are
 * skipped, reported as HIDDEN. Files already protected (`.x.coffer`) are still decrypted by unprotect.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import nodePath from 'node:path';
import { CofferError } from '../../../crypto/errors.js';
import type { FileIssue } from './types.js';

/** Reasons a path inside a protected folder is left alone by rule (not by accident). */
export const GUARD_CODES = {
  /** The machine or Coffer needs it in the clear (system, keyring, app data, workspace). */
  forbidden: 'FORBIDDEN_PATH',
  /** A dot-folder or dot-file: configuration, skipped by default. */
  hidden: 'HIDDEN',
  /** Matched an exclusion rule of the policy (IT) or of the folder (the user). */
  excluded: 'EXCLUDED',
} as const;

/** Codes that mean "left out by rule": listed as excluded, never claimed protected. */
export const EXCLUDED_BY_RULE: ReadonlySet<string> = new Set(Object.values(GUARD_CODES));

export interface GuardRailsOptions {
  readonly platform: NodeJS.Platform;
  /** The user's home folder (os.homedir()). */
  readonly homedir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Coffer's app data folder (AppPaths.home). */
  readonly appHome: string;
  /** The edit workspace (default `<appHome>/workspace`). */
  readonly workspace?: string;
  /** The folder temp files go to (os.tmpdir()): allowed even where it lies in a system folder (macOS /var). */
  readonly tmpdir?: string;
}

interface Rule {
  /** Comparison key (real path, case-folded where the OS is case-insensitive). */
  readonly key: string;
  readonly path: string;
  readonly why: string;
}

/** The exclusion rules that apply to one protected folder. */
export interface Exclusions {
  /** Policy `exclude` globs (IT). */
  readonly policy?: readonly string[];
  /** The folder's own exclusions (the user's), stored in its registry entry. */
  readonly folder?: readonly string[];
}

export class GuardRails {
  private readonly p: nodePath.PlatformPath;
  private readonly fold: boolean;
  /** Trees never protected nor touched, nor contained by a protected folder. */
  private readonly trees: Rule[] = [];
  /** Folders that may not be protected themselves, nor contained (home roots, mount roots). */
  private readonly roots: Rule[] = [];
  /** Parents whose children are home folders (`/home/*`, `/Users/*`, `C:\Users\*`). */
  private readonly homeParents: Rule[] = [];
  private readonly tmpKeys: string[] = [];
  /** Every forbidden tree by key, for the walk's per-folder lookup. */
  private readonly treeKeys = new Map<string, Rule>();
  /**
   * Forbidden trees and roots by file identity (device and inode), for the spellings a path comparison
   * cannot see: a bind mount (or Windows junction target) of the home folder elsewhere is the home folder.
   */
  private readonly byId = new Map<string, Rule>();

  constructor(private readonly options: GuardRailsOptions) {
    this.p = options.platform === 'win32' ? nodePath.win32 : nodePath.posix;
    this.fold = options.platform === 'win32' || options.platform === 'darwin';
    const { homedir, env, appHome } = options;
    const j = (...parts: string[]): string => this.p.join(...parts);

    this.tree(appHome, 'Coffer’s own data (keys, settings, the list of protected folders)');
    this.tree(options.workspace ?? j(appHome, 'workspace'), 'Coffer’s edit workspace');
    for (const [dir, why] of keyringFolders(options.platform, homedir, env, j)) this.tree(dir, why);
    for (const dir of systemFolders(options.platform, env, j))
      this.tree(dir, 'a system folder the computer needs in the clear');

    this.root(homedir, 'your home folder (it holds the computer’s own secrets and settings)');
    if (options.platform === 'win32') {
      const users = j(env.SystemDrive ?? 'C:', '\\', 'Users');
      this.root(users, 'the folder of every user’s home');
      this.homeParents.push(this.rule(users, 'another user’s home folder'));
    } else {
      for (const parent of options.platform === 'darwin' ? ['/Users'] : ['/home']) {
        this.root(parent, 'the folder of every user’s home');
        this.homeParents.push(this.rule(parent, 'another user’s home folder'));
      }
      for (const home of ['/root', '/var/root'])
        this.root(home, 'a home folder (it holds the computer’s own secrets)');
      for (const mount of ['/mnt', '/media', '/Volumes', '/run/media'])
        this.root(mount, 'the folder every disk is mounted in');
    }
    // Inside a system folder, yet the user's to use: temp files (macOS keeps them in /var/folders),
    // removable disks (Linux mounts them in /run/media/USER).
    const open = [...(options.tmpdir === undefined ? [] : [options.tmpdir])];
    if (options.platform === 'linux') open.push('/run/media', '/var/tmp');
    for (const dir of open) this.tmpKeys.push(this.key(dir), this.key(realOrSelf(dir, this.p)));
  }

  /**
   * Throws FOLDER_FORBIDDEN when `folder` (a real path) must not be protected. Called before anything is
   * written or registered, so a refusal touches nothing.
   */
  assertCanProtect(folder: string): void {
    const why = this.forbiddenReason(folder);
    if (why !== null) {
      throw new CofferError(
        'FOLDER_FORBIDDEN',
        `${folder}: Coffer will not protect this folder: ${why}`,
        'Protect the folders that hold your documents (for example a Documents or Projects folder), not the whole computer or home folder.',
      );
    }
  }

  /** Why `folder` may not be protected, or null. */
  forbiddenReason(folder: string): string | null {
    const path = this.spelled(realOrSelf(this.p.resolve(folder), this.p));
    const why = this.reasonFor(path);
    if (why !== null) return why;
    // The same folder reached another way (a bind mount of home or of a folder above it): judged as there.
    const same = this.sameFolderAs(path);
    return same === null ? null : this.reasonFor(same);
  }

  /**
   * `path` with its deepest ancestor (or itself) that is a forbidden tree or root by identity replaced by
   * that rule's own path, or null when none is.
   */
  private sameFolderAs(path: string): string | null {
    for (let at = path; ; at = this.p.dirname(at)) {
      const rule = this.byId.get(this.idOf(at) ?? '');
      if (rule !== undefined) {
        const mapped = this.p.join(rule.path, this.p.relative(at, path));
        return this.key(mapped) === this.key(path) ? null : mapped;
      }
      if (this.p.dirname(at) === at) return null;
    }
  }

  /** @internal The forbidden tree or root that `path` is by identity (a bind mount of it), if any. */
  sameAsForbidden(path: string): Rule | undefined {
    if (this.byId.size === 0) return undefined;
    const rule = this.byId.get(this.idOf(path) ?? '');
    return rule !== undefined && this.key(rule.path) !== this.key(path) ? rule : undefined;
  }

  private idOf(path: string): string | null {
    if (this.p.sep !== nodePath.sep) return null; // another platform's paths (tests)
    try {
      const st = statSync(path);
      return st.ino === 0 ? null : `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  }

  private remember(path: string, rule: Rule): void {
    const id = this.idOf(path);
    if (id !== null && !this.byId.has(id)) this.byId.set(id, rule);
  }

  private reasonFor(path: string): string | null {
    const key = this.key(path);
    if (this.p.parse(path).root === path) return 'it is the root of a disk';
    const hidden = this.hiddenComponent(path);
    if (hidden !== null) return `it is inside the hidden folder ${hidden} (configuration, kept in the clear)`;
    for (let at = path; ; at = this.p.dirname(at)) {
      const store = secretStoreAt(at, this.p);
      if (store !== null) return at === path ? `it is ${store}` : `it is inside ${at}, ${store}`;
      if (this.p.dirname(at) === at) break;
    }
    for (const r of this.roots) {
      if (key === r.key) return `it is ${r.why}`;
      if (within(r.key, key, this.p)) return `it contains ${r.path}, ${r.why}`;
    }
    for (const parent of this.homeParents)
      if (this.p.dirname(key) === parent.key) return `it is ${parent.why}`;
    for (const t of this.trees) {
      if (within(key, t.key, this.p) && !this.inTmp(key))
        return key === t.key ? `it is ${t.why}` : `it is inside ${t.path}, ${t.why}`;
      if (within(t.key, key, this.p)) return `it contains ${t.path}, ${t.why}`;
    }
    return null;
  }

  /** The rules for walking inside `root` (a real path): what to skip, and why. */
  forTree(root: string, exclusions: Exclusions = {}): TreeGuard {
    return new TreeGuard(this, root, exclusions, this.p);
  }

  /** @internal The forbidden tree at exactly `path` (already real: the walk never follows links). */
  treeAt(path: string): Rule | undefined {
    return this.treeKeys.get(this.key(path));
  }

  private hiddenComponent(path: string): string | null {
    const parts = path.slice(this.p.parse(path).root.length).split(this.p.sep);
    let at = this.p.parse(path).root;
    for (const part of parts) {
      at = this.p.join(at, part);
      if (part.startsWith('.') && part !== '.' && part !== '..') return at;
    }
    return null;
  }

  private inTmp(key: string): boolean {
    return this.tmpKeys.some((t) => within(key, t, this.p) && key !== t);
  }

  /** @internal The comparison key of `path`: as this OS compares names (case folded where it folds). */
  keyOf(path: string): string {
    return this.key(path);
  }

  /** On Windows, `path` as Windows opens it (windowsSpelling); elsewhere as it is. */
  private spelled(path: string): string {
    return this.options.platform === 'win32' ? windowsSpelling(path) : path;
  }

  private key(path: string): string {
    const resolved = this.spelled(this.p.resolve(path));
    const trimmed =
      resolved.length > this.p.parse(resolved).root.length ? resolved.replace(/[\\/]+$/, '') : resolved;
    // macOS file systems also ignore Unicode normalization: `José` typed as e + U+0301 is the same folder.
    const folded = this.fold ? trimmed.toLowerCase() : trimmed;
    return this.options.platform === 'darwin' ? folded.normalize('NFC') : folded;
  }

  private rule(path: string, why: string): Rule {
    return { key: this.key(path), path, why };
  }

  /** Both the path as named and its real path (macOS: /etc is /private/etc; a symlinked app data). */
  private tree(path: string, why: string): void {
    for (const form of new Set([path, realOrSelf(path, this.p)])) {
      const rule = this.rule(form, why);
      this.trees.push(rule);
      this.treeKeys.set(rule.key, rule);
    }
    this.remember(path, this.rule(path, why));
  }

  private root(path: string, why: string): void {
    for (const form of new Set([path, realOrSelf(path, this.p)])) this.roots.push(this.rule(form, why));
    this.remember(path, this.rule(path, why));
  }
}

/** What the walk and the watcher skip inside one protected folder. */
export class TreeGuard {
  /** By what each glob is matched against: the name, the path from the root, or the absolute path. */
  private readonly globs: Record<GlobTarget, Glob[]> = { name: [], rel: [], abs: [] };
  private readonly anyGlob: boolean;
  /** The folder's exclusions that are paths, by comparison key. */
  private readonly exact = new Map<string, Glob>();

  constructor(
    private readonly rails: GuardRails,
    private readonly root: string,
    exclusions: Exclusions,
    private readonly p: nodePath.PlatformPath,
  ) {
    // Case-insensitive on every OS, as litter rules are: `*.pst` is meant to catch `Archive.PST` too.
    const all = [
      ...(exclusions.policy ?? []).map((pattern) => ({ pattern, source: 'policy' as const })),
      ...(exclusions.folder ?? []).map((pattern) => ({ pattern, source: 'folder' as const })),
    ];
    for (const g of all) {
      // A folder's absolute exclusions are the real paths of subfolders unprotected (FolderService.unprotect):
      // paths, not globs. As globs, `draft*` or `Q?` took `drafts-final` and `QA` out of protection too, and
      // `Private` took `private`, a different folder where names are case-sensitive.
      if (g.source === 'folder' && p.isAbsolute(g.pattern)) {
        this.exact.set(rails.keyOf(g.pattern), { ...g, test: () => true });
        continue;
      }
      this.globs[globTarget(g.pattern)].push({ ...g, test: globMatcher(g.pattern) });
    }
    this.anyGlob = all.length > 0;
  }

  /** Why the folder at `path` (below the root) is not walked into, or null. */
  dir(path: string): FileIssue | null {
    return this.check(path, true);
  }

  /** Why the plaintext file at `path` is not protected, or null. */
  file(path: string): FileIssue | null {
    return this.check(path, false);
  }

  /**
   * For a single path reported by the watcher: checks every folder between the root and it as well, since
   * the watcher hands over files without the walk's descent.
   */
  path(path: string): FileIssue | null {
    const rel = this.p.relative(this.root, path);
    if (rel === '' || rel.startsWith('..') || this.p.isAbsolute(rel)) return null;
    const parts = rel.split(this.p.sep);
    let at = this.root;
    for (let i = 0; i < parts.length; i++) {
      at = this.p.join(at, parts[i] ?? '');
      const issue = this.check(at, i < parts.length - 1);
      if (issue) return issue;
    }
    return null;
  }

  private check(path: string, isDir: boolean): FileIssue | null {
    const what = isDir ? 'folder' : 'file';
    const tree = isDir ? (this.rails.treeAt(path) ?? this.rails.sameAsForbidden(path)) : undefined;
    if (tree) {
      return {
        path,
        code: GUARD_CODES.forbidden,
        message: `${path}: ${tree.why}; never touched`,
        hint: 'Coffer leaves it in the clear on purpose: the computer or Coffer needs it.',
      };
    }
    const store = isDir ? secretStoreAt(path, this.p) : null;
    if (store !== null) {
      return {
        path,
        code: GUARD_CODES.forbidden,
        message: `${path}: ${store}; never touched`,
        hint: 'Coffer leaves it in the clear on purpose: the computer or Coffer needs it.',
      };
    }
    const name = this.p.basename(path);
    if (name.startsWith('.')) {
      return {
        path,
        code: GUARD_CODES.hidden,
        message: `${path}: a hidden ${what} (configuration), left in the clear`,
        hint: 'Hidden files and folders hold settings that programs read; keep documents in visible folders.',
      };
    }
    if (!this.anyGlob) return null;
    // Per file, so cheap: the walk's paths all start with the root; slashes only where the OS has others.
    const slashed = (p: string): string => (this.p.sep === '/' ? p : p.split(this.p.sep).join('/'));
    const rel = (): string =>
      slashed(
        path.startsWith(this.root + this.p.sep)
          ? path.slice(this.root.length + 1)
          : this.p.relative(this.root, path),
      );
    const g =
      (this.exact.size > 0 ? this.exact.get(this.rails.keyOf(path)) : undefined) ??
      firstMatch(this.globs.name, name.toLowerCase()) ??
      (this.globs.rel.length > 0 ? firstMatch(this.globs.rel, rel().toLowerCase()) : undefined) ??
      (this.globs.abs.length > 0 ? firstMatch(this.globs.abs, slashed(path).toLowerCase()) : undefined);
    if (!g) return null;
    return {
      path,
      code: GUARD_CODES.excluded,
      message: `${path}: excluded by ${g.source === 'policy' ? 'your organization’s policy' : 'this folder’s exclusions'} (${g.pattern})`,
      hint:
        g.source === 'policy'
          ? 'Your organization keeps these in the clear; ask IT if it should be protected.'
          : 'You excluded it; remove the exclusion to protect it.',
    };
  }
}

/**
 * Exclusion globs: `*` and `?` within one name, `**` across folders. A pattern without `/` matches a name
 * at any depth (`*.pst`, `node_modules`); one with `/` matches the path relative to the protected folder
 * (`build/**`), or the absolute path when it starts with `/` or a drive.
 */
export function globToRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  const glob = pattern.split('\\').join('/').replace(/\/+$/, '');
  let body = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      body += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') body += '[^/]*';
    else if (c === '?') body += '[^/]';
    else body += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${body}$`, caseInsensitive ? 'is' : 's');
}

/** Checks that the patterns are usable (policy parsing and user input). */
export function exclusionProblem(pattern: string): string | null {
  if (pattern.trim() === '') return 'must not be empty';
  if (pattern.length > 500) return 'must be at most 500 characters';
  return null;
}

type GlobTarget = 'name' | 'rel' | 'abs';
interface Glob {
  /** Takes the string lower-cased (matching ignores case). */
  readonly test: (lowered: string) => boolean;
  readonly source: 'policy' | 'folder';
  readonly pattern: string;
}

function firstMatch(globs: readonly Glob[], lowered: string): Glob | undefined {
  for (const g of globs) if (g.test(lowered)) return g;
  return undefined;
}

/**
 * A glob as a test of a lower-cased string. The common shapes (`*.pst`, `node_modules`, `build/**`) are
 * plain string comparisons: the walk asks this for every file of a tree.
 */
function globMatcher(pattern: string): (lowered: string) => boolean {
  const glob = pattern.split('\\').join('/').replace(/\/+$/, '').toLowerCase();
  const wild = /[*?]/;
  if (!wild.test(glob)) return (s) => s === glob;
  if (glob.startsWith('*') && !wild.test(glob.slice(1)) && !glob.includes('/')) {
    const suffix = glob.slice(1);
    return (s) => s.endsWith(suffix) && !s.includes('/');
  }
  if (glob.endsWith('/**') && !wild.test(glob.slice(0, -3))) {
    const prefix = glob.slice(0, -2);
    return (s) => s.startsWith(prefix);
  }
  return compileGlob(glob);
}

type GlobToken =
  | { readonly kind: 'char'; readonly c: string }
  /** `?`: one character but `/`. */
  | { readonly kind: 'one' }
  /** `*`: any run without `/`. */
  | { readonly kind: 'star' }
  /** `**` not before `/`: any run. */
  | { readonly kind: 'any' }
  /** `**` + `/`: nothing, or any run ending in `/`. */
  | { readonly kind: 'dirs' };

/**
 * The glob of globToRegExp as a test in time linear in the name times the pattern: a set of pattern
 * positions advanced one character at a time (no backtracking). A backtracking regex of `*a*a*a*a*…b` takes
 * minutes on a 40-character name, and names come from whoever can put a file in a protected folder (a
 * download): the watcher's filter runs in the app's main process, so it would freeze the app.
 */
export function compileGlob(pattern: string): (s: string) => boolean {
  const glob = pattern.split('\\').join('/').replace(/\/+$/, '');
  const tokens: GlobToken[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      tokens.push({ kind: slash ? 'dirs' : 'any' });
      i += slash ? 2 : 1;
    } else if (c === '*') tokens.push({ kind: 'star' });
    else if (c === '?') tokens.push({ kind: 'one' });
    else tokens.push({ kind: 'char', c });
  }
  const end = tokens.length;
  /** Adds `at` and every position reachable from it without a character (the wildcards matching nothing). */
  const close = (set: Uint8Array, from: number): void => {
    for (let at = from; at <= end; at++) {
      set[at] = 1;
      const kind = tokens[at]?.kind;
      if (kind !== 'star' && kind !== 'any' && kind !== 'dirs') return;
    }
  };
  return (s) => {
    let now = new Uint8Array(end + 1);
    let next = new Uint8Array(end + 1);
    close(now, 0);
    for (const c of s) {
      next.fill(0);
      let any = false;
      for (let at = 0; at < end; at++) {
        if (now[at] !== 1) continue;
        const t = tokens[at];
        if (t === undefined) continue;
        if (t.kind === 'char' ? t.c === c : t.kind === 'one' && c !== '/') {
          close(next, at + 1);
          any = true;
        } else if (t.kind === 'dirs') {
          // Inside `**/`: it may end only just after a `/` (matching nothing was added by close()).
          next[at] = 1;
          if (c === '/') close(next, at + 1);
          any = true;
        } else if (t.kind === 'star' ? c !== '/' : t.kind === 'any') {
          close(next, at); // the wildcard takes this character and may take more, or end here
          any = true;
        }
      }
      if (!any) return false;
      [now, next] = [next, now];
    }
    return now[end] === 1;
  };
}

/** A pattern without `/` names an entry; one starting with `/` or a drive is absolute; else from the root. */
function globTarget(pattern: string): GlobTarget {
  const glob = pattern.split('\\').join('/').replace(/\/+$/, '');
  if (!glob.includes('/')) return 'name';
  return glob.startsWith('/') || /^[A-Za-z]:\//.test(glob) ? 'abs' : 'rel';
}

/**
 * A Windows path as Windows opens it, so that no other spelling of a forbidden folder gets past the
 * comparison: without the `\\?\` / `\\.\` prefixes (`\\?\UNC\server` is `\\server`), and each name without
 * the trailing dots and spaces Windows drops (`C:\Users\me.` is the home folder) nor a folder's
 * `::$INDEX_ALLOCATION` stream (which opens the folder itself).
 */
export function windowsSpelling(path: string): string {
  let p = path.split('/').join('\\');
  if (/^\\\\[?.]\\UNC\\/i.test(p)) p = '\\\\' + p.slice(8);
  else if (/^(?:\\\\[?.]|\\\?\?)\\/.test(p)) p = p.slice(4);
  return p
    .split('\\')
    .map((part, i) => {
      if (i === 0 || part === '.' || part === '..') return part;
      const seen = part.replace(/:.*$/su, '').replace(/[. ]+$/u, '');
      return seen === '' ? part : seen;
    })
    .join('\\');
}

function within(child: string, parent: string, p: nodePath.PlatformPath): boolean {
  const rel = p.relative(parent, child);
  return rel === '' || (!rel.startsWith('..' + p.sep) && rel !== '..' && !p.isAbsolute(rel));
}

/** The real path of `path`, or of its nearest existing parent joined with the rest (compare before creation). */
export function realOrSelf(path: string, p: nodePath.PlatformPath = nodePath): string {
  if (p.sep !== nodePath.sep) return path; // another platform's paths (tests): as written
  const rest: string[] = [];
  let at = p.resolve(path);
  for (;;) {
    try {
      return p.join(realpathSync(at), ...rest.reverse());
    } catch {
      const parent = p.dirname(at);
      if (parent === at) return path;
      rest.push(p.basename(at));
      at = parent;
    }
  }
}

/**
 * A keychain or keyring folder recognised by its shape, wherever it is: the process's environment does not
 * always say where the desktop keeps them (a CLI run from cron, ssh or sudo has no XDG_DATA_HOME, or
 * another one). GNOME `keyrings` with `*.keyring` files, KWallet's `kwalletd` with `*.kwl`, macOS
 * `Keychains` with `*.keychain(-db)`, and Windows' DPAPI and credential folders under a `Microsoft` folder.
 * A folder is read only when its name matches.
 */
export function secretStoreAt(path: string, p: nodePath.PlatformPath = nodePath): string | null {
  const name = p.basename(path).toLowerCase();
  const why = 'a keychain or keyring folder (it holds the keys that open your files)';
  const holds = (test: RegExp): boolean => {
    try {
      return readdirSync(path).some((n) => test.test(n));
    } catch {
      return false;
    }
  };
  switch (name) {
    case 'keyrings':
      return holds(/\.keyring$|^user\.keystore$/iu) ? why : null;
    case 'kwalletd':
    case 'kwalletd5':
    case 'kwalletd6':
      return holds(/\.kwl$/iu) ? why : null;
    case 'keychains':
      return holds(/\.keychain(-db)?$/iu) ? why : null;
    case 'credentials':
    case 'protect':
    case 'vault':
    case 'crypto':
    case 'systemcertificates':
      return p.basename(p.dirname(path)).toLowerCase() === 'microsoft' ? why : null;
    default:
      return null;
  }
}

type Join = (...parts: string[]) => string;

function keyringFolders(
  platform: NodeJS.Platform,
  home: string,
  env: Readonly<Record<string, string | undefined>>,
  j: Join,
): [string, string][] {
  const secrets = 'a keychain or keyring folder (it holds the keys that open your files)';
  if (platform === 'win32') {
    const roaming = env.APPDATA ?? j(home, 'AppData', 'Roaming');
    const local = env.LOCALAPPDATA ?? j(home, 'AppData', 'Local');
    return [
      [j(home, 'AppData'), 'application data the computer needs in the clear'],
      [j(roaming, 'Microsoft', 'Credentials'), secrets],
      [j(roaming, 'Microsoft', 'Protect'), secrets],
      [j(roaming, 'Microsoft', 'Crypto'), secrets],
      [j(roaming, 'Microsoft', 'SystemCertificates'), secrets],
      [j(local, 'Microsoft', 'Credentials'), secrets],
      [j(local, 'Microsoft', 'Vault'), secrets],
      [j(home, '.ssh'), 'SSH keys'],
    ];
  }
  const common: [string, string][] = [
    [j(home, '.ssh'), 'SSH keys'],
    [j(home, '.gnupg'), 'GnuPG keys'],
    [j(home, '.password-store'), secrets],
    [j(home, '.mozilla'), 'browser profiles (saved passwords)'],
  ];
  if (platform === 'darwin') {
    return [
      ...common,
      [j(home, 'Library'), 'your Library folder (keychains, app settings)'],
      [j(home, 'Library', 'Keychains'), secrets],
      ['/Library/Keychains', secrets],
    ];
  }
  const data = env.XDG_DATA_HOME || j(home, '.local', 'share');
  const config = env.XDG_CONFIG_HOME || j(home, '.config');
  return [
    ...common,
    [j(data, 'keyrings'), secrets],
    [j(home, '.local', 'share', 'keyrings'), secrets],
    [j(data, 'kwalletd'), secrets],
    [j(home, '.pki'), secrets],
    [j(config, 'google-chrome'), 'browser profiles (saved passwords)'],
    [j(config, 'chromium'), 'browser profiles (saved passwords)'],
  ];
}

function systemFolders(
  platform: NodeJS.Platform,
  env: Readonly<Record<string, string | undefined>>,
  j: Join,
): string[] {
  if (platform === 'win32') {
    const drive = env.SystemDrive ?? 'C:';
    return [
      env.SystemRoot ?? j(drive, '\\', 'Windows'),
      env.ProgramFiles ?? j(drive, '\\', 'Program Files'),
      env['ProgramFiles(x86)'] ?? j(drive, '\\', 'Program Files (x86)'),
      env.ProgramData ?? j(drive, '\\', 'ProgramData'),
    ];
  }
  const unix = [
    '/bin',
    '/sbin',
    '/usr',
    '/lib',
    '/lib32',
    '/lib64',
    '/etc',
    '/var',
    '/boot',
    '/dev',
    '/proc',
    '/sys',
    '/run',
    '/opt',
    '/snap',
  ];
  if (platform === 'darwin')
    return [...unix, '/System', '/Library', '/Applications', '/private', '/cores', '/Network'];
  return unix;
}

/** The guard rails of this process: its platform, home, environment and temp folder; `appHome` is AppPaths.home. */
export function guardRailsFor(
  appHome: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): GuardRails {
  return new GuardRails({ platform: process.platform, homedir: homedir(), env, appHome, tmpdir: tmpdir() });
}
