import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { TestAppHome } from '../../e2e/helpers/test-app.js';
import { DEVICE_KEY_ACCOUNT } from '../services/keys/device-key.js';
import { ClearNotifier } from './clear-notifier.js';
import type { BuiltApp } from './composition.js';
import { TrayStatus, coalesce, type TraySources } from './tray-refresh.js';
import type { TrayView } from './tray-state.js';

describe('coalesce', () => {
  it('runs one refresh at a time and one more after a burst of calls', async () => {
    let active = 0;
    let most = 0;
    let runs = 0;
    const gates: (() => void)[] = [];
    const refresh = coalesce(
      async () => {
        active++;
        most = Math.max(most, active);
        runs++;
        await new Promise<void>((resolve) => gates.push(resolve));
        active--;
      },
      () => undefined,
    );
    const first = refresh();
    const burst = [refresh(), refresh(), refresh()];
    expect(runs).toBe(1);
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
    expect(runs).toBe(2); // the burst became one more refresh
    gates.shift()?.();
    await Promise.all([first, ...burst]);
    expect(runs).toBe(2);
    expect(most).toBe(1);
    // Idle again: the next call starts at once.
    const next = refresh();
    expect(runs).toBe(3);
    gates.shift()?.();
    await next;
  });

  it('spaces refreshes during a storm of change events, and still answers the last one', async () => {
    // Auto-protect emits 'activity' and 'folders' for every batch: a big copy is a change every few ms, and
    // each refresh makes the status cache sweep every directory of every folder.
    let runs = 0;
    let sawLast = false;
    let last = false;
    const refresh = coalesce(
      () => {
        runs++;
        sawLast = last;
        return Promise.resolve();
      },
      () => undefined,
      200,
    );
    const calls: Promise<void>[] = [];
    const start = performance.now();
    while (performance.now() - start < 1_000) {
      calls.push(refresh());
      await new Promise((r) => setTimeout(r, 5));
    }
    last = true;
    calls.push(refresh());
    await Promise.all(calls);
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(8); // ~1 s / 200 ms, not one per event (~150)
    expect(sawLast).toBe(true);
  });

  it('keeps refreshing after a failed refresh, and reports the failure', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const refresh = coalesce(
      () => (++n === 1 ? Promise.reject(new Error('list failed')) : Promise.resolve()),
      (e) => errors.push(e),
    );
    await refresh();
    await refresh();
    expect(n).toBe(2);
    expect(errors.map(String)).toEqual(['Error: list failed']);
  });
});

/**
 * TrayStatus over the app's real composition (real policy file, folder registry, status cache, state files,
 * keychain in the private Secret Service or one that cannot be reached): what main.ts shows in the tray.
 */
