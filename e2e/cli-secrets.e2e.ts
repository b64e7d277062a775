/**
 * Issue 9 item 7 "Secrets hygiene", through the real `coffer` CLI, a real Secret Service and real child
 * processes: the passphrase given in COFFER_PASSPHRASE reaches no process Coffer starts; test-only
 * switches are ignored by an installed build.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptFd } from '../crypto/file.js';
import { defaultBackend } from '../crypto/sodium.js';
import { ESCROW_COPY_NAME } from '../electron/services/keys/folder-escrow.js';
import { parsePublicKey } from '../electron/services/keys/public-key-text.js';
import { Laptop, NO_KEYRING, ROOT, sha256, tempDir, type RunResult } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI secrets-hygiene scenarios: ${NO_KEYRING}`);

const PASSPHRASE = 'correct horse battery staple';

/**
 * A preload every Node process started with NODE_OPTIONS runs (the CLI and every `node` child it starts,
 * such as the keychain helper): it records whether COFFER_PASSPHRASE is in its environment, and, at exit,
 * whether it is still in the process's own environment (the one worker threads and children inherit).
 */
const SPY = `
import fs from 'node:fs';
const log = (event) => fs.appendFileSync(process.env.COFFER_SPY_LOG, JSON.stringify({
  event, pid: process.pid, ppid: process.ppid, argv: process.argv.slice(1, 3),
  sees: process.env.COFFER_PASSPHRASE !== undefined,
}) + '\\n');
log('start');
process.on('exit', () => log('exit'));
`;

interface SpyRecord {
  event: 'start' | 'exit';
  pid: number;
  ppid: number;
  argv: string[];
  sees: boolean;
}

describe.skipIf(NO_KEYRING !== null)('COFFER_PASSPHRASE stays in the process that reads it', () => {
  const work = tempDir('secrets');
  const helpdesk = new Laptop('secrets-helpdesk');
  const laptop = new Laptop('secrets-laptop');
  const orgKey = path.join(work, 'org.key');
  const spyFile = path.join(work, 'spy.mjs');

  beforeAll(() => {
    fs.writeFileSync(spyFile, SPY);
  });
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  function spied(log: string): Record<string, string> {
    return {
      COFFER_PASSPHRASE: PASSPHRASE,
      COFFER_SPY_LOG: log,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${spyFile}`.trim(),
    };
  }

  function records(log: string): SpyRecord[] {
    return fs
      .readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as SpyRecord);
  }

  it('is honoured once, and no child process (keychain helper, …) nor the environment passed on holds it', async () => {
    // The passphrase still works from the environment: keygen seals with it, recover opens with it.
    const keygenLog = path.join(work, 'keygen.log');
    const keygen = await helpdesk.json<{ publicKey: string }>(
      ['recovery', 'keygen', '--out', orgKey],
      spied(keygenLog),
    );
    expect(keygen.result.code, keygen.result.stderr).toBe(0);
    expect((await laptop.run(['recovery', 'trust', keygen.doc.publicKey])).code).toBe(0);

    const file = path.join(work, 'customer.txt');
    fs.writeFileSync(file, 'customer data\n');
    const before = sha256(file);
    const encryptLog = path.join(work, 'encrypt.log');
    const encrypt = await laptop.run(['encrypt', file], spied(encryptLog));
    expect(encrypt.code, encrypt.stderr).toBe(0);

    const recoverLog = path.join(work, 'recover.log');
    const outDir = path.join(work, 'restored');
    const recover = await helpdesk.run(
      ['recover', '--key', orgKey, '--out', outDir, `${file}.coffer`],
      spied(recoverLog),
    );
    expect(recover.code, recover.stderr).toBe(0);
    expect(sha256(path.join(outDir, 'customer.txt'))).toBe(before);

    for (const log of [keygenLog, encryptLog, recoverLog]) {
      const all = records(log);
      const cli = all.find(
        (r) => r.event === 'start' && r.argv[1] !== undefined && r.argv[0]?.endsWith('main.ts'),
      );
      expect(cli, `the CLI itself ran the spy (${log})`).toBeDefined();
      // The CLI was started with it (that is how the helpdesk passes it) ...
      expect(cli?.sees).toBe(true);
      // ... but by its exit its own environment, the one workers and children inherit, no longer has it.
      const exit = all.find((r) => r.event === 'exit' && r.pid === cli?.pid);
      expect(exit?.sees, `the CLI's environment at exit (${log})`).toBe(false);
      const children = all.filter((r) => r.event === 'start' && r.pid !== cli?.pid);
      expect(children.filter((r) => r.sees)).toEqual([]);
    }
    // The encrypt run talked to the keychain through its helper child: a real child was watched.
    const helpers = records(encryptLog).filter((r) => r.event === 'start' && r.argv[0]?.includes('keyring'));
    expect(helpers.length).toBeGreaterThan(0);
  });
});

