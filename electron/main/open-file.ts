/**
 * `.coffer` files the operating system asks Coffer to open (issue 12 item 6: the file association in
 * electron-builder.ts). They arrive as command-line arguments on Windows and Linux (the first launch, and
 * `second-instance` when Coffer already runs: the app holds the single-instance lock) and as `open-file`
 * events on macOS, which can fire before `ready`. main.ts only forwards them here; this module picks the
 * files out of an argv, queues them until the window asks for them, and inspects one without writing
 * anything (no temporary file, no journal, no activity entry): the renderer gets a view and a token, never
 * a path it could send back.
 *
 * No Electron import, so all of it runs in plain Node tests (open-file.test.ts, e2e/app-open-file.e2e.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, open, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CofferError, cryptoError, isCofferError } from '../../crypto/errors.js';
import { inspectHeader } from '../../crypto/file.js';
import { PREFIX_BYTES, parsePrefix } from '../../crypto/header.js';
import { formatKeyId, keyIdOf, type Identity } from '../../crypto/keys.js';
import { plaintextLength } from '../../crypto/length.js';
import { METADATA_BYTES } from '../../crypto/metadata.js';
import { DecryptSession } from '../../crypto/session.js';
import { STREAM_ABYTES, type SodiumBackend } from '../../crypto/sodium.js';
import { toCofferError } from '../services/fs-errors.js';
import { READ_NOFOLLOW, sameFile } from '../services/safe-file/open.js';
import type { ErrorInfo, OpenedFileView } from '../shared/contract.js';
import { CLI_FLAG } from './cli-flag.js';
import { toErrorInfo } from './handle.js';

/** The suffix of a protected file (FORMAT.md §9), compared without case: Windows and macOS ignore it. */
const SUFFIX = '.coffer';
/** A double-click on 500 selected files must not queue 500 screens: the rest are dropped, and said so. */
export const MAX_QUEUED = 20;
/** Files the renderer may still refer to by token (the last ones shown). */
const MAX_KNOWN = 100;
const MAX_PATH = 4096;
/**
 * Largest file whose content is authenticated when it is shown: 0.15-0.2 s of CPU for 64 MiB on the 2-core
 * dev box, spread over one turn of main's event loop per chunk (the reads are asynchronous). A larger one
 * has its header and metadata authenticated and its content shown as "not checked here": opening it to
 * edit authenticates every byte anyway (FORMAT.md §5.3), on the way into the workspace.
 */
export const VERIFY_LIMIT = 64 * 1024 * 1024;

/**
 * The `.coffer` files named in an argv, as absolute paths. `skip` is how many leading entries are the
 * program itself: 1 for the packaged app, 2 for `electron <app path>` in development. Chromium and
 * Electron switches (`--flag`, `--flag=value`) are not files; after `--` everything is. A `file://` URL
 * (a Linux desktop entry's %U) is turned into its path. A `--coffer-cli` run is the command-line tool:
 * it opens nothing.
 */
export function cofferPathsFromArgv(
  argv: readonly string[],
  options: { cwd: string; skip: number },
): string[] {
  if (argv.includes(CLI_FLAG)) return [];
  // Every file, even past MAX_QUEUED: OpenedFiles.add counts the ones it drops, and the page says so.
  const found = new Set<string>();
  let positional = false;
  for (const arg of argv.slice(options.skip)) {
    if (!positional && arg === '--') {
      positional = true;
      continue;
    }
    if (!positional && arg.startsWith('-')) continue;
    const file = asPath(arg, options.cwd);
    if (file !== null) found.add(file);
  }
  return [...found];
}

function asPath(arg: string, cwd: string): string | null {
  if (arg === '' || arg.length > MAX_PATH || arg.includes('\0')) return null;
  let file = arg;
  if (/^file:/i.test(arg)) {
    try {
      // A host is another computer: on Windows a UNC path, whose open sends the user's credentials to it.
      if (new URL(arg).host !== '') return null;
      file = fileURLToPath(arg);
    } catch {
      return null;
    }
    if (file.includes('\0')) return null; // %00
  } else if (/^[a-z][a-z0-9+.-]+:\/\//i.test(arg)) {
    return null; // another URL scheme: never a file to open
  }
  if (!file.toLowerCase().endsWith(SUFFIX)) return null;
  return path.resolve(cwd, file);
}

