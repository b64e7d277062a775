/** `coffer recover | rekey | restore-device`: the helpdesk's commands. */
import fs from 'node:fs';
import path from 'node:path';
import type { Identity } from '../../crypto/keys.js';
import { readRecoveryKeyFile } from '../../electron/services/keys/recovery-key-file.js';
import { collectProtectedFiles, forEachPath, totalSize } from '../batch.js';
import type { CliContext } from '../context.js';
import { EXIT_FAILED, EXIT_OK, printable, toFailure } from '../output.js';
import { readPassphrase } from '../passphrase.js';
import { byteProgress } from '../progress.js';
import type { CommandGroup } from './types.js';
import { recordRecover, recordRekey } from './audit.js';
import { rekeyFor } from './rewrap.js';
import { restoreDeviceAction, type RestoreOptions } from './device.js';
import { CofferError } from '../../crypto/errors.js';

type RecoveryIdentity = Extract<Identity, { kind: 'recovery' }>;

async function openKeyFile(
  ctx: CliContext,
  file: string,
  passphraseFile: string | undefined,
): Promise<RecoveryIdentity> {
  const passphrase = await readPassphrase(
    { passphraseFile, env: ctx.env },
    { confirm: false, purpose: `for ${path.basename(file)}` },
  );
  return readRecoveryKeyFile(file, passphrase);
}

/** Removes `dir` and its parents up to and including `top`, as long as they are empty. */
function removeEmptyDirs(dir: string, top: string): void {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      fs.rmdirSync(d);
    } catch {
      return; // not empty, or gone: stop
    }
    if (d === path.resolve(top) || d === path.dirname(d)) return;
  }
}

