/**
 * `coffer rotate-device-key | device-keys`, and the action of `restore-device` (registered with the
 * helpdesk's commands): the device key's life cycle (issue 9 items 2–4). A restored or rotated-out key is
 * kept read-only: it opens files and never writes one (electron/services/keys/device-key.ts).
 */
import path from 'node:path';
import { formatKeyId, recoveryKeyId } from '../../crypto/keys.js';
import { deviceKeyUsage, type DeviceKeyUsage } from '../../electron/services/keys/key-usage.js';
import {
  readRecoveryKeyFile,
  readRecoveryKeyFilePublicKey,
} from '../../electron/services/keys/recovery-key-file.js';
import { parseRecoveryCode, recoveryCodeKeyId } from '../../electron/services/keys/recovery-code.js';
import type {
  IssuedCode,
  RestoreRef,
  RestoreSecret,
  RewrapSummary,
} from '../../electron/services/keys/recovery-service.js';
import { listProtected } from '../../electron/services/keys/rotation.js';
import type { CliContext, Services } from '../context.js';
import { EXIT_FAILED, EXIT_OK, UsageError, printable } from '../output.js';
import { readPassphrase, readRecoveryCodeText } from '../passphrase.js';
import { rotate } from './rewrap.js';
import type { CommandGroup } from './types.js';
import { recordRestore } from './audit.js';

/** The device key IDs named by the files of the registered folders (headers only, no key). */
function usageInRegisteredFolders(services: Services): DeviceKeyUsage & { folders: number } {
  const folders = services.folders.list().map((f) => f.path);
  const { files } = listProtected(folders, services.folders.ignorePatterns());
  return { ...deviceKeyUsage(files.map((f) => f.path)), folders: folders.length };
}

function printNewCode(ctx: CliContext, code: IssuedCode): void {
  const { out } = ctx;
  out.info(`New personal recovery code, for device key ${code.deviceKeyId} (write it down now):`);
  out.info('');
  out.info(`  ${code.code}`);
  out.info('');
  out.info(`Code key ID: ${code.keyId}. Earlier codes no longer restore the key that writes.`);
  if (code.sealedTo.length === 0)
    out.note(
      'Note: the escrow record is sealed to no organization recovery key; trust one with `coffer recovery trust`.',
    );
  for (const warning of code.warnings) out.note(`Warning: ${warning}`);
}

function rewrapOk(summary: RewrapSummary | null): boolean {
  return summary === null || summary.failed.length === 0;
}

export interface RestoreOptions {
  code?: string;
  key?: string;
  passphraseFile?: string;
  replace?: boolean;
}

/**
 * `coffer restore-device`: checks everything it can (the code or the key file, the record, this account's
 * keys) before it asks for a passphrase, and shows the restored key ID beside the device key IDs found in
 * the user's files, so a record for a key none of them uses stands out.
 */
export async function restoreDeviceAction(
  ctx: CliContext,
  escrow: string,
  options: RestoreOptions,
): Promise<void> {
  const { out } = ctx;
  if ((options.code === undefined) === (options.key === undefined)) {
    throw new UsageError('Give exactly one of --code CODE or --key FILE');
  }
  let code: Uint8Array | undefined;
  let secret: RestoreSecret | undefined;
  const services = await ctx.services();
  const { recovery, sodium } = services;
  try {
    let ref: RestoreRef;
    if (options.code !== undefined) {
      code = parseRecoveryCode(await readRecoveryCodeText(options.code));
      ref = { kind: 'code', codeKeyId: formatKeyId(recoveryCodeKeyId(sodium, code)) };
    } else {
      const publicKey = readRecoveryKeyFilePublicKey(options.key ?? '');
      ref = { kind: 'recovery', keyId: formatKeyId(recoveryKeyId(sodium, publicKey)) };
    }
    const replace = options.replace === true;
    const plan = await recovery.checkRestore(escrow, ref, { replace });
    const usage = usageInRegisteredFolders(services);
    out.info(printable(`Restoring device key ${plan.restoredKeyId} (named by ${path.basename(escrow)}).`));
    out.info(
      `Device keys in this account's files (${usage.files} files in ${usage.folders} protected folders): ${
        usage.byKey.map((k) => `${k.keyId} (${k.files})`).join(', ') || 'none'
      }`,
    );
    if (usage.files > 0 && !usage.byKey.some((k) => k.keyId === plan.restoredKeyId)) {
      out.note(
        `Note: no file in the protected folders uses ${plan.restoredKeyId}. If the user's files should, this record may be the wrong one.`,
      );
    }
    const current = plan.keys.current;
    out.info(
      current === null
        ? 'This account has no device key yet: a fresh one will write from now on.'
        : current.state === 'ok'
          ? plan.freshKey
            ? `Current device key ${current.keyId} will be kept read-only; a fresh key writes from now on.`
            : `Current device key ${current.keyId} keeps writing.`
          : current.state === 'damaged'
            ? 'The keychain entry "device-key" is damaged: it is kept aside, and a fresh key writes from now on.'
            : `Device key ${current.keyId} is missing from the keychain: a fresh key writes from now on.`,
    );
    out.info(`The restored key is kept read-only: it opens files, it never writes one.`);
    if (options.code !== undefined && code) secret = { kind: 'code', code };
    else {
      const passphrase = await readPassphrase(
        { passphraseFile: options.passphraseFile, env: ctx.env },
        { confirm: false, purpose: `for ${path.basename(options.key ?? '')}` },
      );
      secret = { kind: 'recovery', identity: await readRecoveryKeyFile(options.key ?? '', passphrase) };
    }
    const result = await recovery.restoreDevice(escrow, secret, {
      replace,
      rewrapRegistered: () => rotate(ctx),
    });
    await recordRestore(ctx, escrow, ref, result);
    out.info(`Restored device key ${result.restoredKeyId} (read-only).`);
    if (result.replacedKeyId) out.info(`Device key ${result.replacedKeyId} is read-only now.`);
    out.info(`Device key that writes: ${result.deviceKeyId}`);
    if (result.newCode) printNewCode(ctx, result.newCode);
    for (const warning of result.warnings) out.note(`Warning: ${warning}`);
    out.document({
      command: 'restore-device',
      ok: rewrapOk(result.rewrap),
      ...result,
      // What the helpdesk compared before the passphrase (headers of the protected folders' files).
      filesByDeviceKey: usage.byKey,
    });
    ctx.exitCode = rewrapOk(result.rewrap) ? EXIT_OK : EXIT_FAILED;
  } finally {
    if (code) sodium.zero(code);
    if (secret?.kind === 'recovery') sodium.zero(secret.identity.secretKey);
  }
}

