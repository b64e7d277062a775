import { describe, expect, it, vi } from 'vitest';
import { CofferError } from '../../crypto/errors.js';
import { channelOf, methodNames, type CofferEvent } from '../shared/contract.js';
import {
  bindAll,
  handle,
  isTrustedSender,
  originOf,
  type BoundHandler,
  type HandlerTable,
} from './handle.js';
import { createHandlers } from './handlers.js';
import type { Ports } from './ports.js';

const ORIGIN = 'app://coffer';
const good = { url: 'app://coffer/index.html#/folders', isMainFrame: true };

describe('the sender check', () => {
  it('trusts only the main frame of the app origin', () => {
    expect(originOf('app://coffer/index.html')).toBe('app://coffer');
    expect(isTrustedSender(good, ORIGIN)).toBe(true);
    expect(isTrustedSender({ ...good, isMainFrame: false }, ORIGIN)).toBe(false);
    for (const url of [
      'https://evil.example/',
      'app://coffer.evil/index.html',
      'file:///index.html',
      'about:blank',
      '',
      'app:coffer',
    ]) {
      expect(isTrustedSender({ url, isMainFrame: true }, ORIGIN), url).toBe(false);
    }
    expect(isTrustedSender(null, ORIGIN)).toBe(false);
  });
});

describe('handle', () => {
  it('refuses a foreign sender before looking at the payload or calling the function', async () => {
    const fn = vi.fn(() => ({ removed: true as const }));
    const log = vi.fn();
    const bound = handle('removeFolder', fn, { trustedOrigin: ORIGIN, log });
    const result = await bound({ url: 'https://evil.example/', isMainFrame: true }, { folderId: 'x' });
    expect(result).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'FORBIDDEN_SENDER' }) as unknown,
    });
    expect(await bound({ ...good, isMainFrame: false }, { folderId: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN_SENDER' },
    });
    expect(fn).not.toHaveBeenCalled();
    expect(log).toHaveBeenCalledTimes(2);
  });

  it('refuses invalid payloads with INVALID_REQUEST and never logs the values', async () => {
    const fn = vi.fn(() => ({ keyId: 'k' }));
    const lines: string[] = [];
    const bound = handle('helpdeskLoadKey', fn, { trustedOrigin: ORIGIN, log: (l) => lines.push(l) });
    for (const payload of [
      { passphrase: '' },
      { passphrase: 42 },
      { passphrase: 'hunter2-secret', extra: 'field' },
      'hunter2-secret',
      [],
      null,
    ]) {
      const result = await bound(good, payload);
      expect(result, JSON.stringify(payload)).toMatchObject({
        ok: false,
        error: { code: 'INVALID_REQUEST' },
      });
    }
    expect(fn).not.toHaveBeenCalled();
    expect(lines.join('\n')).not.toContain('hunter2');
  });

  it('refuses paths that leave the folder', async () => {
    const fn = vi.fn(() => ({ name: 'a', size: 1 }));
    const bound = handle('verifyFile', fn, { trustedOrigin: ORIGIN });
    for (const relPath of ['../etc/passwd', '/etc/passwd', 'a/../../b', 'C:\\Windows', 'a\\..\\..\\b']) {
      expect(await bound(good, { folderId: 'f', relPath }), relPath).toMatchObject({
        ok: false,
        error: { code: 'INVALID_REQUEST' },
      });
    }
    expect(await bound(good, { folderId: 'f', relPath: 'sub/a.txt.coffer' })).toEqual({
      ok: true,
      value: { name: 'a', size: 1 },
    });
  });

  it('checks the recovery-key requests: a bounded line, a short label, nothing else', async () => {
    const trust = vi.fn(() => ({ keyId: 'k', added: true }));
    const bound = handle('trustRecoveryKey', trust, { trustedOrigin: ORIGIN });
    for (const payload of [
      { line: '' },
      { line: 'x'.repeat(513) },
      { line: 'coffer-recovery-1:x', label: 'l'.repeat(81) },
      { line: 'coffer-recovery-1:x', publicKey: 'raw' },
      { keyId: 'k' },
    ]) {
      expect(await bound(good, payload), JSON.stringify(payload)).toMatchObject({
        ok: false,
        error: { code: 'INVALID_REQUEST' },
      });
    }
    expect(trust).not.toHaveBeenCalled();
    expect(await bound(good, { line: 'coffer-recovery-1:x', label: '  ACME  ' })).toEqual({
      ok: true,
      value: { keyId: 'k', added: true },
    });
    // The label arrives trimmed.
    expect(trust).toHaveBeenCalledWith({ line: 'coffer-recovery-1:x', label: 'ACME' });
    const untrust = handle('untrustRecoveryKey', () => ({ keyId: 'k' }), { trustedOrigin: ORIGIN });
    expect(await untrust(good, { keyId: '' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_REQUEST' },
    });
  });

  it('keeps CofferError codes and hints, and hides other errors behind INTERNAL', async () => {
    const coffer = handle(
      'getRecovery',
      () => Promise.reject(new CofferError('NO_DEVICE_KEY', 'no key', 'restore it')),
      { trustedOrigin: ORIGIN },
    );
    expect(await coffer(good, {})).toEqual({
      ok: false,
      error: { code: 'NO_DEVICE_KEY', message: 'no key', hint: 'restore it' },
    });
    const log = vi.fn();
    const internal = handle('getRecovery', () => Promise.reject(new Error('/home/u/secret path at x.ts:3')), {
      trustedOrigin: ORIGIN,
      log,
    });
    const result = await internal(good, {});
    expect(result).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    expect(JSON.stringify(result)).not.toContain('secret path');
    expect(log).toHaveBeenCalledOnce();
  });

  it('bindAll registers every contract method once, on its own channel', () => {
    const seen = new Map<string, BoundHandler>();
    const table = Object.fromEntries(methodNames.map((m) => [m, () => null])) as unknown as HandlerTable;
    bindAll(table, { trustedOrigin: ORIGIN }, (method, h) => {
      expect(seen.has(channelOf(method))).toBe(false);
      seen.set(channelOf(method), h);
    });
    expect([...seen.keys()].sort()).toEqual(methodNames.map(channelOf).sort());
  });
});