export const registerHelpdeskCommands: CommandGroup = (program, ctx) => {
  const { out } = ctx;
  const onFailure = out.failure.bind(out);

  program
    .command('recover')
    .description('decrypt files or folders with the organization recovery private key (no keychain needed)')
    .requiredOption('--key <file>', 'the organization recovery private key file')
    .option(
      '--out <dir>',
      'write the restored files here (folders keep their structure); default: beside each file',
    )
    .option('--passphrase-file <file>', 'read the key file passphrase from this file')
    .option('--force', 'replace existing files')
    .argument('<path...>', '.coffer files or folders holding them')
    .action(
      async (
        paths: string[],
        options: { key: string; out?: string; passphraseFile?: string; force?: boolean },
      ) => {
        const { files, missing } = collectProtectedFiles(paths);
        const { safeFiles, sodium, policy } = await ctx.services();
        // Checked before the passphrase is asked for: a refusal should not cost the helpdesk a key unlock.
        if (options.out === undefined) policy.assertCanUnprotect();
        else policy.assertCanDecryptCopy();
        const identity = await openKeyFile(ctx, options.key, options.passphraseFile);
        const failures = missing.map((p) =>
          toFailure(new CofferError('NOT_FOUND', 'no such file or folder', 'Check the path.'), p),
        );
        failures.forEach(onFailure);
        const progress = byteProgress(totalSize(files.map((f) => f.path)));
        try {
          const batch = await forEachPath(
            files.map((f) => f.path),
            (p) => {
              const found = files.find((f) => f.path === p);
              let outDir: string | undefined;
              let created: string | undefined;
              if (options.out !== undefined) {
                outDir = path.join(options.out, found?.relativeDir ?? '');
                created = fs.mkdirSync(outDir, { recursive: true });
              }
              let restored;
              try {
                restored = safeFiles.decryptTo(p, {
                  identities: [identity],
                  force: options.force === true,
                  ...(outDir === undefined ? {} : { outDir }),
                  onProgress: progress.track(),
                });
              } catch (error) {
                // Nothing written means nothing: not even the empty folders made for this file.
                if (outDir !== undefined && created !== undefined) removeEmptyDirs(outDir, created);
                throw error;
              }
              const { target, metadata } = restored;
              out.info(printable(`${p} → ${target}`)); // the name comes from the file's metadata
              return { target, name: metadata.name, size: metadata.size };
            },
            onFailure,
          );
          failures.push(...batch.failures);
          await recordRecover(ctx, options.out, batch.results, failures);
          out.document({ command: 'recover', ok: failures.length === 0, results: batch.results, failures });
          ctx.exitCode = failures.length === 0 ? EXIT_OK : EXIT_FAILED;
        } finally {
          progress.stop();
          sodium.zero(identity.secretKey);
        }
      },
    );

  program
    .command('rekey')
    .description('give files to this device: rewrite only their headers with a stanza for this device’s key')
    .requiredOption('--key <file>', 'the organization recovery private key file')
    .option('--passphrase-file <file>', 'read the key file passphrase from this file')
    .argument('<path...>', '.coffer files or folders holding them')
    .action(async (paths: string[], options: { key: string; passphraseFile?: string }) => {
      // Each file's root is the folder (or file) named, as a real path taken now: the rewriter refuses a
      // file found elsewhere when it writes (a subfolder swapped for a link meanwhile; issue 10 item 3).
      const rootByPath = new Map<string, string>();
      const files: { path: string }[] = [];
      const missing: string[] = [];
      for (const given of paths) {
        let real: string;
        try {
          real = fs.realpathSync.native(given);
        } catch {
          missing.push(given);
          continue;
        }
        const found = collectProtectedFiles([real]);
        missing.push(...found.missing);
        for (const file of found.files) {
          rootByPath.set(file.path, real);
          files.push(file);
        }
      }
      const identity = await openKeyFile(ctx, options.key, options.passphraseFile);
      const { sodium, deviceKeys } = await ctx.services();
      try {
        // RekeyService, as the app's "Rekey to this device": the header gets this device, the key that
        // opened the file (the helpdesk keeps access even where this device does not trust it) and the
        // current recovery keys, approved by the policy as for any write; in place where possible.
        const rekey = await rekeyFor(ctx);
        const deviceKeyId = await deviceKeys.deviceKeyId();
        const failures = missing.map((p) =>
          toFailure(new CofferError('NOT_FOUND', 'no such file or folder', 'Check the path.'), p),
        );
        failures.forEach(onFailure);
        const started = performance.now();
        const results: { path: string; outcome: string; headerBytes: number; fileBytes: number }[] = [];
        await rekey.rekey(
          files.map((f) => f.path),
          identity,
          {
            rootOf: (p) => rootByPath.get(p) ?? p,
            onResult: (r) => {
              if ('error' in r) {
                const failure = toFailure(r.error, r.path);
                failures.push(failure);
                onFailure(failure);
                return;
              }
              results.push(r);
              out.info(
                printable(
                  `${r.path}: now opens with device key ${deviceKeyId} (header ${r.outcome === 'unchanged' ? 'already right' : `rewritten ${r.outcome}`}: ${r.headerBytes} bytes of ${r.fileBytes})`,
                ),
              );
            },
          },
        );
        const seconds = (performance.now() - started) / 1000;
        await recordRekey(ctx, deviceKeyId, results, failures);
        out.document({
          command: 'rekey',
          ok: failures.length === 0,
          deviceKeyId,
          seconds,
          results,
          failures,
        });
        ctx.exitCode = failures.length === 0 ? EXIT_OK : EXIT_FAILED;
      } finally {
        sodium.zero(identity.secretKey);
      }
    });

  program
    .command('restore-device')
    .description(
      'bring back a device key from an escrow record, read-only: a fresh device key writes, files are re-wrapped to it, a new code is made',
    )
    .option(
      '--code <code>',
      'the user’s personal recovery code; `-` to type or pipe it instead (keeps it out of shell history)',
    )
    .option('--key <file>', 'the organization recovery private key file')
    .option('--passphrase-file <file>', 'read the key file passphrase from this file')
    .option(
      '--replace',
      'also retire the current device key: a fresh key writes from now on, the current one is kept read-only (its files still open)',
    )
    .argument(
      '<escrow>',
      'the escrow record (exported with `coffer recovery escrow`, or escrow.json from app data)',
    )
    .action((escrow: string, options: RestoreOptions) => restoreDeviceAction(ctx, escrow, options));
};