describe('COFFER_TEST_INSECURE_KDF is honoured from a checkout only', () => {
  const work = tempDir('kdf');
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  /**
   * Runs `coffer recovery keygen` from `root`. An installed app runs the CLI from inside app.asar: the same
   * sources, seen through a `resources/app.asar` link (paths kept as given, as Electron's asar paths are).
   */
  async function keygen(root: string, name: string): Promise<{ opslimit: number; memlimit: number }> {
    const run = promisify(execFile);
    const { stdout } = await run(
      process.execPath,
      [
        '--preserve-symlinks',
        '--preserve-symlinks-main',
        '--import',
        'tsx',
        path.join(root, 'cli/main.ts'),
        '--json',
        'recovery',
        'keygen',
        '--out',
        path.join(work, name),
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          COFFER_HOME: path.join(work, 'home'),
          COFFER_PASSPHRASE: PASSPHRASE,
          COFFER_TEST_INSECURE_KDF: '1',
        },
      },
    );
    return (JSON.parse(stdout) as { kdf: { opslimit: number; memlimit: number } }).kdf;
  }

  it('a checkout uses the minimal test limits; an installed build keeps MODERATE (FORMAT.md §11.1)', async () => {
    const fromCheckout = await keygen(ROOT, 'checkout.key');
    expect(fromCheckout).toMatchObject({ opslimit: 1, memlimit: 8192 });

    const packaged = path.join(work, 'Coffer', 'resources', 'app.asar');
    fs.mkdirSync(path.dirname(packaged), { recursive: true });
    fs.symlinkSync(ROOT, packaged, 'dir');
    const installed = await keygen(packaged, 'installed.key');
    // libsodium's crypto_pwhash_OPSLIMIT_MODERATE / MEMLIMIT_MODERATE: 3 passes, 256 MiB.
    expect(installed).toMatchObject({ opslimit: 3, memlimit: 256 * 1024 * 1024 });
    // The file says so too: bytes 9..16 are opslimit and memlimit, little-endian (FORMAT.md §11.1).
    const header = fs.readFileSync(path.join(work, 'installed.key'));
    expect([header.readUInt32LE(9), header.readUInt32LE(13)]).toEqual([3, 256 * 1024 * 1024]);
  });
});

/** Characters that must never reach a terminal from file metadata (electron/shared/printable.ts). */
const RAW_CONTROLS =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

