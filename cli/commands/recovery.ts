/** `coffer recovery …`: the organization recovery key and the personal recovery code. */
import { formatKeyId, recoveryKeyId } from '../../crypto/keys.js';
import { encodePublicKey } from '../../electron/services/keys/public-key-text.js';
import {
  keyFileLimits,
  sealRecoveryKeyFile,
  writeRecoveryKeyFile,
} from '../../electron/services/keys/recovery-key-file.js';
import { parseRecoveryCode } from '../../electron/services/keys/recovery-code.js';
import { isPackagedRun } from '../../electron/services/policy/platform.js';
import { readPassphrase, promptLine } from '../passphrase.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../output.js';
import type { CommandGroup } from './types.js';
import { recordEvent } from './audit.js';
import { rotate, rotationDoc, rotationOk } from './rewrap.js';
import { defaultBackend } from '../../crypto/sodium.js';

export const registerRecoveryCommands: CommandGroup = (program, ctx) => {
  const { out } = ctx;
  const recovery = program
    .command('recovery')
    .description('organization recovery keys and personal recovery codes');

  recovery
    .command('keygen')
    .description('make an organization recovery key pair; the private key file is protected by a passphrase')
    .requiredOption('--out <file>', 'where to write the private key file (never overwritten)')
    .option('--passphrase-file <file>', 'read the passphrase from this file instead of a prompt')
    .action(async (options: { out: string; passphraseFile?: string }) => {
      // No keychain and no app data: keygen runs on the helpdesk's machine.
      const sodium = await defaultBackend();
      const passphrase = await readPassphrase(
        { passphraseFile: options.passphraseFile, env: ctx.env },
        { confirm: true, purpose: 'for the new recovery key file' },
      );
      // The test switch works from a checkout only, never in an installed app (issue 9 item 7).
      const limits = await keyFileLimits(ctx.env, { allowTestKdf: !isPackagedRun(import.meta.url) });
      const pair = sodium.boxKeypair();
      const started = performance.now();
      let bytes: Uint8Array;
      try {
        bytes = await sealRecoveryKeyFile(pair, passphrase, limits);
      } finally {
        sodium.zero(pair.secretKey);
      }
      const seconds = (performance.now() - started) / 1000;
      writeRecoveryKeyFile(options.out, bytes);
      const keyId = formatKeyId(recoveryKeyId(sodium, pair.publicKey));
      const line = encodePublicKey(sodium, pair.publicKey);
      out.info(`Wrote the organization recovery private key to ${options.out} (mode 0600).`);
      out.info('Keep it offline with the helpdesk, and its passphrase apart from it.');
      out.info(`Key ID: ${keyId}`);
      out.info('Public key (give this line to `coffer recovery trust` or to IT policy):');
      out.info(line);
      out.document({
        command: 'recovery keygen',
        ok: true,
        file: options.out,
        keyId,
        publicKey: line,
        kdf: { ...limits, seconds },
      });
    });

  recovery
    .command('trust')
    .description(
      'trust an organization recovery public key: every file written from now on can be recovered with it',
    )
    .argument('<public-key>', 'the line printed by `coffer recovery keygen` (coffer-recovery-1:…)')
    .option('--label <text>', 'a name for people, e.g. "ACME helpdesk 2026"')
    .action(async (line: string, options: { label?: string }) => {
      const { trustedKeys } = await ctx.services();
      const { entry, added } = trustedKeys.trust(line, options.label);
      if (added) await recordEvent(ctx, 'trusted-keys-changed', { action: 'trust', keyId: entry.keyId });
      out.info(
        added ? `Trusted recovery key ${entry.keyId}.` : `Recovery key ${entry.keyId} was already trusted.`,
      );
      // The new key reaches everything at once: the escrow record, its folder copies, and the files
      // written before now (re-wrapped with the device key, headers only). Also run when it was already
      // trusted: it finishes a rotation that an earlier run left half done.
      const report = await rotate(ctx);
      out.document({
        command: 'recovery trust',
        ok: rotationOk(report),
        added,
        ...entry,
        rotation: rotationDoc(report),
      });
      ctx.exitCode = rotationOk(report) ? EXIT_OK : EXIT_FAILED;
    });

  recovery
    .command('untrust')
    .description(
      'retire a recovery key: re-seal the escrow record and re-wrap every protected file without it',
    )
    .argument('<key-id>', 'e.g. 3f9a-12bc-0e77-a1d4')
    .action(async (keyId: string) => {
      const { trustedKeys } = await ctx.services();
      const entry = trustedKeys.untrust(keyId);
      await recordEvent(ctx, 'trusted-keys-changed', { action: 'untrust', keyId: entry.keyId });
      out.info(`No longer trusted: ${entry.keyId}.`);
      const report = await rotate(ctx);
      if (rotationOk(report))
        out.info(`Recovery key ${entry.keyId} opens no escrow record or protected file here any more.`);
      out.note(
        'Backups made before now still hold copies sealed to it: see DEPLOYMENT.md, "Rotating the recovery key".',
      );
      out.document({
        command: 'recovery untrust',
        ok: rotationOk(report),
        ...entry,
        rotation: rotationDoc(report),
      });
      ctx.exitCode = rotationOk(report) ? EXIT_OK : EXIT_FAILED;
    });

  recovery
    .command('list')
    .description('list the trusted organization recovery keys and every change of them')
    .action(async () => {
      const { trustedKeys } = await ctx.services();
      // Key IDs here are recomputed from the public keys (never read from the settings file).
      const keys = trustedKeys.list();
      const rule = trustedKeys.userKeyRule();
      const log = trustedKeys.log();
      if (!keys.length) out.info('No recovery key is trusted.');
      for (const k of keys) out.info(`${k.keyId}  ${k.label ?? ''}\n  ${k.publicKey}`);
      if (keys.length && !rule.allowed) out.note(`Not used for new files: ${rule.reason}.`);
      if (log.length) out.info('Changes:');
      for (const e of log) out.info(`  ${e.at}  ${e.action.padEnd(8)} ${e.keyId}  ${e.label ?? ''}`);
      out.document({ command: 'recovery list', ok: true, keys, used: rule.allowed, log });
    });

  recovery
    .command('code')
    .description(
      'make a new personal recovery code (shown once) and its escrow record; replaces the previous code',
    )
    .action(async () => {
      const { recovery: service, paths } = await ctx.services();
      const issued = await service.issueCode();
      await recordEvent(ctx, 'recovery-code-made', {
        codeKeyId: issued.keyId,
        deviceKeyId: issued.deviceKeyId,
        sealedTo: issued.sealedTo,
      });
      out.info('Your personal recovery code (write it down now; it is shown only once):');
      out.info('');
      out.info(`  ${issued.code}`);
      out.info('');
      out.info(`Code key ID: ${issued.keyId}   Device key: ${issued.deviceKeyId}`);
      out.info(`Escrow record: ${paths.escrowFile} (and a copy in each protected folder)`);
      for (const warning of issued.warnings) out.note(`Warning: ${warning}`);
      if (!issued.sealedTo.length)
        out.note(
          'Note: no organization recovery key is trusted, so only this code can restore the device key.',
        );
      out.document({ command: 'recovery code', ok: true, ...issued, escrowFile: paths.escrowFile });
    });

  recovery
    .command('escrow')
    .description('export the escrow record for IT')
    .requiredOption('--out <file>', 'where to write it (never overwritten)')
    .action(async (options: { out: string }) => {
      const { recovery: service } = await ctx.services();
      const record = service.exportEscrow(options.out);
      out.info(
        `Wrote the escrow record for device key ${record.deviceKeyId} (code ${record.code.keyId}) to ${options.out}.`,
      );
      out.document({
        command: 'recovery escrow',
        ok: true,
        file: options.out,
        deviceKeyId: record.deviceKeyId,
        codeKeyId: record.code.keyId,
        sealedTo: record.recovery.map((r) => r.keyId),
      });
    });

  recovery
    .command('confirm')
    .description('type the recovery code back, to check it was written down correctly')
    .option('--code <code>', 'the code (otherwise asked for)')
    .action(async (options: { code?: string }) => {
      let text = options.code;
      if (text === undefined) {
        if (!process.stdin.isTTY)
          throw new UsageError('No terminal to ask for the code', 'Pass --code CODE.');
        text = await promptLine('Recovery code: ');
      }
      const code = parseRecoveryCode(text);
      const { recovery: service, sodium } = await ctx.services();
      try {
        const result = await service.confirmCode(code);
        out.info(`The code is correct (key ID ${result.keyId}).`);
        out.document({ command: 'recovery confirm', ok: true, ...result });
      } finally {
        sodium.zero(code);
      }
    });
};
