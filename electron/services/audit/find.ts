/**
 * `audit find TERM…`: the files (protected or not) whose name or content holds any of the terms, for a
 * customer's access or erasure request. Case-insensitive (D1's finder). Protected files are decrypted in
 * memory only, and a file stops being read once every term was found in it. Nothing is cached: the terms
 * are personal data and are neither stored nor logged.
 */
import { FindStream, makeFinder } from './detectors/index.js';
import { extractKind } from './extract/index.js';
import type { WorkFile } from './scanner-messages.js';
import { contentName } from './content-name.js';
import type { AuditService } from './scanner.js';
import type { AuditRunOptions, FindReport, FoundFile, SkippedFile } from './types.js';

export async function findFiles(
  service: Pick<AuditService, 'list' | 'readListed'>,
  terms: readonly string[],
  roots: readonly string[],
  options: AuditRunOptions = {},
): Promise<FindReport> {
  const started = performance.now();
  // Throws AUDIT_FIND_NO_TERM (a usage error) before anything is read.
  const finder = makeFinder(terms);
  const listing = await service.list(roots, options);
  const skipped: SkippedFile[] = [...listing.skipped];
  const found: FoundFile[] = [];
  const toRead: WorkFile[] = [];
  for (const file of listing.files) {
    const kind = extractKind(contentName(file.path));
    if (kind !== undefined) {
      toRead.push(file);
      continue;
    }
    // Not a type the audit reads: its name is all there is to search.
    const name = new FindStream(finder);
    name.name(contentName(file.path));
    const matched = name.matched();
    if (matched.length > 0)
      found.push({
        path: file.path,
        protected: file.protected,
        inName: matched.map((t) => finder.terms.indexOf(t)),
        inContent: [],
      });
  }
  const { cancelled, bytesRead } = await service.readListed(
    { op: 'find', terms: finder.terms },
    listing.files.length,
    toRead,
    options,
    (outcome, file) => {
      if (outcome.kind === 'found') {
        if (outcome.inName.length + outcome.inContent.length > 0)
          found.push({
            path: file.path,
            protected: file.protected,
            inName: outcome.inName,
            inContent: outcome.inContent,
          });
      } else if (outcome.kind === 'content' || outcome.kind === 'error') {
        skipped.push({
          path: file.path,
          kind: outcome.kind,
          code: outcome.code,
          reason: outcome.reason,
          protected: file.protected,
        });
      }
    },
  );
  found.sort((a, b) => a.path.localeCompare(b.path));
  skipped.sort((a, b) => a.path.localeCompare(b.path));
  return {
    command: 'audit find',
    ok: !cancelled && !skipped.some((s) => s.kind === 'error'),
    terms: finder.terms.length,
    files: found,
    skipped,
    summary: {
      roots: [...roots],
      filesSearched: listing.files.length,
      bytesRead,
      durationMs: Math.round(performance.now() - started),
      cancelled,
    },
  };
}
