import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend, type SodiumBackend } from '../../../crypto/sodium.js';
import { CofferError, isCofferError } from '../../../crypto/errors.js';
import { MemoryKeyStore } from '../keys/key-store.js';
import { sealEnvelope, verifyEnvelope, STATE_KINDS } from './envelope.js';
import { StateAuth, StateFile } from './state-file.js';
import { STATE_KEY_ACCOUNT, StateFiles, stateFilesIn } from './state-files.js';
import { nonCanonicalBase64 } from '../../../e2e/helpers/base64.js';

let sodium: SodiumBackend;
const dirs: string[] = [];

beforeAll(async () => {
  sodium = await defaultBackend();
});

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function home(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-state-'));
  dirs.push(dir);
  return dir;
}

const BODY = '{\n  "version": 1,\n  "trustedRecoveryKeys": []\n}\n';

describe('state envelope', () => {
  it('verifies what it sealed, under the same key and kind only', () => {
    const key = sodium.randomBytes(32);
    const text = sealEnvelope(sodium, key, 'settings', 7, BODY);
    expect(verifyEnvelope(sodium, key, 'settings', text)).toEqual({ ok: true, generation: 7, body: BODY });
    expect(verifyEnvelope(sodium, sodium.randomBytes(32), 'settings', text)).toMatchObject({
      ok: false,
      problem: 'bad-mac',
    });
    for (const other of STATE_KINDS.filter((k) => k !== 'settings')) {
      expect(verifyEnvelope(sodium, key, other, text)).toMatchObject({ ok: false, problem: 'wrong-kind' });
    }
    expect(verifyEnvelope(sodium, null, 'settings', text)).toMatchObject({
      ok: false,
      problem: 'no-key',
      body: BODY,
    });
  });

  it('every byte of the file, flipped (three bit positions each), fails verification', () => {
    const key = sodium.randomBytes(32);
    const bytes = Buffer.from(sealEnvelope(sodium, key, 'folders', 3, BODY), 'utf8');
    let accepted = 0;
    for (let i = 0; i < bytes.length; i++) {
      for (const bit of [0x01, 0x20, 0x80]) {
        const copy = Buffer.from(bytes);
        copy[i] = (copy[i] ?? 0) ^ bit;
        const verdict = verifyEnvelope(sodium, key, 'folders', copy.toString('utf8'));
        if (verdict.ok) accepted++;
      }
    }
    expect(accepted).toBe(0);
  });

  it('a MAC in a second base64 spelling of the same bytes is refused (a flipped unused bit is a change)', () => {
    const key = sodium.randomBytes(32);
    const env = JSON.parse(sealEnvelope(sodium, key, 'folders', 3, BODY)) as { mac: string };
    const respelled = JSON.stringify({ ...env, mac: nonCanonicalBase64(env.mac) });
    expect(Buffer.from(nonCanonicalBase64(env.mac), 'base64')).toEqual(Buffer.from(env.mac, 'base64'));
    expect(verifyEnvelope(sodium, key, 'folders', respelled)).toMatchObject({
      ok: false,
      problem: 'bad-mac',
    });
  });

  it('a changed generation, body or kind field with the old MAC fails', () => {
    const key = sodium.randomBytes(32);
    const env = JSON.parse(sealEnvelope(sodium, key, 'escrow', 2, BODY)) as Record<string, unknown>;
    const variants: Record<string, unknown>[] = [
      { ...env, generation: 3 },
      { ...env, body: BODY.replace('[]', '[ ]') },
      { ...env, kind: 'settings' },
      { ...env, mac: undefined },
      { ...env, mac: 'AAAA' },
    ];
    for (const v of variants) {
      const verdict = verifyEnvelope(
        sodium,
        key,
        v.kind === 'settings' ? 'settings' : 'escrow',
        JSON.stringify(v),
      );
      expect(verdict.ok).toBe(false);
    }
  });

  it('plain JSON where a signed file must be is not-signed, with its content for review', () => {
    const key = sodium.randomBytes(32);
    expect(verifyEnvelope(sodium, key, 'settings', BODY)).toMatchObject({
      ok: false,
      problem: 'not-signed',
      body: BODY,
    });
    expect(verifyEnvelope(sodium, key, 'settings', 'not json')).toMatchObject({
      ok: false,
      problem: 'not-signed',
    });
  });
});

describe('state file', () => {
  it('reads what it wrote, counts generations, and refuses (never overwrites) a tampered file', () => {
    const dir = home();
    const auth = new StateAuth(sodium, sodium.randomBytes(32));
    const file = new StateFile(path.join(dir, 'folders.json'), 'folders', auth);
    expect(file.read()).toBeNull();
    file.write('{"a":1}');
    file.write('{"a":2}');
    expect(file.read()).toBe('{"a":2}');
    expect(file.inspect()).toMatchObject({ status: 'ok', generation: 2 });
    const text = fs.readFileSync(path.join(dir, 'folders.json'), 'utf8');
    fs.writeFileSync(path.join(dir, 'folders.json'), text.replace('\\"a\\":2', '\\"a\\":3'));
    const tampered = fs.readFileSync(path.join(dir, 'folders.json'), 'utf8');
    const read = (): unknown => file.read();
    const write = (): void => {
      file.write('{"a":4}');
    };
    for (const action of [read, write]) {
      try {
        action();
        expect.unreachable('tampered state was used');
      } catch (error) {
        expect(isCofferError(error, 'STATE_TAMPERED')).toBe(true);
        expect((error as Error).message).toContain('folders.json');
      }
    }
    expect(fs.readFileSync(path.join(dir, 'folders.json'), 'utf8')).toBe(tampered);
  });
});