export interface OpenedFileDeps {
  sodium: SodiumBackend;
  /** What opens files on this device (DeviceKeyService.identities; NO_DEVICE_KEY when there is none). */
  identities(): Promise<Identity[]>;
  /**
   * The registered folders, to say which one a file sits in (and offer to open it for editing). One being
   * unprotected (decrypted in place, leaving Coffer) counts as none.
   */
  folders(): { id: string; path: string; state: 'protected' | 'unprotecting' }[];
  /** Told when files were queued, so main can tell the window (a `file-opened` event). */
  notify(): void;
  verifyLimit?: number;
  /** Default process.platform; on win32 no verdict is kept (CheckedFiles). */
  platform?: NodeJS.Platform;
}

/**
 * The queue between the OS and the window, and the inspection of one file. Paths stay here: the renderer
 * takes tokens (takeOpenedFiles), asks for a token's view (inspectOpenedFile) and may show it in the file
 * manager (showOpenedFile).
 */
export class OpenedFiles {
  private pending: { token: string; path: string }[] = [];
  private readonly known = new Map<string, string>();
  private dropped = 0;
  /** Verdicts kept across visits of the page (CheckedFiles). */
  private readonly checked: CheckedFiles;

  constructor(private readonly deps: OpenedFileDeps) {
    this.checked = new CheckedFiles(deps.platform);
  }

  /** Queues files to show; returns how many were queued (duplicates and files past MAX_QUEUED are not). */
  add(paths: readonly string[]): number {
    let added = 0;
    for (const p of paths) {
      if (!path.isAbsolute(p) || p.length > MAX_PATH || p.includes('\0')) continue;
      if (!p.toLowerCase().endsWith(SUFFIX)) continue;
      if (this.pending.some((q) => q.path === p)) continue;
      if (this.pending.length >= MAX_QUEUED) {
        this.dropped += 1;
        continue;
      }
      // A file shown before keeps its token: the window updates that card rather than keep its old
      // verdict ("Intact") beside the new one.
      this.pending.push({ token: this.tokenOf(p) ?? randomUUID(), path: p });
      added += 1;
    }
    if (added > 0) this.deps.notify();
    return added;
  }

  /** The files waiting to be shown, oldest first; each is then known by its token until MAX_KNOWN newer. */
  take(): { files: { token: string; name: string }[]; dropped: number } {
    const taken = this.pending;
    const dropped = this.dropped;
    this.pending = [];
    this.dropped = 0;
    for (const { token, path: p } of taken) {
      this.known.delete(token); // the newest shown last, so MAX_KNOWN forgets the oldest
      this.known.set(token, p);
      if (this.known.size > MAX_KNOWN) this.known.delete(this.known.keys().next().value ?? '');
    }
    return { files: taken.map(({ token, path: p }) => ({ token, name: path.basename(p) })), dropped };
  }

  private tokenOf(file: string): string | undefined {
    for (const [token, p] of this.known) if (p === file) return token;
    return undefined;
  }

  /** The path behind a token; NOT_FOUND for a token this app did not hand out. */
  pathOf(token: string): string {
    const p = this.known.get(token);
    if (p === undefined) {
      throw new CofferError(
        'NOT_FOUND',
        'Coffer no longer knows that file.',
        'Open the file again from your file manager.',
      );
    }
    return p;
  }

  /** What the screen shows for a token. Never throws for a bad file: the problem is part of the view. */
  async inspect(token: string): Promise<OpenedFileView> {
    const file = this.pathOf(token);
    return { token, ...(await inspectOpenedFile(file, { ...this.deps, checked: this.checked })) };
  }
}