describe.skipIf(NO_KEYRING !== null)(
  'helpdesk output never prints control characters from file names',
  () => {
    const work = tempDir('names');
    const helpdesk = new Laptop('names-helpdesk');
    const laptop = new Laptop('names-laptop');
    const orgKey = path.join(work, 'org.key');
    // A window-title escape, an erase-line, a forged second line, and a right-to-left override.
    const HOSTILE = 'x\u001b]0;owned\u0007\u001b[2K\r\nOK: all files restored\u202efdp.exe';
    const pass = { COFFER_PASSPHRASE: PASSPHRASE };

    afterAll(() => {
      fs.rmSync(work, { recursive: true, force: true });
    });

    function shown(result: { stdout: string; stderr: string }): string {
      const text = result.stdout + result.stderr;
      // Lines end in \n, which is fine; nothing else may be raw.
      expect(text).not.toMatch(RAW_CONTROLS);
      expect(text.split('\n').some((l) => l.startsWith('OK: all files restored'))).toBe(false);
      return text;
    }

    it('encrypt, verify, inspect, decrypt, recover, rekey and failures escape names from metadata and disk', async () => {
      const keygen = await helpdesk.json<{ publicKey: string }>(
        ['recovery', 'keygen', '--out', orgKey],
        pass,
      );
      expect(keygen.result.code, keygen.result.stderr).toBe(0);
      expect((await laptop.run(['recovery', 'trust', keygen.doc.publicKey])).code).toBe(0);

      const dir = path.join(work, 'in');
      fs.mkdirSync(dir);
      const hostile = path.join(dir, HOSTILE);
      fs.writeFileSync(hostile, 'customer data\n');
      const encrypt = await laptop.run(['encrypt', '--keep', hostile]);
      expect(encrypt.code, encrypt.stderr).toBe(0);
      expect(shown(encrypt)).toContain('\\u{1B}]0;owned\\u{7}');
      // The name now lives only in the metadata: the file on disk has a plain name.
      const plain = path.join(dir, 'plain.coffer');
      fs.copyFileSync(`${hostile}.coffer`, plain);

      const verify = await laptop.run(['verify', plain]);
      expect(verify.code, verify.stderr).toBe(0);
      expect(shown(verify)).toContain('\\u{202E}fdp.exe');
      const inspect = await laptop.run(['inspect', `${hostile}.coffer`]);
      expect(inspect.code, inspect.stderr).toBe(0);
      expect(shown(inspect)).toContain('\\u{202E}fdp.exe.coffer');

      const decryptDir = path.join(work, 'decrypted');
      fs.mkdirSync(decryptDir);
      const decrypt = await laptop.run(['decrypt', '-o', decryptDir, plain]);
      expect(decrypt.code, decrypt.stderr).toBe(0);
      expect(shown(decrypt)).toContain('\\u{D}\\u{A}OK: all files restored');
      // Only the display is escaped: the restored file has its real name and bytes.
      expect(fs.readFileSync(path.join(decryptDir, HOSTILE), 'utf8')).toBe('customer data\n');

      const recoverDir = path.join(work, 'recovered');
      const recover = await helpdesk.run(['recover', '--key', orgKey, '--out', recoverDir, plain], pass);
      expect(recover.code, recover.stderr).toBe(0);
      expect(shown(recover)).toContain('\\u{202E}');
      expect(fs.readFileSync(path.join(recoverDir, HOSTILE), 'utf8')).toBe('customer data\n');

      // A failure names the file too: recovering again over the same name is refused, and says which.
      const again = await helpdesk.run(
        ['recover', '--key', orgKey, '--out', recoverDir, `${hostile}.coffer`],
        pass,
      );
      expect(again.code).toBe(1);
      expect(shown(again)).toContain('\\u{1B}');

      const rekey = await laptop.run(['rekey', '--key', orgKey, `${hostile}.coffer`], pass);
      expect(rekey.code, rekey.stderr).toBe(0);
      expect(shown(rekey)).toContain('\\u{1B}');
    }, 180_000);
  },
);