describe('state key', () => {
  it('first run: makes the key, adopts plain v1 files, and a second process reads them', async () => {
    const dir = home();
    fs.writeFileSync(path.join(dir, 'settings.json'), BODY);
    const keyStore = new MemoryKeyStore();
    const deps = { sodium, keyStore, lockDir: path.join(dir, 'locks'), files: stateFilesIn(dir) };
    const first = await StateFiles.open(deps);
    expect(await keyStore.get(STATE_KEY_ACCOUNT)).toHaveLength(32);
    expect(first.file('settings').read()).toBe(BODY);
    first.file('folders').write('{"version":1,"folders":[]}');
    const second = await StateFiles.open(deps);
    expect(second.file('settings').read()).toBe(BODY);
    expect(second.file('folders').read()).toBe('{"version":1,"folders":[]}');
    expect(second.tampered()).toEqual([]);
  });

  it('key lost while files are signed: nothing verifies, no key is made silently; confirm makes one', async () => {
    const dir = home();
    const keyStore = new MemoryKeyStore();
    const deps = { sodium, keyStore, lockDir: path.join(dir, 'locks'), files: stateFilesIn(dir) };
    (await StateFiles.open(deps)).file('settings').write(BODY);
    await keyStore.delete(STATE_KEY_ACCOUNT);
    const lost = await StateFiles.open(deps);
    expect(await keyStore.get(STATE_KEY_ACCOUNT)).toBeNull();
    expect(() => lost.file('settings').read()).toThrow(/keychain/);
    expect(lost.tampered().map((r) => r.kind)).toEqual(['settings']);
    const confirmed = await lost.confirm();
    expect(confirmed.map((r) => r.kind)).toEqual(['settings']);
    expect(lost.file('settings').read()).toBe(BODY);
    expect((await StateFiles.open(deps)).file('settings').read()).toBe(BODY);
  });

  it('an older signed copy (a rollback) and a removed file are refused, in this process and the next', async () => {
    const dir = home();
    const keyStore = new MemoryKeyStore();
    const deps = { sodium, keyStore, lockDir: path.join(dir, 'locks'), files: stateFilesIn(dir) };
    const files = await StateFiles.open(deps);
    const settings = path.join(dir, 'settings.json');
    files.file('settings').write('{"v":"old"}');
    const old = fs.readFileSync(settings, 'utf8');
    files.file('settings').write('{"v":"new"}');
    files.file('folders').write('{"version":1,"folders":[]}');
    await files.flush();
    fs.writeFileSync(settings, old);
    fs.rmSync(path.join(dir, 'folders.json'));
    for (const view of [files, await StateFiles.open(deps)]) {
      expect(() => view.file('settings').read()).toThrow(
        /older copy \(generation 1; this account has had generation 2\)/,
      );
      expect(() => view.file('folders').read()).toThrow(/removed/);
    }
    const confirmed = await files.confirm();
    expect(confirmed.map((r) => r.kind)).toEqual(['settings', 'folders']);
    const after = await StateFiles.open(deps);
    expect(after.file('settings').read()).toBe('{"v":"old"}');
    expect(after.file('settings').inspect()).toMatchObject({ status: 'ok', generation: 3 });
    expect(after.file('folders').read()).toBeNull();
    expect(after.tampered()).toEqual([]);
  });

  it('an unreachable keychain is reported when state is used, not when services are built', async () => {
    const dir = home();
    const down = new CofferError('KEYCHAIN_UNAVAILABLE', 'no bus');
    const keyStore = {
      get: () => Promise.reject(down),
      set: () => Promise.reject(down),
      delete: () => Promise.reject(down),
    };
    const files = await StateFiles.openOrDefer({
      sodium,
      keyStore,
      lockDir: path.join(dir, 'locks'),
      files: stateFilesIn(dir),
    });
    expect(() => files.file('settings').read()).toThrow(down);
    expect(() => {
      files.file('settings').write('{}');
    }).toThrow(down);
    expect(fs.existsSync(path.join(dir, 'settings.json'))).toBe(false);
  });

  it('a damaged key entry is an error, not a reason to make a new key', async () => {
    const dir = home();
    const keyStore = new MemoryKeyStore();
    await keyStore.set(STATE_KEY_ACCOUNT, new Uint8Array(5));
    await expect(
      StateFiles.open({ sodium, keyStore, lockDir: path.join(dir, 'locks'), files: stateFilesIn(dir) }),
    ).rejects.toMatchObject({ code: 'KEYCHAIN_ENTRY_DAMAGED' });
  });
});