/**
 * Files whose every byte was authenticated, by their state on disk (device, inode, size, mtime and ctime in
 * nanoseconds), so a revisit of the page does not read them again: it asks for every card's view, and up to
 * MAX_QUEUED files of up to VERIFY_LIMIT each were read again on each visit (issue 10 item 4 review). Any
 * write changes the ctime (a tool that puts the mtime back cannot put it back), a replaced file has another
 * inode, so a changed file is checked again. Kept for MAX_KNOWN files, the newest.
 * Not on Windows: its ctime (ChangeTime) is set by anyone who may write the file (SetFileInformationByHandle
 * FileBasicInfo, as mtime), so an edit in place with every time put back kept the stamp and would be served
 * "verified". There every visit reads the content again.
 */
export class CheckedFiles {
  private readonly verified = new Map<string, { stamp: string; keyIds: readonly string[] }>();
  /** False where the stamp does not prove the bytes unchanged (win32). */
  private readonly keeps: boolean;

  constructor(platform: NodeJS.Platform = process.platform) {
    this.keeps = platform !== 'win32';
  }

  /** Whether `file` in this state was verified with a key this device still holds. */
  has(file: string, stamp: string, held: ReadonlySet<string>): boolean {
    if (!this.keeps) return false;
    const entry = this.verified.get(file);
    return entry !== undefined && entry.stamp === stamp && entry.keyIds.some((k) => held.has(k));
  }

  /** `keyIds`: the keys of this device the file names, one of which opened it. */
  add(file: string, stamp: string, keyIds: readonly string[]): void {
    if (!this.keeps) return;
    this.verified.delete(file);
    this.verified.set(file, { stamp, keyIds });
    if (this.verified.size > MAX_KNOWN) this.verified.delete(this.verified.keys().next().value ?? '');
  }
}