describe('TrayStatus', () => {
  const homes: TestAppHome[] = [];
  const apps: BuiltApp[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const h of homes) fs.rmSync(h.home, { recursive: true, force: true });
  });

  /** A laptop with one protected folder holding no file yet: every file in it is protected. */
  async function laptop(name: string, before?: (home: TestAppHome) => Promise<void>) {
    const home = new TestAppHome(name);
    homes.push(home);
    home.writePolicy({});
    await before?.(home);
    const app = await home.build();
    apps.push(app);
    const dir = path.join(home.home, 'Invoices');
    fs.mkdirSync(dir);
    await app.ports.folders.add(dir);
    const logged: string[] = [];
    const notifier = new ClearNotifier({ now: () => performance.now(), notify: () => undefined });
    const status = (sources: TraySources = app.ports, timeoutMs = 20_000) =>
      new TrayStatus({ sources, notifier, log: (l) => logged.push(l), timeoutMs });
    return { app, status, logged };
  }

  /** `read()`, or 'no answer' when it has none within `ms` (the tray would keep its last view meanwhile). */
  const answer = (read: Promise<TrayView>, ms = 5_000): Promise<TrayView | 'no answer'> =>
    Promise.race([
      read,
      new Promise<'no answer'>((resolve) => {
        setTimeout(() => {
          resolve('no answer');
        }, ms).unref();
      }),
    ]);

  it('says "All files protected" for a folder whose every file is', async () => {
    const { status } = await laptop('tray-ok');
    expect((await status().read()).status).toBe('All files protected in Invoices');
  });

  it('does not call files "being protected" in a folder the watcher does not watch (added, or its run cancelled)', async () => {
    // auto-protect.ts watches a folder only once protected and not cancelled by the user: nothing protects
    // these files until the user does, so they need the user now, not in five minutes.
    const { app, status } = await laptop('tray-unwatched');
    const [invoices] = await app.ports.folders.list();
    if (!invoices) throw new Error('no folder');
    fs.writeFileSync(path.join(invoices.path, 'Acme salaries.xlsx'), 'customer data');
    const end = Date.now() + 20_000;
    let view = await status().read();
    while (!/in the clear/.test(view.status) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      view = await status().read();
    }
    expect(app.watchedFolders()).not.toContain(invoices.path);
    expect(view).toMatchObject({
      state: 'attention',
      status: '1 file in the clear in Invoices',
      folderId: invoices.id,
    });
    expect([view.status, ...view.detail].join('\n')).not.toMatch(/being protected/);
  });

  it('says "being protected" for a waiting file in the tray and the Overview alike (one split)', async () => {
    // The tray said "1 file in the clear in Invoices, being protected" (working) and the Overview "Action
    // needed: 1 file in the clear" for the same new file waiting for its quiet period.
    const { app, status } = await laptop('tray-overview-same');
    const [invoices] = await app.ports.folders.list();
    if (!invoices) throw new Error('no folder');
    const { runId } = await app.ports.folders.protect(invoices.id); // watched from now on
    expect((await app.runs.settled(runId)).state).toBe('done');
    fs.writeFileSync(path.join(invoices.path, 'new.docx'), 'customer data');
    const end = Date.now() + 20_000;
    let view = await status().read();
    while (!/in the clear/.test(view.status) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      view = await status().read();
    }
    const overview = await app.handlers.getOverview({});
    if (view.state === 'working') {
      expect(view.status).toBe('1 file in the clear in Invoices, being protected');
      expect(overview).toMatchObject({ inTheClear: 1, beingProtected: 1 });
    } else {
      // Protected before the list saw it waiting (a fast watcher): nothing in the clear on either side.
      expect(view.state).toBe('protected');
      expect(overview.inTheClear).toBe(overview.beingProtected ?? 0);
    }
  });

  it('never says protected for a folder whose path is gone (a drive unplugged, a share offline)', async () => {
    const { app, status } = await laptop('tray-gone');
    const [invoices] = await app.ports.folders.list();
    if (!invoices) throw new Error('no folder');
    expect((await status().read()).state).toBe('protected');
    fs.rmSync(invoices.path, { recursive: true });
    const end = Date.now() + 20_000;
    let view = await status().read();
    while (view.state === 'protected' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      view = await status().read();
    }
    expect(view.state).toBe('attention');
    expect([view.status, ...view.detail, view.tooltip].join('\n')).not.toMatch(/protected in/);
    // Said as it is (folder-presence.ts): not "1 file in the clear", the status layer's unreadable root.
    expect(view.status).toBe('Invoices cannot be found');
    expect(view.folderId).toBe(invoices.id);
  });

  it('never says protected for a folder whose drive is not mounted (an empty mount point)', async (context) => {
    // A drive mounted on the protected folder, then unmounted: the folder is the empty directory beneath,
    // 0 files in the clear, and the tray and the Overview said "All files protected" about files they could
    // not see. A real tmpfs, mounted and unmounted (needs root).
    if (process.getuid?.() !== 0) {
      console.warn('skipped: not root: mounting a tmpfs needs root');
      context.skip();
    }
    const { app, status } = await laptop('tray-unmounted');
    const [invoices] = await app.ports.folders.list();
    if (!invoices) throw new Error('no folder');
    const drive = path.join(path.dirname(invoices.path), 'Drive');
    fs.mkdirSync(drive);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', drive], { stdio: 'pipe' });
    let mounted = true;
    try {
      fs.writeFileSync(path.join(drive, 'salaries.xlsx'), 'customer data');
      const added = await app.ports.folders.add(drive);
      const { runId } = await app.ports.folders.protect(added.id);
      expect((await app.runs.settled(runId)).state).toBe('done');
      const until = async (done: (v: TrayView) => boolean): Promise<TrayView> => {
        const end = Date.now() + 20_000;
        let v = await status().read();
        while (!done(v) && Date.now() < end) {
          await new Promise((r) => setTimeout(r, 100));
          v = await status().read();
        }
        return v;
      };
      expect((await until((v) => v.state === 'protected')).status).toBe('All files protected in 2 folders');
      execFileSync('umount', [drive]);
      mounted = false;
      expect(fs.readdirSync(drive)).toEqual([]); // the empty directory beneath
      const view = await until((v) => v.state !== 'protected');
      expect(view).toMatchObject({
        state: 'attention',
        status: 'Drive is not available: its drive is not connected',
        folderId: added.id,
      });
      expect([view.status, ...view.detail, view.tooltip].join('\n')).not.toMatch(/protected in/);
      // The Overview, from the same folder list, names it (its headline: overview-headline.test.ts).
      const overview = await app.handlers.getOverview({});
      expect(overview.unavailable).toEqual([{ path: added.path, reason: 'not-mounted' }]);
    } finally {
      if (mounted) execFileSync('umount', [drive]);
    }
  });

  it('reads no file of the folders on the main thread (the status cache answers from its worker)', async () => {
    // FolderView.notRecoverableFiles opens every .coffer header synchronously (RotationService.coverage):
    // measured 4.2 s of main thread per list at 20,001 files, and the tray lists every minute and on every
    // change. The tray does not show that count, so it must not pay for it.
    const { app, status } = await laptop('tray-cost');
    const [invoices] = await app.ports.folders.list();
    if (!invoices) throw new Error('no folder');
    fs.writeFileSync(path.join(invoices.path, 'seed.txt'), 'customer data');
    const { runId } = await app.ports.folders.protect(invoices.id);
    expect((await app.runs.settled(runId)).state).toBe('done');
    const seed = fs.readdirSync(invoices.path).find((n) => n.endsWith('.coffer'));
    if (!seed) throw new Error('not protected');
    for (let i = 0; i < 300; i++)
      fs.copyFileSync(path.join(invoices.path, seed), path.join(invoices.path, `copy-${i}.txt.coffer`));
    const end = Date.now() + 20_000;
    while ((await status().read()).status !== 'All files protected in Invoices' && Date.now() < end)
      await new Promise((r) => setTimeout(r, 100));
    const opened: string[] = [];
    const realOpen = fs.openSync.bind(fs);
    const spy = vi.spyOn(fs, 'openSync').mockImplementation((file, ...rest) => {
      if (String(file).endsWith('.coffer')) opened.push(String(file));
      return realOpen(file, ...rest);
    });
    try {
      expect((await status().read()).status).toBe('All files protected in Invoices');
    } finally {
      spy.mockRestore();
    }
    expect(opened).toEqual([]);
  });

  it('never says protected when the device key cannot be read (the Overview is red: new files stay readable)', async () => {
    // The keychain entry of the device key holds 5 bytes, not a key (KEYCHAIN_ENTRY_DAMAGED): the app
    // starts, the Overview says "your key is not available", nothing new can be encrypted.
    const { status } = await laptop('tray-nokey', async (home) => {
      await home.keyStore().set(DEVICE_KEY_ACCOUNT, new Uint8Array(5));
    });
    const view = await status().read();
    expect(view.state).toBe('attention');
    expect([view.status, ...view.detail, view.tooltip].join('\n')).not.toMatch(/protected in/);
    expect(view.status).toMatch(/keychain is not available/);
  });

  it('says it cannot tell, rather than keep its last view, when the folder list never answers', async () => {
    // A folder on a network share that stopped answering blocks its lstat calls, and so every status answer.
    const { app, status } = await laptop('tray-hang');
    const hung: TraySources = {
      ...app.ports,
      folders: { list: () => new Promise<never>(() => undefined), runs: () => app.ports.folders.runs() },
    };
    const view = await answer(status(hung, 300).read());
    expect(view).not.toBe('no answer');
    expect(view).toMatchObject({ state: 'unavailable', status: 'Status unavailable: open Coffer' });
  });

  it('says it cannot tell when the state files or the policy cannot be read, never protected', async () => {
    const { app, status, logged } = await laptop('tray-throws');
    const broken = (what: 'state' | 'policy'): TraySources => ({
      ...app.ports,
      ...(what === 'state'
        ? {
            state: {
              review: () => {
                throw new Error('EACCES: state.json');
              },
            },
          }
        : {
            policy: {
              view: () => {
                throw new Error('policy source gone');
              },
            },
          }),
    });
    for (const what of ['state', 'policy'] as const) {
      const view = await status(broken(what))
        .read()
        .catch((e: unknown) => `threw ${String(e)}`);
      expect(view).toMatchObject({ state: 'unavailable' });
    }
    expect(logged.join('\n')).toMatch(/EACCES: state\.json/);
  });
});
