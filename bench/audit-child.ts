/**
 * The measured program of bench/audit.ts: one data-audit scan or find through AuditService (the CLI's and
 * the app's service), bundled to plain JavaScript with its worker. Prints one JSON line: its own timing
 * (the operation, not Node's start-up) and what it read.
 *
 *   node audit-child.js scan <appHome> <keys.json> <root>
 *   node audit-child.js find <appHome> <keys.json> <root> <term>
 */
import { readFileSync } from 'node:fs';
import { defaultBackend } from '../crypto/sodium.js';
import { AuditService } from '../electron/services/audit/scanner.js';
import { guardRailsFor } from '../electron/services/folders/guard-rails.js';

const [op, appHome, keyFile, root, term] = process.argv.slice(2);
if ((op !== 'scan' && op !== 'find') || !appHome || !keyFile || !root) {
  throw new Error('usage: audit-child scan|find <appHome> <keys.json> <root> [term]');
}
const sodium = await defaultBackend();
const device = (JSON.parse(readFileSync(keyFile, 'utf8')) as { device: string }).device;
const service = new AuditService({
  backend: sodium.name,
  appHome,
  policy: () => ({}),
  protectedFolders: () => [],
  identities: () => Promise.resolve([{ kind: 'device', key: Uint8Array.from(Buffer.from(device, 'hex')) }]),
  guard: guardRailsFor(appHome, process.env),
  ...(process.env.AUDIT_WORKERS ? { workers: Number(process.env.AUDIT_WORKERS) } : {}),
});
const started = performance.now();
if (op === 'scan') {
  const report = await service.scan([root]);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      seconds,
      bytesRead: report.summary.bytesRead,
      files: report.summary.filesScanned,
      fromCache: report.summary.fromCache,
      findings: report.summary.findings,
      errors: report.summary.skipped.error,
    }),
  );
} else {
  const report = await service.find([term ?? ''], [root]);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      seconds,
      bytesRead: report.summary.bytesRead,
      files: report.summary.filesSearched,
      found: report.files.length,
      errors: report.skipped.filter((s) => s.kind === 'error').length,
    }),
  );
}
await service.close();
