/**
 * Issue 9 item 1 through the real `coffer` CLI and a real Secret Service: whoever can write the app-data
 * folder (but not the keychain) edits the state files the way they are stored, and Coffer must refuse
 * them (STATE_TAMPERED) instead of sealing anything to an intruder's key or leaving files in the clear.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OsKeyStore } from '../electron/services/keys/key-store.js';
import { Laptop, NO_KEYRING, sha256, tempDir } from './cli-harness.js';

if (NO_KEYRING) console.warn(`SKIPPED CLI state scenarios: ${NO_KEYRING}`);

const pass = { COFFER_PASSPHRASE: 'correct horse battery staple' };

interface Failures {
  ok: boolean;
  failures?: { code: string; message: string; hint: string }[];
}
interface InspectDoc {
  results: { stanzas: { kind: string; keyId: string }[] }[];
}

type Json = Record<string, unknown>;

/**
 * Edits a state file as an attacker without the keychain can: the JSON inside the envelope's body when it
 * has one (the MAC is left as it was), else the plain JSON itself.
 */
function tamper(file: string, change: (doc: Json) => Json): void {
  const outer = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  if (typeof outer.body === 'string') {
    outer.body = JSON.stringify(change(JSON.parse(outer.body) as Json), null, 2) + '\n';
    fs.writeFileSync(file, JSON.stringify(outer, null, 2) + '\n');
  } else {
    fs.writeFileSync(file, JSON.stringify(change(outer), null, 2) + '\n');
  }
}

/** The state file's content, whether signed or not. */
function content(file: string): Json {
  const outer = JSON.parse(fs.readFileSync(file, 'utf8')) as Json;
  return typeof outer.body === 'string' ? (JSON.parse(outer.body) as Json) : outer;
}

function codes(doc: Failures): string[] {
  return (doc.failures ?? []).map((f) => f.code);
}

