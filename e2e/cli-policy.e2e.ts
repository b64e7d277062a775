/**
 * Issue #6 through the real `coffer` CLI, a real Secret Service and a real policy file (COFFER_POLICY_FILE):
 * the policy's recovery keys go into every file and escrow record, and what it forbids is refused with
 * nothing touched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Laptop, NO_KEYRING, sha256, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI policy scenarios: ${NO_KEYRING}`);

const pass = { COFFER_PASSPHRASE: 'correct horse battery staple' };

interface Failure {
  path?: string;
  code: string;
  hint: string;
}
interface Doc {
  ok: boolean;
  failures?: Failure[];
}
interface InspectDoc extends Doc {
  results: { path: string; stanzas: { kind: string; keyId: string }[] }[];
}

const codes = (doc: Doc): string[] => (doc.failures ?? []).map((f) => f.code);

/** Every name in `dir`, recursively: to prove that a refused command wrote and removed nothing. */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe.skipIf(NO_KEYRING !== null)('organization policy, enforced by the CLI', () => {
  const helpdesk = new Laptop('policy-helpdesk');
  const work = tempDir('policy-work');
  const policyFile = path.join(work, 'policy.json');
  const orgKey = path.join(helpdesk.home, 'org.key');
  const otherKey = path.join(helpdesk.home, 'other.key');
  let orgPublic = '';
  let orgKeyId = '';
  let otherPublic = '';
  let otherKeyId = '';
  const laptops: Laptop[] = [helpdesk];

  /** A laptop whose policy is `policy` (written to its own file). */
  function laptopWith(name: string, policy: unknown): Laptop {
    const file = path.join(work, `${name}.policy.json`);
    fs.writeFileSync(file, typeof policy === 'string' ? policy : JSON.stringify(policy));
    const laptop = new Laptop(name, { COFFER_POLICY_FILE: file });
    laptops.push(laptop);
    return laptop;
  }

  function plainFile(name: string, content = `content of ${name}\n`): string {
    const dir = tempDir(`policy-${name}`);
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return file;
  }

  beforeAll(async () => {
    const org = await helpdesk.json<{ publicKey: string; keyId: string }>(
      ['recovery', 'keygen', '--out', orgKey],
      pass,
    );
    expect(org.result.code, org.result.stderr).toBe(0);
    ({ publicKey: orgPublic, keyId: orgKeyId } = org.doc);
    const other = await helpdesk.json<{ publicKey: string; keyId: string }>(
      ['recovery', 'keygen', '--out', otherKey],
      pass,
    );
    ({ publicKey: otherPublic, keyId: otherKeyId } = other.doc);
    fs.writeFileSync(policyFile, '{}');
  });

  afterAll(() => {
    for (const d of [work, ...laptops.map((l) => l.home)]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('files and folders written under a policy key carry its recovery stanza, once, and the helpdesk key opens them', async () => {
    const laptop = laptopWith('keys', {
      recoveryPublicKeys: [orgPublic],
      requireRecoveryKey: true,
      allowUserRecoveryKeys: true,
    });
    // The user also trusts the same key and another one (allowed): one stanza each, no duplicate.
    expect((await laptop.run(['recovery', 'trust', orgPublic])).code).toBe(0);
    expect((await laptop.run(['recovery', 'trust', otherPublic])).code).toBe(0);
    const init = await laptop.json<{ deviceKeyId: string; policyRecoveryKeys: string[] }>(['init']);
    expect(init.doc.policyRecoveryKeys).toEqual([orgKeyId]);

    const file = plainFile('quote.docx');
    const hash = sha256(file);
    const enc = await laptop.json<Doc>(['encrypt', file]);
    expect(enc.result.code, enc.result.stderr).toBe(0);
    const inspect = await laptop.json<InspectDoc>(['inspect', file + '.coffer']);
    const stanzas = inspect.doc.results[0]?.stanzas ?? [];
    expect(stanzas.map((s) => `${s.kind} ${s.keyId}`).sort()).toEqual(
      [`device ${init.doc.deviceKeyId}`, `recovery ${orgKeyId}`, `recovery ${otherKeyId}`].sort(),
    );

    // A file protected through a folder too.
    const dir = fs.realpathSync(tempDir('policy-folder'));
    fs.writeFileSync(path.join(dir, 'a.txt'), 'in a protected folder\n');
    expect((await laptop.run(['protect', dir])).code).toBe(0);
    const inFolder = await laptop.json<InspectDoc>(['inspect', path.join(dir, 'a.txt.coffer')]);
    expect(inFolder.doc.results[0]?.stanzas.map((s) => s.keyId)).toContain(orgKeyId);

    // The escrow record is sealed to the policy's key as well.
    const code = await laptop.json<{ sealedTo: string[] }>(['recovery', 'code']);
    expect(code.doc.sealedTo.sort()).toEqual([orgKeyId, otherKeyId].sort());

    // The helpdesk opens the file with the organization key alone, on its own machine.
    const out = tempDir('policy-recovered');
    const recover = await helpdesk.json<Doc>(
      ['recover', '--key', orgKey, '--out', out, file + '.coffer'],
      pass,
    );
    expect(recover.result.code, recover.result.stderr).toBe(0);
    expect(sha256(path.join(out, 'quote.docx'))).toBe(hash);
  });

  it('a required recovery key that is not deployed: NO_RECOVERY_KEY, plaintext untouched, folder not registered', async () => {
    const laptop = laptopWith('required', { requireRecoveryKey: true });
    // A key the user trusts does not satisfy the organization's requirement.
    expect((await laptop.run(['recovery', 'trust', otherPublic])).code).toBe(0);
    const file = plainFile('payroll.xlsx');
    const hash = sha256(file);
    const before = listing(path.dirname(file));
    const enc = await laptop.json<Doc>(['encrypt', file]);
    expect(enc.result.code).toBe(1);
    expect(codes(enc.doc)).toEqual(['NO_RECOVERY_KEY']);
    expect(enc.doc.failures?.[0]?.hint).toMatch(/Ask IT/);
    expect(sha256(file)).toBe(hash);
    expect(listing(path.dirname(file))).toEqual(before);

    const dir = fs.realpathSync(tempDir('policy-required'));
    fs.writeFileSync(path.join(dir, 'b.txt'), 'stays in the clear\n');
    const protect = await laptop.run(['protect', dir]);
    expect(protect.code).toBe(1);
    expect(protect.stderr).toContain(`${dir}: NO_RECOVERY_KEY:`);
    expect(protect.stderr.trim().split('\n')).toHaveLength(1);
    expect(listing(dir)).toEqual(['b.txt']);
    const status = await laptop.json<{ folders: unknown[] }>(['status']);
    expect(status.doc.folders).toEqual([]);
  });

  it('allowUnprotect false: in-place decrypt and unprotect are POLICY_FORBIDS; a decrypted copy is allowed', async () => {
    const laptop = laptopWith('no-unprotect', { recoveryPublicKeys: [orgPublic], allowUnprotect: false });
    const file = plainFile('contract.pdf');
    const hash = sha256(file);
    expect((await laptop.run(['encrypt', file])).code).toBe(0);
    const dec = await laptop.json<Doc>(['decrypt', file + '.coffer']);
    expect(dec.result.code).toBe(1);
    expect(codes(dec.doc)).toEqual(['POLICY_FORBIDS']);
    expect(fs.existsSync(file)).toBe(false);

    const copyDir = tempDir('policy-copy');
    const copy = await laptop.run(['decrypt', '-o', copyDir, file + '.coffer']);
    expect(copy.code, copy.stderr).toBe(0);
    expect(sha256(path.join(copyDir, 'contract.pdf'))).toBe(hash);

    const dir = fs.realpathSync(tempDir('policy-unprotect'));
    fs.writeFileSync(path.join(dir, 'c.txt'), 'protected\n');
    expect((await laptop.run(['protect', dir])).code).toBe(0);
    const unprotect = await laptop.run(['unprotect', dir]);
    expect(unprotect.code).toBe(1);
    expect(unprotect.stderr).toContain('POLICY_FORBIDS');
    expect(listing(dir)).toEqual(['c.txt.coffer']);

    // The helpdesk's recover beside the files is in-place decryption too, on this machine.
    const recover = await laptop.json<Doc>(['recover', '--key', orgKey, file + '.coffer'], pass);
    expect(codes(recover.doc)).toEqual(['POLICY_FORBIDS']);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('allowDecryptCopy false: decrypt -o and recover --out are POLICY_FORBIDS', async () => {
    const laptop = laptopWith('no-copy', { recoveryPublicKeys: [orgPublic], allowDecryptCopy: false });
    const file = plainFile('plans.txt');
    expect((await laptop.run(['encrypt', file])).code).toBe(0);
    const out = tempDir('policy-nocopy');
    const dec = await laptop.json<Doc>(['decrypt', '-o', out, file + '.coffer']);
    expect(codes(dec.doc)).toEqual(['POLICY_FORBIDS']);
    const recover = await laptop.json<Doc>(
      ['recover', '--key', orgKey, '--out', out, file + '.coffer'],
      pass,
    );
    expect(codes(recover.doc)).toEqual(['POLICY_FORBIDS']);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('a mandatory folder cannot be unprotected', async () => {
    const dir = fs.realpathSync(tempDir('policy-mandatory'));
    const laptop = laptopWith('mandatory', { recoveryPublicKeys: [orgPublic], mandatoryFolders: [dir] });
    fs.writeFileSync(path.join(dir, 'd.txt'), 'must stay protected\n');
    const before = await laptop.json<{ mandatoryNotProtected: string[] }>(['status']);
    expect(before.doc.mandatoryNotProtected).toEqual([dir]);
    expect((await laptop.run(['protect', dir])).code).toBe(0);
    const after = await laptop.json<{ mandatoryNotProtected: string[]; folders: { mandatory: boolean }[] }>([
      'status',
    ]);
    expect(after.doc.mandatoryNotProtected).toEqual([]);
    expect(after.doc.folders.map((f) => f.mandatory)).toEqual([true]);
    const unprotect = await laptop.json<Doc>(['unprotect', dir]);
    expect(codes(unprotect.doc)).toEqual(['POLICY_FORBIDS']);
    expect(listing(dir)).toEqual(['d.txt.coffer']);
  });

  it('an invalid policy: POLICY_INVALID for writes and decrypts, and `coffer policy` says what is wrong', async () => {
    const laptop = laptopWith('invalid', { allowUnprotect: 'maybe', autoLockMinutes: 0 });
    const file = plainFile('secret.txt');
    const hash = sha256(file);
    const enc = await laptop.json<Doc>(['encrypt', file]);
    expect(enc.result.code).toBe(1);
    expect(codes(enc.doc)).toEqual(['POLICY_INVALID']);
    expect(enc.doc.failures?.[0]?.hint).toMatch(/coffer policy/);
    expect(sha256(file)).toBe(hash);
    expect(listing(path.dirname(file))).toEqual(['secret.txt']);

    const human = await laptop.run(['policy']);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('State: INVALID');
    expect(human.stdout).toMatch(/allowUnprotect: must be true or false/);
    expect(human.stdout).toMatch(/autoLockMinutes: /);
    expect(human.stderr).toMatch(/POLICY_INVALID: the policy is invalid \(2 problems\)/);
    const json = await laptop.json<{ status: string; problems: string[]; origin: string }>(['policy']);
    expect(json.doc.status).toBe('invalid');
    expect(json.doc.origin).toBe(path.join(work, 'invalid.policy.json'));
    expect(json.doc.problems).toHaveLength(2);

    // A mistyped recovery key (the checksum catches it) is reported by name.
    const badKey = laptopWith('bad-key', { recoveryPublicKeys: [orgPublic.slice(0, -2)] });
    const badKeyPolicy = await badKey.run(['policy']);
    expect(badKeyPolicy.stdout).toMatch(/recoveryPublicKeys\.0: /);
    expect(codes((await badKey.json<Doc>(['encrypt', plainFile('x.txt')])).doc)).toEqual(['POLICY_INVALID']);

    const broken = laptopWith('not-json', '{ "allowUnprotect": fal');
    const brokenPolicy = await broken.json<{ status: string; problems: string[] }>(['policy']);
    expect(brokenPolicy.doc.status).toBe('invalid');
    expect(brokenPolicy.doc.problems[0]).toMatch(/not valid JSON/);
  });

  it('`coffer policy` lists the managed settings of a valid policy, and says when there is none', async () => {
    const laptop = laptopWith('valid', { recoveryPublicKeys: [orgPublic], allowUnprotect: false });
    const json = await laptop.json<{ status: string; managed: { key: string; value: unknown }[] }>([
      'policy',
    ]);
    expect(json.result.code).toBe(0);
    expect(json.doc.status).toBe('active');
    expect(json.doc.managed).toEqual([
      { key: 'recoveryPublicKeys', value: [orgKeyId] },
      { key: 'allowUnprotect', value: false },
    ]);
    expect(json.doc).not.toHaveProperty('warnings');

    // Staging the requirement before the key is valid, but it stops all encryption: `coffer policy` warns.
    const staged = laptopWith('staged', { requireRecoveryKey: true });
    const stagedHuman = await staged.run(['policy']);
    expect(stagedHuman.code).toBe(0);
    expect(stagedHuman.stdout).toContain('State: valid, applied');
    expect(stagedHuman.stdout).toMatch(/Warning: requireRecoveryKey is on but no recoveryPublicKeys/);
    const stagedJson = await staged.json<{ warnings: string[] }>(['policy']);
    expect(stagedJson.doc.warnings).toHaveLength(1);
    expect(stagedJson.doc.warnings[0]).toMatch(/NO_RECOVERY_KEY/);

    const none = new Laptop('no-policy', { COFFER_POLICY_FILE: path.join(work, 'absent.json') });
    laptops.push(none);
    const human = await none.run(['policy']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('State: no policy');
  });
});
