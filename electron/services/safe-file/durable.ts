/**
 * Durability and atomic naming: fsync of files and folders (one syncfs for a batch on Linux), writeback
 * started early for large files, and a rename that never replaces an existing file.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  renameSync,
  unlinkSync,
} from 'node:fs';
import type { Socket } from 'node:net';
import { childEnv } from '../child-env.js';
import { errnoOf } from '../fs-errors.js';

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    // Some platforms (Windows) and file systems cannot open or fsync a folder; the rename is still atomic.
    if (!['EISDIR', 'EPERM', 'EACCES', 'EINVAL'].includes(errnoOf(error) ?? '')) throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function fsyncDirs(dirs: readonly string[]): void {
  for (const dir of new Set(dirs)) fsyncDir(dir);
}

export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // best effort: a leftover temp file is recognized and removed by the next run
  }
}

/** Renames without replacing an existing file (link + unlink is atomic no-clobber where links exist). */
export function renameNoClobber(from: string, to: string): void {
  try {
    linkSync(from, to);
    unlinkSync(from);
  } catch (error) {
    const errno = errnoOf(error);
    if (errno !== 'EPERM' && errno !== 'ENOTSUP' && errno !== 'EXDEV') throw error;
    // No hard links here (FAT, some network shares): check, then rename.
    try {
      lstatSync(to);
      throw Object.assign(new Error('target exists'), { code: 'EEXIST' });
    } catch (statError) {
      if (errnoOf(statError) !== 'ENOENT') throw statError;
    }
    renameSync(from, to);
  }
}

/** Where `sync -f` (syncfs(2)) is, to make a whole batch durable with one call. */
const SYNC_BINARY =
  process.platform === 'linux' ? ['/usr/bin/sync', '/bin/sync'].find((p) => existsSync(p)) : undefined;
/** The shell that runs the writeback kicks of one file (writebackKicker). */
const SHELL =
  process.platform === 'linux' ? ['/bin/sh', '/usr/bin/sh'].find((p) => existsSync(p)) : undefined;

/**
 * Makes written files durable. One file: fsync. Many on Linux: one syncfs per file system, which costs
 * about what a single fsync does; elsewhere, or if that fails, fsync each.
 */
export function makeDurable(files: readonly { path: string; dev: number }[]): void {
  if (files.length > 1 && SYNC_BINARY) {
    const oneByDevice = new Map(files.map((f) => [f.dev, f.path]));
    try {
      for (const path of oneByDevice.values()) execFileSync(SYNC_BINARY, ['-f', path], { stdio: 'ignore' });
      return;
    } catch {
      // fall through to fsync each file
    }
  }
  for (const { path } of files) {
    const fd = openSync(path, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

const KICK_EVERY_BYTES = 64 * 1024 * 1024;

export interface WritebackKicker {
  /** Call with the bytes written so far: every KICK_EVERY_BYTES, writeback of the file is started. */
  wrote(bytesWritten: number): void;
  /** The file is complete: start writing out the rest now (the caller goes on to verify, then fsyncs). */
  done(): void;
}

/**
 * Starts the kernel writing a large file out while we go on encrypting and then authenticating it, so the
 * fsync barrier that follows finds little left to wait for (on a 1 GiB file it hides most of the ~0.45 s
 * fsync). Fire and forget: durability still comes only from the barrier. Linux only (where syncfs is).
 *
 * The syncs run in a child: the writer runs synchronously, so nothing it hands to libuv's thread pool
 * reports back (or frees a slot) before it is done, and an fdatasync per 64 MiB queued there would hold
 * every pool thread the app's own file calls need. One small shell per file runs `sync -f` for each kick
 * it reads from a pipe: a child per kick cost this thread a fork of the whole Node process each time
 * (16 for 1 GiB, ~3 ms each on a loaded machine); a kick is now a one-byte write. The last kick, when the
 * file is complete, sends its tail out while the verifier reads it back; then the shell ends.
 */
export function writebackKicker(path: string): WritebackKicker {
  let next = KICK_EVERY_BYTES;
  let syncer: ChildProcess | null = null;
  const kick = (): void => {
    if (!SYNC_BINARY || !SHELL) return;
    if (!syncer) {
      syncer = spawn(SHELL, ['-c', 'while read -r _; do "$0" -f "$1"; done', SYNC_BINARY, path], {
        env: childEnv(), // the second line against a secret in the environment (child-env.ts)
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      syncer.on('error', () => undefined).unref();
      syncer.stdin?.on('error', () => undefined);
      // A pipe to a child is a socket: unref'd, it keeps no run alive (as the child itself).
      (syncer.stdin as Socket | null)?.unref();
    }
    syncer.stdin?.write('\n');
  };
  return {
    wrote: (bytesWritten) => {
      if (bytesWritten < next) return;
      next = bytesWritten + KICK_EVERY_BYTES;
      kick();
    },
    done: () => {
      if (next > KICK_EVERY_BYTES) kick(); // only for files large enough to have been kicked at all
      syncer?.stdin?.end();
    },
  };
}