export const registerDeviceCommands: CommandGroup = (program, ctx) => {
  const { out } = ctx;

  program
    .command('rotate-device-key')
    .description(
      'make a new device key: the old one is kept read-only, every file in protected folders is re-wrapped to the new one, and a new recovery code is shown',
    )
    .action(async () => {
      const { recovery } = await ctx.services();
      const result = await recovery.rotateDeviceKey({ rewrapRegistered: () => rotate(ctx) });
      const { events } = await ctx.services();
      await events.record('rotate-device-key', {
        previousKeyId: result.previousKeyId,
        deviceKeyId: result.deviceKeyId,
      });
      await events.record('recovery-code-made', {
        codeKeyId: result.newCode.keyId,
        deviceKeyId: result.newCode.deviceKeyId,
        sealedTo: result.newCode.sealedTo,
      });
      out.info(`Device key ${result.previousKeyId} is read-only now; new device key: ${result.deviceKeyId}`);
      printNewCode(ctx, result.newCode);
      for (const warning of result.warnings) out.note(`Warning: ${warning}`);
      out.document({ command: 'rotate-device-key', ok: rewrapOk(result.rewrap), ...result });
      ctx.exitCode = rewrapOk(result.rewrap) ? EXIT_OK : EXIT_FAILED;
    });

  program
    .command('device-keys')
    .description(
      'list this account’s device keys: the one that writes and the read-only ones, with how many files in protected folders use each',
    )
    .action(async () => {
      const services = await ctx.services();
      const keys = await services.deviceKeys.list();
      const usage = usageInRegisteredFolders(services);
      const filesOf = (keyId: string): number => usage.byKey.find((k) => k.keyId === keyId)?.files ?? 0;
      const current = keys.current ? { ...keys.current, files: filesOf(keys.current.keyId) } : null;
      const readOnly = keys.readOnly.map((k) => ({ ...k, files: filesOf(k.keyId) }));
      const state = (s: string): string => (s === 'ok' ? '' : ` [${s.toUpperCase()}]`);
      out.info(
        current
          ? `Writes:    ${current.keyId}${state(current.state)}  (${current.files} files)`
          : 'Writes:    none yet (`coffer init` makes one)',
      );
      for (const k of readOnly) out.info(`Read-only: ${k.keyId}${state(k.state)}  (${k.files} files)`);
      const known = new Set([current?.keyId, ...readOnly.map((k) => k.keyId)]);
      const unknown = usage.byKey.filter((k) => !known.has(k.keyId));
      for (const k of unknown) out.info(`Not here:  ${k.keyId}  (${k.files} files; restore or rekey them)`);
      if (usage.unreadable) out.note(`${usage.unreadable} file headers could not be read.`);
      const ok = current?.state === 'ok' && readOnly.every((k) => k.state === 'ok' || k.files === 0);
      out.document({
        command: 'device-keys',
        ok,
        current,
        readOnly,
        notHere: unknown,
        files: usage.files,
        unreadable: usage.unreadable,
      });
      ctx.exitCode = ok ? EXIT_OK : EXIT_FAILED;
    });
};