const APP = {
  lock: () => Promise.resolve(0),
  about: () => Promise.reject(new Error('not used by these tests')),
};

/** Fakes for the handler table: only what each test touches; anything else throws. */
function fakePorts(overrides: Partial<{ [K in keyof Ports]: Partial<Ports[K]> }>): Ports {
  const strict = <T extends object>(name: string, impl: Partial<T> = {}): T =>
    new Proxy(impl, {
      get(target, prop) {
        if (prop in target) return target[prop as keyof typeof target];
        throw new Error(`${name}.${String(prop)} not faked`);
      },
    }) as T;
  return {
    keys: strict('keys', overrides.keys),
    folders: strict('folders', overrides.folders),
    workspace: strict('workspace', overrides.workspace),
    files: strict('files', overrides.files),
    helpdesk: strict('helpdesk', overrides.helpdesk),
    deviceRestore: strict('deviceRestore', overrides.deviceRestore),
    policy: strict('policy', overrides.policy),
    settings: strict('settings', overrides.settings),
    updates: strict('updates', overrides.updates),
    activity: strict('activity', { record: () => undefined, list: () => [], ...overrides.activity }),
    audit: strict('audit', overrides.audit),
    dialog: strict('dialog', overrides.dialog),
    shell: strict('shell', overrides.shell),
    state: strict('state', overrides.state),
    openedFiles: strict('openedFiles', overrides.openedFiles),
  };
}