/** Runs the CLI as `laptop` under a given umask, as a login shell would have set it. */
function runWithUmask(
  laptop: Laptop,
  umask: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  const started = performance.now();
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      `umask ${umask} && exec "$0" "$@"`,
      process.execPath,
      '--import',
      'tsx',
      path.join(ROOT, 'cli/main.ts'),
      ...args,
    ],
    { cwd: ROOT, env: { ...laptop.env(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

describe.skipIf(NO_KEYRING !== null)('restoring a file', () => {
  const work = tempDir('restore');
  const helpdesk = new Laptop('restore-helpdesk');
  const laptop = new Laptop('restore-laptop');
  const orgKey = path.join(work, 'org.key');
  const pass = { COFFER_PASSPHRASE: PASSPHRASE };
  let publicKey = '';

  beforeAll(async () => {
    const keygen = await helpdesk.json<{ publicKey: string }>(['recovery', 'keygen', '--out', orgKey], pass);
    expect(keygen.result.code, keygen.result.stderr).toBe(0);
    publicKey = keygen.doc.publicKey;
    expect((await laptop.run(['recovery', 'trust', publicKey])).code).toBe(0);
  });
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  const modeOf = (file: string): number => fs.statSync(file).mode & 0o7777;

  it('gets the stored mode masked by the umask, never setuid/setgid/sticky (decrypt and recover)', async () => {
    const dir = path.join(work, 'modes');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'tool.sh');
    fs.writeFileSync(file, '#!/bin/sh\necho customer\n');
    fs.chmodSync(file, 0o6777); // setuid + setgid + world-writable, as a hostile or careless source had it
    const encrypt = await laptop.run(['encrypt', file]);
    expect(encrypt.code, encrypt.stderr).toBe(0);

    const out077 = path.join(work, 'out077');
    fs.mkdirSync(out077);
    const decrypt = await runWithUmask(laptop, '077', ['decrypt', '-o', out077, `${file}.coffer`]);
    expect(decrypt.code, decrypt.stderr).toBe(0);
    expect(modeOf(path.join(out077, 'tool.sh')).toString(8)).toBe((0o700).toString(8));

    const out022 = path.join(work, 'out022');
    const recover = await runWithUmask(
      helpdesk,
      '022',
      ['recover', '--key', orgKey, '--out', out022, `${file}.coffer`],
      pass,
    );
    expect(recover.code, recover.stderr).toBe(0);
    expect(modeOf(path.join(out022, 'tool.sh')).toString(8)).toBe((0o755).toString(8));
    expect(fs.readFileSync(path.join(out022, 'tool.sh'), 'utf8')).toBe('#!/bin/sh\necho customer\n');
  });

  it('recover --force never replaces a .coffer file or an escrow copy, whatever name the metadata gives', async () => {
    const sodium = await defaultBackend();
    const folder = path.join(work, 'case');
    fs.mkdirSync(folder);
    // The user's protected file and the folder's escrow copy.
    const victim = path.join(folder, 'contract.docx');
    fs.writeFileSync(victim, 'the signed contract\n');
    expect((await laptop.run(['encrypt', victim])).code).toBe(0);
    const escrow = path.join(folder, ESCROW_COPY_NAME);
    fs.writeFileSync(escrow, '{"escrow":"record"}\n');
    const before = [sha256(`${victim}.coffer`), sha256(escrow)];

    // Files anyone who knows the org public key can make, whose stored names are those two.
    const recipients = [{ kind: 'recovery' as const, publicKey: parsePublicKey(sodium, publicKey) }];
    const hostile: string[] = [];
    for (const [i, name] of ['contract.docx.coffer', ESCROW_COPY_NAME, 'CONTRACT.DOCX.COFFER'].entries()) {
      const plain = path.join(work, `payload-${i}`);
      fs.writeFileSync(plain, 'attacker bytes\n');
      const out = path.join(folder, `invoice-${i}.coffer`);
      const inFd = fs.openSync(plain, 'r');
      const outFd = fs.openSync(out, 'wx');
      try {
        encryptFd(sodium, inFd, outFd, { recipients, name });
      } finally {
        fs.closeSync(inFd);
        fs.closeSync(outFd);
      }
      hostile.push(out);
    }

    for (const file of hostile) {
      const { result, doc } = await helpdesk.json<{ failures: { code: string }[] }>(
        ['recover', '--force', '--key', orgKey, file],
        pass,
      );
      expect(result.code, result.stderr).toBe(1);
      expect(doc.failures.map((f) => f.code)).toEqual(['PROTECTED_NAME']);
    }
    expect([sha256(`${victim}.coffer`), sha256(escrow)]).toEqual(before);
    // Nothing else was left: no temp, no plaintext.
    expect(fs.readdirSync(folder).sort()).toEqual(
      [
        ESCROW_COPY_NAME,
        'contract.docx.coffer',
        'invoice-0.coffer',
        'invoice-1.coffer',
        'invoice-2.coffer',
      ].sort(),
    );
    // The user's file still opens with its key.
    const verify = await laptop.run(['verify', `${victim}.coffer`]);
    expect(verify.code, verify.stderr).toBe(0);
  });
});