// Each scenario runs ten or more CLI processes, each with its own keychain calls, on a shared machine.
describe.skipIf(NO_KEYRING !== null)(
  'state files that decide who can open future files',
  { timeout: 240_000 },
  () => {
    const helpdesk = new Laptop('state-helpdesk');
    const laptops: Laptop[] = [helpdesk];
    const dirs: string[] = [];
    let orgLine = '';
    let orgId = '';
    let evilLine = '';
    let evilId = '';

    function laptop(name: string, env: Record<string, string> = {}): Laptop {
      const l = new Laptop(name, env);
      laptops.push(l);
      return l;
    }

    function work(label: string): string {
      const dir = fs.realpathSync(tempDir(label));
      dirs.push(dir);
      return dir;
    }

    beforeAll(async () => {
      const org = await helpdesk.json<{ publicKey: string; keyId: string }>(
        ['recovery', 'keygen', '--out', path.join(helpdesk.home, 'org.key')],
        pass,
      );
      expect(org.result.code, org.result.stderr).toBe(0);
      ({ publicKey: orgLine, keyId: orgId } = org.doc);
      const evil = await helpdesk.json<{ publicKey: string; keyId: string }>(
        ['recovery', 'keygen', '--out', path.join(helpdesk.home, 'evil.key')],
        pass,
      );
      expect(evil.result.code, evil.result.stderr).toBe(0);
      ({ publicKey: evilLine, keyId: evilId } = evil.doc);
    });

    afterAll(() => {
      for (const d of [...dirs, ...laptops.map((l) => l.home)])
        fs.rmSync(d, { recursive: true, force: true });
    });

    /** A laptop that trusts the org key, has a device key and a recovery code. */
    async function provisioned(name: string): Promise<Laptop> {
      const l = laptop(name);
      expect((await l.run(['recovery', 'trust', orgLine, '--label', 'ACME helpdesk'])).code).toBe(0);
      expect((await l.run(['init'])).code).toBe(0);
      expect((await l.run(['recovery', 'code'])).code).toBe(0);
      return l;
    }

    /** After tampering: no new code or file is sealed to the intruder, and the plaintext stays as it was. */
    async function refusesToSealTo(l: Laptop, intruderId: string): Promise<void> {
      const escrowBefore = fs.readFileSync(path.join(l.home, 'escrow.json'), 'utf8');
      const code = await l.json<Failures>(['recovery', 'code']);
      expect(code.result.code).toBe(1);
      expect(codes(code.doc)).toEqual(['STATE_TAMPERED']);
      expect(code.doc.failures?.[0]?.message).toContain('settings.json');
      expect(code.doc.failures?.[0]?.hint).toContain('coffer state confirm');
      expect(fs.readFileSync(path.join(l.home, 'escrow.json'), 'utf8')).toBe(escrowBefore);
      expect(JSON.stringify(content(path.join(l.home, 'escrow.json')))).not.toContain(intruderId);

      const dir = work(`${l.name}-files`);
      const file = path.join(dir, 'customers.csv');
      fs.writeFileSync(file, 'name,iban\n');
      const hash = sha256(file);
      const enc = await l.json<Failures>(['encrypt', file]);
      expect(enc.result.code).toBe(1);
      expect(codes(enc.doc)).toEqual(['STATE_TAMPERED']);
      expect(fs.readdirSync(dir)).toEqual(['customers.csv']);
      expect(sha256(file)).toBe(hash);
    }

    it('settings swap (public key replaced, key ID and label kept): refused, nothing sealed to the intruder', async () => {
      const a = await provisioned('swap');
      const settings = path.join(a.home, 'settings.json');
      tamper(settings, (doc) => ({
        ...doc,
        trustedRecoveryKeys: (doc.trustedRecoveryKeys as Json[]).map((k) => ({ ...k, publicKey: evilLine })),
      }));
      await refusesToSealTo(a, evilId);

      // The views show the key's own ID, never the stored one, and say the file is not trusted.
      const show = await a.json<{
        tampered: number;
        files: { kind: string; status: string; lines: string[] }[];
      }>(['state', 'show']);
      expect(show.result.code).toBe(0);
      expect(show.doc.tampered).toBe(1);
      const view = show.doc.files.find((f) => f.kind === 'settings');
      expect(view?.status).toBe('tampered');
      expect(view?.lines.join('\n')).toContain(evilId);
    });

    it('settings append (a second key added): refused, nothing sealed to the intruder', async () => {
      const a = await provisioned('append');
      tamper(path.join(a.home, 'settings.json'), (doc) => ({
        ...doc,
        trustedRecoveryKeys: [
          ...(doc.trustedRecoveryKeys as Json[]),
          { publicKey: evilLine, keyId: orgId, addedAt: new Date().toISOString(), label: 'ACME helpdesk' },
        ],
      }));
      await refusesToSealTo(a, evilId);
      const list = await a.json<Failures>(['recovery', 'list']);
      expect(codes(list.doc)).toEqual(['STATE_TAMPERED']);
    });

    it('settings rolled back to a genuine older copy (before an untrust): refused, nothing sealed to the retired key', async () => {
      const a = await provisioned('rollback');
      const settings = path.join(a.home, 'settings.json');
      expect((await a.run(['recovery', 'trust', evilLine])).code).toBe(0);
      const withEvil = fs.readFileSync(settings, 'utf8');
      expect((await a.run(['recovery', 'untrust', evilId])).code).toBe(0);
      fs.writeFileSync(settings, withEvil);
      await refusesToSealTo(a, evilId);
      const list = await a.json<Failures>(['recovery', 'list']);
      expect(list.doc.failures?.[0]?.message).toContain('older copy');
    });

    it('registry "ignore": ["*"]: protect refuses, the new file is not left in the clear as "protected"', async () => {
      const a = laptop('ignore');
      expect((await a.run(['init'])).code).toBe(0);
      const dir = work('ignore-folder');
      fs.writeFileSync(path.join(dir, 'old.txt'), 'before\n');
      expect((await a.run(['protect', dir])).code).toBe(0);
      expect(fs.readdirSync(dir).sort()).toEqual(['old.txt.coffer']);

      tamper(path.join(a.home, 'folders.json'), (doc) => ({ ...doc, ignore: ['*'] }));
      fs.writeFileSync(path.join(dir, 'new.txt'), 'after\n');
      const hash = sha256(path.join(dir, 'new.txt'));
      const protect = await a.json<Failures>(['protect', dir]);
      expect(protect.result.code).toBe(1);
      expect(codes(protect.doc)).toEqual(['STATE_TAMPERED']);
      expect(protect.doc.failures?.[0]?.message).toContain('folders.json');
      const status = await a.json<Failures>(['status', dir]);
      expect(status.result.code).toBe(1);
      expect(codes(status.doc)).toEqual(['STATE_TAMPERED']);
      expect(sha256(path.join(dir, 'new.txt'))).toBe(hash);
    });

    it('escrow.json replaced by another laptop’s: STATE_TAMPERED; confirm (with --yes only) then works', async () => {
      const a = await provisioned('escrow-a');
      const b = await provisioned('escrow-b');
      fs.copyFileSync(path.join(b.home, 'escrow.json'), path.join(a.home, 'escrow.json'));
      const out = path.join(work('escrow-out'), 'record.json');
      const exp = await a.json<Failures>(['recovery', 'escrow', '--out', out]);
      expect(exp.result.code).toBe(1);
      expect(codes(exp.doc)).toEqual(['STATE_TAMPERED']);
      expect(exp.doc.failures?.[0]?.message).toContain('escrow.json');
      expect(fs.existsSync(out)).toBe(false);

      // Not a terminal: confirm refuses without --yes and changes nothing.
      const refused = await a.run(['state', 'confirm']);
      expect(refused.code).toBe(2);
      expect((await a.json<Failures>(['recovery', 'escrow', '--out', out])).result.code).toBe(1);

      const confirm = await a.json<{ confirmed: { kind: string }[] }>(['state', 'confirm', '--yes']);
      expect(confirm.result.code).toBe(0);
      expect(confirm.doc.confirmed.map((c) => c.kind)).toEqual(['escrow']);
      expect((await a.run(['recovery', 'escrow', '--out', out])).code).toBe(0);
    });

    it('a signed file of another kind swapped in (escrow.json as settings.json): refused', async () => {
      const a = await provisioned('kind-swap');
      fs.copyFileSync(path.join(a.home, 'escrow.json'), path.join(a.home, 'settings.json'));
      const list = await a.json<Failures>(['recovery', 'list']);
      expect(codes(list.doc)).toEqual(['STATE_TAMPERED']);
      expect(list.doc.failures?.[0]?.message).toContain('escrow');
    });

    it('state key lost from the keychain: signed files are not used until confirmed, then work', async () => {
      const a = await provisioned('key-lost');
      const store = new OsKeyStore({ service: a.service });
      expect(await store.delete('state-key')).toBe(true);
      const list = await a.json<Failures>(['recovery', 'list']);
      expect(codes(list.doc)).toEqual(['STATE_TAMPERED']);
      expect(list.doc.failures?.[0]?.message).toContain('keychain');
      const confirm = await a.json<{ confirmed: { kind: string }[] }>(['state', 'confirm', '--yes']);
      expect(confirm.result.code).toBe(0);
      expect(confirm.doc.confirmed.map((c) => c.kind).sort()).toEqual(['escrow', 'settings']);
      const after = await a.json<{ keys: { keyId: string }[]; log: { action: string; keyId: string }[] }>([
        'recovery',
        'list',
      ]);
      expect(after.result.code).toBe(0);
      expect(after.doc.keys.map((k) => k.keyId)).toEqual([orgId]);
      expect(after.doc.log.map((e) => `${e.action} ${e.keyId}`)).toEqual([
        `trust ${orgId}`,
        `confirm ${orgId}`,
      ]);
    });

    it('upgrade from v1: plain settings and registry are adopted and signed once, then edits are refused', async () => {
      const a = laptop('upgrade');
      const dir = work('upgrade-folder');
      fs.mkdirSync(a.home, { recursive: true });
      fs.writeFileSync(
        path.join(a.home, 'settings.json'),
        JSON.stringify({
          version: 1,
          trustedRecoveryKeys: [{ publicKey: orgLine, keyId: orgId, addedAt: '2026-01-01T00:00:00.000Z' }],
          usedRecoveryCodeIds: [],
        }),
      );
      fs.writeFileSync(
        path.join(a.home, 'folders.json'),
        JSON.stringify({
          version: 1,
          folders: [{ id: 'f1', path: dir, addedAt: 1, state: 'protected', lastRun: null }],
        }),
      );
      const list = await a.json<{ keys: { keyId: string }[] }>(['recovery', 'list']);
      expect(list.result.code, list.result.stderr).toBe(0);
      expect(list.doc.keys.map((k) => k.keyId)).toEqual([orgId]);
      for (const name of ['settings.json', 'folders.json']) {
        expect(JSON.parse(fs.readFileSync(path.join(a.home, name), 'utf8'))).toMatchObject({
          format: 'coffer-state-1',
          generation: 1,
        });
      }
      tamper(path.join(a.home, 'folders.json'), (doc) => ({ ...doc, ignore: ['*'] }));
      expect(codes((await a.json<Failures>(['protect', dir])).doc)).toEqual(['STATE_TAMPERED']);
    });

    it('a policy that deploys recovery keys refuses keys of the user’s own, unless allowUserRecoveryKeys', async () => {
      const policyDir = work('state-policy');
      const strictFile = path.join(policyDir, 'strict.json');
      fs.writeFileSync(strictFile, JSON.stringify({ recoveryPublicKeys: [orgLine] }));
      const a = laptop('policy-strict', { COFFER_POLICY_FILE: strictFile });
      const trust = await a.json<Failures>(['recovery', 'trust', evilLine]);
      expect(trust.result.code).toBe(1);
      expect(codes(trust.doc)).toEqual(['POLICY_FORBIDS']);

      // A key trusted before the policy arrived is kept and shown, but no file is written for it.
      const openFile = path.join(policyDir, 'open.json');
      fs.writeFileSync(openFile, '{}');
      const b = laptop('policy-later', { COFFER_POLICY_FILE: openFile });
      expect((await b.run(['recovery', 'trust', evilLine])).code).toBe(0);
      fs.writeFileSync(openFile, JSON.stringify({ recoveryPublicKeys: [orgLine] }));
      const dir = work('policy-files');
      const file = path.join(dir, 'a.txt');
      fs.writeFileSync(file, 'x\n');
      expect((await b.run(['encrypt', file])).code).toBe(0);
      const inspect = await b.json<InspectDoc>(['inspect', file + '.coffer']);
      const ids = inspect.doc.results[0]?.stanzas.map((s) => s.keyId) ?? [];
      expect(ids).toContain(orgId);
      expect(ids).not.toContain(evilId);
      const list = await b.json<{ keys: { keyId: string }[]; used: boolean }>(['recovery', 'list']);
      expect(list.doc).toMatchObject({ used: false, keys: [{ keyId: evilId }] });

      fs.writeFileSync(
        openFile,
        JSON.stringify({ recoveryPublicKeys: [orgLine], allowUserRecoveryKeys: true }),
      );
      const second = path.join(dir, 'b.txt');
      fs.writeFileSync(second, 'y\n');
      expect((await b.run(['encrypt', second])).code).toBe(0);
      const allowed = await b.json<InspectDoc>(['inspect', second + '.coffer']);
      expect(allowed.doc.results[0]?.stanzas.map((s) => s.keyId)).toContain(evilId);
    });

    it('every change of the trusted set is logged with the recomputed key ID', async () => {
      const a = laptop('log');
      expect((await a.run(['recovery', 'trust', orgLine, '--label', 'first'])).code).toBe(0);
      expect((await a.run(['recovery', 'trust', evilLine])).code).toBe(0);
      expect((await a.run(['recovery', 'untrust', evilId])).code).toBe(0);
      const list = await a.json<{ keys: { keyId: string }[]; log: { action: string; keyId: string }[] }>([
        'recovery',
        'list',
      ]);
      expect(list.doc.keys.map((k) => k.keyId)).toEqual([orgId]);
      expect(list.doc.log.map((e) => `${e.action} ${e.keyId}`)).toEqual([
        `trust ${orgId}`,
        `trust ${evilId}`,
        `untrust ${evilId}`,
      ]);
      const human = await a.run(['recovery', 'list']);
      expect(human.stdout).toContain(`untrust  ${evilId}`);
    });
  },
);
