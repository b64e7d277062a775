/**
 * The Helpdesk's table of files to restore, for a helpdesk person (issue 12 item 6): each file by its name
 * in the folder chosen (the full path on hover, not a column of `/tmp/...` paths), and each key slot by
 * whose key it is, not by the format's words ("device", "recovery", FORMAT.md §4).
 */
import type { ErrorInfo, FileInspection } from '@shared/contract.js';
import { plainMessage } from '@shared/plain-words.js';

type Slot = FileInspection['stanzas'][number];

/** Whose key opens a key slot, in words. */
export function keyLabel(slot: Slot): string {
  if (slot.kind === 'recovery') return 'Organization recovery key';
  if (slot.kind === 'device') return slot.thisDevice ? 'This laptop’s key' : 'Key of the user’s laptop';
  return 'A key of another kind';
}

/** Splits on either separator: a Windows path from main keeps its backslashes. */
function parts(p: string): string[] {
  return p.split(/[\\/]/);
}

/**
 * The folder all the files are in (the deepest one they share) and each file's name relative to it, with
 * the separator the paths use. One file: its folder and its name.
 */
export function namesInFolder(paths: readonly string[]): { folder: string; names: string[] } {
  const first = paths[0];
  if (first === undefined) return { folder: '', names: [] };
  const sep = first.includes('\\') && !first.includes('/') ? '\\' : '/';
  const split = paths.map(parts);
  let shared = (split[0] ?? []).length - 1;
  for (const segments of split) {
    shared = Math.min(shared, segments.length - 1);
    for (let i = 0; i < shared; i++)
      if (segments[i] !== split[0]?.[i]) {
        shared = i;
        break;
      }
  }
  return {
    folder: (split[0] ?? []).slice(0, shared).join(sep) || sep,
    names: split.map((segments) => segments.slice(shared).join(sep)),
  };
}

/** Why a file cannot be inspected, plainly and by its name in the folder (its full path is on hover). */
export function problemText(error: ErrorInfo, fullPath: string, name: string): string {
  return plainMessage(error.message.split(fullPath).join(name));
}
