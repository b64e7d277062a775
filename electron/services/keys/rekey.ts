/**
 * Helpdesk rekey (issue 9 item 5; DESIGN.md "Rekey"): files opened with an organization recovery key are
 * given to this device by rewriting their header only (FORMAT.md §8), in place where the rewriter can. One
 * service for the app's "Rekey to this device" and `coffer rekey`, so the two cannot differ: the new header
 * carries this device's stanza, a recovery stanza for the key that opened the file (the helpdesk can still
 * open it, even where this device does not trust that key), and every key of the current set (trusted and
 * policy keys), approved by the policy as for any write.
 */
import fs from 'node:fs';
import { CofferError } from '../../../crypto/errors.js';
import { inspectFd } from '../../../crypto/file.js';
import { formatKeyId, keyIdOf, type Identity, type Recipient } from '../../../crypto/keys.js';
import type { SodiumBackend } from '../../../crypto/sodium.js';
import type { BatchResult, HeaderRewriter, RewrapOutcome } from '../headers/header-rewriter.js';

type RecoveryIdentity = Extract<Identity, { kind: 'recovery' }>;

export interface RekeyDeps {
  /** Who a write is for: this device, `extra`, and the current recovery key set; policy-checked (WriteKeys). */
  readonly recipients: (extra: readonly Recipient[]) => Promise<Recipient[]>;
  readonly rewriter: Pick<HeaderRewriter, 'rewrapMany' | 'recover'>;
  /** To tell by key ID whether the set changed while the rekey ran. */
  readonly sodium: SodiumBackend;
}

export type RekeyResult =
  | {
      readonly path: string;
      readonly outcome: RewrapOutcome;
      /** The header's length now, and the file's: only the header was rewritten. */
      readonly headerBytes: number;
      readonly fileBytes: number;
    }
  | { readonly path: string; readonly error: CofferError };

export interface RekeyOptions {
  /** Each file's result as soon as it is known (progress in the app, a line in the CLI). */
  readonly onResult?: (result: RekeyResult) => void;
  readonly signal?: AbortSignal;
  /**
   * The folder (or file) a path was listed in, a real path taken when it was listed: a file reached
   * elsewhere (a folder on its path swapped for a link since) is refused as OUTSIDE_FOLDER and not written
   * (issue 10 item 3; HeaderRewriter.rewrapMany `roots`). Default: each path is its own root (its folder
   * resolved when its batch starts).
   */
  readonly rootOf?: (path: string) => string;
}

/** Files per rewrapMany call: one journal and one flush for many small files, progress between batches. */
const BATCH = 64;

export class RekeyService {
  constructor(private readonly deps: RekeyDeps) {}

  /** The recipients a rekeyed file gets (also what the app may show before it starts). */
  recipientsFor(identity: RecoveryIdentity): Promise<Recipient[]> {
    return this.deps.recipients([{ kind: 'recovery', publicKey: identity.publicKey }]);
  }

  /**
   * Rekeys `paths` (.coffer files) with `identity`. One bad file never stops the others: each result is
   * an outcome or an error. Stops between batches when `signal` aborts (files not reached are unchanged).
   */
  async rekey(
    paths: readonly string[],
    identity: RecoveryIdentity,
    options: RekeyOptions = {},
  ): Promise<RekeyResult[]> {
    let recipients = await this.recipientsFor(identity);
    if (!recipients.some((r) => r.kind === 'device')) {
      throw new CofferError(
        'NO_DEVICE_KEY',
        'There is no device key to rekey the files to',
        'Run `coffer init` (or open Coffer) first.',
      );
    }
    const results: RekeyResult[] = [];
    const rootOf = options.rootOf ?? ((path: string) => path);
    // Per call, only the roots of its own files: the containment check looks each file's root up in them.
    const rewrapMany = (files: readonly string[]): Promise<BatchResult[]> =>
      this.deps.rewriter.rewrapMany(files, [identity], recipients, {
        roots: [...new Set(files.map(rootOf))],
      });
    try {
      // A rekey that a crash interrupted was journalled under this key (§8.1): finish it first.
      await this.deps.rewriter.recover([identity]);
      for (let at = 0; at < paths.length; at += BATCH) {
        if (options.signal?.aborted) break;
        const batch = await rewrapMany(paths.slice(at, at + BATCH));
        for (const done of batch) {
          const result: RekeyResult = 'error' in done ? done : { ...done, ...sizes(done.path) };
          results.push(result);
          options.onResult?.(result);
        }
      }
      // The set was read when the rekey started: a key untrusted meanwhile (and its rotation, which may
      // have listed these files before they were written) must not stay in them. Re-read it once the files
      // are written and bring them to it, keeping the opening key (DESIGN.md "Rekey"; issue 9 item 2).
      // (If the set cannot be read now, the files keep the one read at the start: the next rotation, which
      // follows every change, brings them to the new one.)
      const now = await this.recipientsFor(identity).catch(() => recipients);
      if (now === recipients) return results;
      if (sameKeys(this.deps.sodium, now, recipients)) {
        wipe(now);
      } else {
        wipe(recipients);
        recipients = now;
        const written = results.flatMap((r) => ('error' in r ? [] : [r.path]));
        for (let at = 0; at < written.length; at += BATCH)
          for (const again of await rewrapMany(written.slice(at, at + BATCH)))
            if ('error' in again) {
              const found = results.findIndex((r) => r.path === again.path);
              if (found >= 0) results[found] = again;
              options.onResult?.(again);
            }
      }
    } finally {
      wipe(recipients); // a copy handed to this call
    }
    return results;
  }
}

function wipe(recipients: readonly Recipient[]): void {
  for (const r of recipients) if (r.kind === 'device') r.key.fill(0);
}

function sameKeys(sodium: SodiumBackend, a: readonly Recipient[], b: readonly Recipient[]): boolean {
  const ids = (list: readonly Recipient[]): string =>
    [...new Set(list.map((r) => `${r.kind}:${formatKeyId(keyIdOf(sodium, r))}`))].sort().join(',');
  return ids(a) === ids(b);
}

function sizes(path: string): { headerBytes: number; fileBytes: number } {
  const fd = fs.openSync(path, 'r');
  try {
    return { headerBytes: inspectFd(fd).headerLength, fileBytes: fs.fstatSync(fd).size };
  } finally {
    fs.closeSync(fd);
  }
}