/** The open file's state, to the nanosecond: what CheckedFiles compares. */
async function stampOf(handle: FileHandle): Promise<string> {
  const s = await handle.stat({ bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** Reads up to `length` bytes at `position`; fewer only at the end of the file. */
async function readAt(
  handle: FileHandle,
  buffer: Uint8Array,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** crypto/file.ts readHeader, asynchronously: the prefix's limits (§3) are checked before allocating. */
async function readHeaderAt(handle: FileHandle): Promise<Uint8Array> {
  const prefix = new Uint8Array(PREFIX_BYTES);
  const length = parsePrefix(prefix.subarray(0, await readAt(handle, prefix, PREFIX_BYTES, 0)));
  const bytes = new Uint8Array(length);
  bytes.set(prefix);
  const rest = await readAt(handle, bytes.subarray(PREFIX_BYTES), length - PREFIX_BYTES, PREFIX_BYTES);
  if (rest !== length - PREFIX_BYTES) throw cryptoError('TRUNCATED', 'the file ends inside its header');
  return bytes;
}

/**
 * crypto/file.ts decryptFrom with no output, one awaited read per message so main's event loop turns
 * between chunks (decryptFrom is synchronous: meant for a worker). The same rules (FORMAT.md §3.1, §5.3):
 * header MAC and stanza, then every message authenticated, nothing after the final one. With `content`
 * false it stops after the metadata message: the header and the metadata are then authentic, and the
 * metadata's size must be `expectedSize`, the one the file's length gives.
 */
async function authenticate(
  sodium: SodiumBackend,
  handle: FileHandle,
  headerBytes: Uint8Array,
  identities: readonly Identity[],
  size: number,
  expectedSize: number,
  content: boolean,
): Promise<void> {
  const session = new DecryptSession(sodium, headerBytes, identities);
  const longest = Math.min(session.header.chunkSize, size);
  const buffer = new Uint8Array(Math.max(longest, METADATA_BYTES) + STREAM_ABYTES);
  let position = headerBytes.length;
  for (let length = session.nextLength(); length > 0; length = session.nextLength()) {
    if (length > buffer.length || (await readAt(handle, buffer, length, position)) !== length) {
      throw cryptoError('TRUNCATED', 'the file was cut short');
    }
    position += length;
    session.authenticate(buffer.subarray(0, length));
    if (!content) {
      // The metadata message (always the first) says the original's size: a file cut, or padded, at a
      // chunk boundary still has a length that fits another size (§5.2), which the rest would find.
      if (session.metadata?.size !== expectedSize) throw cryptoError('TRUNCATED', 'the file was cut short');
      return;
    }
  }
  if ((await readAt(handle, buffer, 1, position)) !== 0) {
    throw cryptoError('TRAILING_DATA', 'there are bytes after the final chunk');
  }
  if (!session.metadata) throw cryptoError('TRUNCATED', 'the file was cut short');
}

/** Whether the open file is as it was (`opened`) and still the one at its name (not renamed over). */
async function unchanged(file: string, handle: FileHandle, opened: Stats): Promise<boolean> {
  try {
    const now = await handle.stat();
    const named = await lstat(file);
    return sameFile(opened, now) && named.dev === opened.dev && named.ino === opened.ino;
  } catch {
    return false;
  }
}

/** The protected folder `file` sits in (its real directory inside the folder's), or null. */
async function folderOf(
  file: string,
  folders: ReturnType<OpenedFileDeps['folders']>,
): Promise<OpenedFileView['folder']> {
  let dir: string;
  try {
    dir = await realpath(path.dirname(file));
  } catch {
    return null;
  }
  for (const f of folders) {
    let root: string;
    try {
      root = await realpath(f.path);
    } catch {
      continue;
    }
    if (dir !== root && !dir.startsWith(root + path.sep)) continue;
    // Inside the folder, but it is being decrypted in place and leaves Coffer: not protected, not for editing.
    if (f.state !== 'protected') return null;
    const relPath = path
      .relative(root, path.join(dir, path.basename(file)))
      .split(path.sep)
      .join('/');
    return { id: f.id, name: path.basename(root), path: f.path, relPath };
  }
  return null;
}

const DAMAGED = new Set([
  'HEADER_TOO_LARGE',
  'MALFORMED_HEADER',
  'HEADER_AUTH_FAILED',
  'MALFORMED_METADATA',
  'AUTH_FAILED',
  'TRUNCATED',
  'UNEXPECTED_FINAL',
  'TRAILING_DATA',
]);

/** The stable code and hint stay; the message says it for a person (FORMAT.md §7 codes). */
function plain(info: ErrorInfo): ErrorInfo {
  if (info.code === 'BAD_MAGIC') {
    return {
      code: info.code,
      message: 'This is not a Coffer file: its name ends in .coffer, but its content is something else.',
      hint: 'It may have been renamed, or its first bytes were damaged. Open it with the app it was made with, or restore it from a backup.',
    };
  }
  if (DAMAGED.has(info.code)) {
    return { code: info.code, message: 'This Coffer file is damaged and cannot be opened.', ...hintOf(info) };
  }
  return info;
}

function hintOf(info: ErrorInfo): { hint?: string } {
  return info.hint === undefined ? {} : { hint: info.hint };
}

function keyProblem(keyIds: OpenedFileView['keyIds']): ErrorInfo {
  // The device stanza names the computer the file was protected on; recovery stanzas the organization key.
  const device = keyIds.filter((k) => k.kind === 'device').map((k) => k.keyId);
  const named = device.length > 0 ? device : keyIds.map((k) => k.keyId);
  const list = named.length > 0 ? named.join(', ') : 'none';
  return {
    code: 'NO_MATCHING_KEY',
    message: `This file was protected on another computer, with key ${list}. This computer does not hold that key.`,
    hint: `Ask your helpdesk to open it: give them the key ID ${named[0] ?? 'shown here'}.`,
  };
}

type Inspection = Omit<OpenedFileView, 'token'>;

/**
 * Looks at one `.coffer` file and writes nothing, and keeps main's event loop free (every file system
 * call asynchronous: a slow or hung disk never freezes the window): an lstat that must find a regular file
 * (a FIFO or device is never opened: opening one acts on it), one open that follows no link, an fstat
 * compared with the lstat (a file swapped between the two is refused), the header (FORMAT.md §3), the
 * original size from the length (§5.2, crypto/length.ts), the key IDs it was written for, and, when this
 * device holds one of them, the header and metadata authenticated, and every byte when the file is at
 * most `verifyLimit`. A file that changed or was renamed over meanwhile is SOURCE_CHANGED, not damaged.
 */
export async function inspectOpenedFile(
  file: string,
  deps: Pick<OpenedFileDeps, 'sodium' | 'identities' | 'folders' | 'verifyLimit'> & {
    checked?: CheckedFiles;
  },
): Promise<Inspection> {
  const view: Inspection = {
    name: path.basename(file),
    folder: await folderOf(file, deps.folders()),
    originalSize: null,
    keyIds: [],
    opensOnThisDevice: false,
    integrity: 'not-checked',
  };
  let identities: Identity[] = [];
  let handle: FileHandle | null = null;
  let opened: Stats | null = null;
  const changed = (while_: string) =>
    new CofferError(
      'SOURCE_CHANGED',
      `${view.name}: the file changed while Coffer ${while_} it`,
      'Open it again once nothing else is changing it.',
    );
  try {
    const before = await lstat(file);
    if (before.isSymbolicLink()) {
      throw new CofferError(
        'SYMLINK',
        `${view.name}: it is a link to another file`,
        'Coffer never follows links: open the file it points to.',
      );
    }
    if (!before.isFile()) {
      throw new CofferError('NOT_A_FILE', `${view.name}: not a regular file`, 'Open a .coffer file.');
    }
    handle = await open(file, READ_NOFOLLOW);
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw new CofferError('NOT_A_FILE', `${view.name}: not a regular file`, 'Open a .coffer file.');
    }
    if (stats.dev !== before.dev || stats.ino !== before.ino) throw changed('opened');
    opened = stats;
    // Taken after the stat that unchanged() compares with: a change in between is SOURCE_CHANGED below.
    const stamp = await stampOf(handle);
    const headerBytes = await readHeaderAt(handle);
    const header = inspectHeader(headerBytes);
    // Keys are read only for what is a Coffer file (not for a renamed photo, a folder or a link).
    identities = await deps.identities().catch((error: unknown) => {
      // No device key yet: nothing here opens the file, which is said below. Never made here (no write).
      if (isCofferError(error, 'NO_DEVICE_KEY')) return [];
      throw error;
    });
    const held = new Set(identities.map((id) => formatKeyId(keyIdOf(deps.sodium, id))));
    view.keyIds = header.stanzas.map((s) => ({ ...s, onThisDevice: held.has(s.keyId) }));
    view.opensOnThisDevice = view.keyIds.some((k) => k.onThisDevice);
    view.originalSize = plaintextLength(stats.size, header.headerLength, header.chunkSize);
    if (view.originalSize === null) {
      // No content length gives exactly this many bytes: cut short (or padded), whatever the key.
      // (The crypto hint applies: CofferError fills it in for a FORMAT.md §7 code.)
      throw new CofferError('TRUNCATED', `${view.name}: the file's length does not match its content`);
    }
    if (!view.opensOnThisDevice) return { ...view, problem: keyProblem(view.keyIds) };
    // Checked before in this very state, with a key still held: nothing to read again.
    if (deps.checked?.has(file, stamp, held) === true) return { ...view, integrity: 'verified' };
    const content = stats.size <= (deps.verifyLimit ?? VERIFY_LIMIT);
    await authenticate(deps.sodium, handle, headerBytes, identities, stats.size, view.originalSize, content);
    if (!(await unchanged(file, handle, stats))) throw changed('checked');
    if (content) {
      view.integrity = 'verified';
      const mine = view.keyIds.filter((k) => k.onThisDevice).map((k) => k.keyId);
      deps.checked?.add(file, stamp, mine);
    }
    return view;
  } catch (caught) {
    // Bytes appended or replaced while read look damaged to the check: say what really happened.
    const error =
      handle !== null && opened !== null && !(await unchanged(file, handle, opened))
        ? changed('checked')
        : caught;
    let info: ErrorInfo;
    try {
      info = toErrorInfo(toCofferError(error, view.name));
    } catch {
      info = toErrorInfo(error);
    }
    return { ...view, integrity: 'not-checked', problem: plain(info) };
  } finally {
    if (handle !== null) await handle.close().catch(() => undefined);
    for (const id of identities) {
      if (id.kind === 'device') deps.sodium.zero(id.key);
      else deps.sodium.zero(id.secretKey);
    }
  }
}