describe('the handler table', () => {
  it('restores only files the helpdesk picked in the native dialog', async () => {
    const restore = vi.fn(() => Promise.resolve({ runId: 'r1' }));
    const ports = fakePorts({
      dialog: {
        pickFiles: () => Promise.resolve(['/picked/a.coffer']),
        pickFolder: () => Promise.resolve('/out'),
      },
      helpdesk: {
        inspect: (paths: string[]) =>
          Promise.resolve(
            paths.map((p) => ({
              path: p,
              name: 'a',
              stanzas: [],
              opensWithLoadedKey: true,
              opensOnThisDevice: false,
            })),
          ),
        restore,
      },
      policy: { assertHelpdeskTools: () => undefined }, // a helpdesk computer (policy helpdeskTools)
    });
    const t = createHandlers(ports, () => undefined, APP);
    await expect(t.helpdeskRestore({ paths: ['/etc/shadow'], mode: 'decrypt' })).rejects.toMatchObject({
      code: 'NOT_PICKED',
    });
    await t.helpdeskPick({ what: 'files' });
    await expect(
      t.helpdeskRestore({ paths: ['/picked/a.coffer', '/etc/shadow'], mode: 'decrypt' }),
    ).rejects.toMatchObject({ code: 'NOT_PICKED' });
    expect(await t.helpdeskRestore({ paths: ['/picked/a.coffer'], mode: 'decrypt' })).toEqual({
      runId: 'r1',
    });
    expect(restore).toHaveBeenCalledWith(['/picked/a.coffer'], 'decrypt', '/out');
  });

  it('asks the policy before removing, unprotecting or decrypting a copy, and before any dialog', async () => {
    const view = {
      id: 'f',
      path: '/m',
      mandatory: false, // the view may be stale or (invalid policy) empty: the policy port decides
      protectedFiles: 0,
      plaintextFiles: 0,
      protectedBytes: 0,
      inTheClearFiles: 0,
      inTheClear: [],
      excludedFiles: 0,
      lastRun: null,
      runningRunId: null,
    };
    const refuse = (what: string) => () => {
      throw new CofferError('POLICY_INVALID', `cannot ${what}`);
    };
    const remove = vi.fn();
    const unprotect = vi.fn();
    const pickSavePath = vi.fn();
    const t = createHandlers(
      fakePorts({
        folders: { list: () => Promise.resolve([view]), remove, unprotect },
        policy: {
          assertCanRemoveFolder: refuse('remove'),
          assertCanUnprotect: refuse('unprotect'),
          assertCanDecryptCopy: refuse('copy'),
        },
        dialog: { pickSavePath },
      }),
      () => undefined,
      APP,
    );
    await expect(t.removeFolder({ folderId: 'f' })).rejects.toMatchObject({ code: 'POLICY_INVALID' });
    await expect(t.unprotectFolder({ folderId: 'f' })).rejects.toMatchObject({ code: 'POLICY_INVALID' });
    await expect(t.decryptCopy({ folderId: 'f', relPath: 'a.coffer' })).rejects.toMatchObject({
      code: 'POLICY_INVALID',
    });
    expect(remove).not.toHaveBeenCalled();
    expect(unprotect).not.toHaveBeenCalled();
    expect(pickSavePath).not.toHaveBeenCalled();
  });

  it('never sends the edit workspace path to the renderer', async () => {
    const session = {
      id: 'e',
      folderId: 'f',
      relPath: 'a.txt.coffer',
      name: 'a.txt',
      openedAt: 1,
      editPath: '/private/workspace/e/a.txt',
      runnable: false,
    };
    const events: CofferEvent[] = [];
    const t = createHandlers(
      fakePorts({
        workspace: { open: () => Promise.resolve(session) },
        shell: { openPath: () => Promise.resolve(''), showItemInFolder: () => undefined },
      }),
      (e) => events.push(e),
      APP,
    );
    const result = await t.openForEdit({ folderId: 'f', relPath: 'a.txt.coffer' });
    expect(JSON.stringify(result)).not.toContain('/private/workspace');
    expect(events).toContainEqual({ type: 'changed', what: 'edits' });
  });

  it('trusting and untrusting a recovery key tell the window and land in the activity log', async () => {
    const record = vi.fn();
    const events: CofferEvent[] = [];
    const t = createHandlers(
      fakePorts({
        activity: { record },
        keys: {
          trustRecoveryKey: () => Promise.resolve({ keyId: 'aaaa-bbbb-cccc-dddd', added: true }),
          untrustRecoveryKey: () =>
            Promise.reject(new CofferError('POLICY_LOCKED', 'set by your organization')),
        },
      }),
      (e) => events.push(e),
      APP,
    );
    expect(await t.trustRecoveryKey({ line: 'coffer-recovery-1:x', label: 'ACME' })).toEqual({
      keyId: 'aaaa-bbbb-cccc-dddd',
      added: true,
    });
    expect(events).toContainEqual({ type: 'changed', what: 'recovery' });
    expect(record).toHaveBeenCalledWith(
      expect.objectContaining({ action: 'Trust recovery key', target: 'ACME', outcome: 'ok' }),
    );
    await expect(t.untrustRecoveryKey({ keyId: 'aaaa-bbbb-cccc-dddd' })).rejects.toMatchObject({
      code: 'POLICY_LOCKED',
    });
    expect(record).toHaveBeenLastCalledWith(
      expect.objectContaining({ action: 'Stop trusting recovery key', outcome: 'error' }),
    );
  });

  it('records failures in the activity log with their code', async () => {
    const record = vi.fn();
    const t = createHandlers(
      fakePorts({
        activity: { record },
        keys: {
          confirmRecoveryCode: () => Promise.reject(new CofferError('WRONG_RECOVERY_CODE', 'not this code')),
        },
      }),
      () => undefined,
      APP,
    );
    await expect(
      t.confirmRecoveryCode({ groups: Array(8).fill('000000') as string[] }),
    ).rejects.toMatchObject({ code: 'WRONG_RECOVERY_CODE' });
    expect(record).toHaveBeenCalledWith(
      expect.objectContaining({
        outcome: 'error',
        detail: expect.stringContaining('WRONG_RECOVERY_CODE') as unknown,
      }),
    );
  });
});
