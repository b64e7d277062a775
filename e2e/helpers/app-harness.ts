/**
 * The Chromium e2e harness (DESIGN.md "Testing on machines without an Electron binary"): the real app
 * (composition root, real services, real files, a private real keychain) in this test process, and the
 * built renderer in Debian's Chromium, with `window.coffer` bound by exposeBinding to the very handler
 * functions main registers on ipcMain — through the same generic `handle` with its sender check.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { build as esbuild } from 'esbuild';
import { build as viteBuild } from 'vite';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildApp, type BuiltApp } from '../../electron/main/composition.js';
import { bindAll, type BoundHandler } from '../../electron/main/handle.js';
import type { DialogPort, ShellPort } from '../../electron/main/ports.js';
import { CONTENT_SECURITY_POLICY, mimeOf } from '../../electron/main/security.js';
import { OsKeyStore } from '../../electron/services/keys/key-store.js';
import { FilePolicySource } from '../../electron/services/policy/sources.js';
import { channelOf, methodNames, type CofferEvent, type MethodName } from '../../electron/shared/contract.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CHROMIUM = '/usr/bin/chromium';
/** Stands in for app://coffer: Chromium cannot load a custom scheme, so the test serves the files here. */
export const TEST_ORIGIN = 'https://coffer.test';
export const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots');

/** Why the Chromium e2e cannot run here, or null when it can. */
export function chromiumSkipReason(): string | null {
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} is not installed (apt-get install chromium)`;
  if (process.env.COFFER_KEYRING_READY !== '1') {
    return (
      process.env.COFFER_NO_KEYRING_REASON ??
      'no private Secret Service: run the tests through scripts/with-keyring.sh'
    );
  }
  return null;
}

let builtRenderer: Promise<string> | undefined;
/** Builds the renderer once per test process into a temporary folder (a clean clone has no dist/). */
export function buildRenderer(): Promise<string> {
  builtRenderer ??= (async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-renderer-'));
    await viteBuild({
      configFile: path.join(ROOT, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
    });
    return outDir;
  })();
  return builtRenderer;
}

let bridge: Promise<string> | undefined;
export function bridgeScript(): Promise<string> {
  bridge ??= esbuild({
    entryPoints: [path.join(ROOT, 'e2e/helpers/page-bridge.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'warning',
  }).then((r) => r.outputFiles[0]?.text ?? '');
  return bridge;
}

/** Native dialogs replaced by a queue of answers the test sets before clicking. */
export class ScriptedDialogs implements DialogPort {
  private readonly answers: (string | string[] | null)[] = [];
  readonly asked: string[] = [];
  answer(value: string | string[] | null): void {
    this.answers.push(value);
  }
  private next(title: string): string | string[] | null {
    this.asked.push(title);
    if (this.answers.length === 0) throw new Error(`unexpected dialog: ${title}`);
    return this.answers.shift() ?? null;
  }
  pickFolder(title: string) {
    const a = this.next(title);
    return Promise.resolve(Array.isArray(a) ? (a[0] ?? null) : a);
  }
  pickFiles(title: string) {
    const a = this.next(title);
    return Promise.resolve(a === null ? null : Array.isArray(a) ? a : [a]);
  }
  pickSavePath(title: string) {
    const a = this.next(title);
    return Promise.resolve(Array.isArray(a) ? (a[0] ?? null) : a);
  }
}

export class RecordingShell implements ShellPort {
  readonly opened: string[] = [];
  readonly revealed: string[] = [];
  openPath(p: string): Promise<string> {
    this.opened.push(p);
    return Promise.resolve('');
  }
  showItemInFolder(p: string): void {
    this.revealed.push(p);
  }
}

export interface Harness {
  app: BuiltApp;
  page: Page;
  dialogs: ScriptedDialogs;
  shell: RecordingShell;
  home: string;
  keychainService: string;
  /** Every event sent to the page, in order. */
  events: CofferEvent[];
  /** Console errors, page errors and CSP violations seen so far. */
  problems: string[];
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** JSON written as the policy file (COFFER_POLICY_FILE equivalent). */
  policy?: unknown;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-e2e-'));
  const keychainService = `coffer-e2e-${randomBytes(6).toString('hex')}`;
  const policyFile = path.join(home, 'policy.json');
  if (options.policy !== undefined) fs.writeFileSync(policyFile, JSON.stringify(options.policy));
  const dialogs = new ScriptedDialogs();
  const shell = new RecordingShell();
  /** Set once the page exists; events before that wait in `pending`. */
  const live: { page?: Page } = {};
  const pending: CofferEvent[] = [];
  const events: CofferEvent[] = [];
  const deliver = (event: CofferEvent) => {
    const page = live.page;
    if (!page) {
      pending.push(event);
      return;
    }
    events.push(event);
    page
      .evaluate(
        (e) => (globalThis as unknown as { __cofferDeliver?: (e: unknown) => void }).__cofferDeliver?.(e),
        event,
      )
      .catch(() => undefined);
  };
  const env = { ...process.env, COFFER_KEYCHAIN_SERVICE: keychainService, COFFER_TEST_INSECURE_KDF: '1' };
  const app = await buildApp({
    userData: path.join(home, 'userData'),
    dialog: dialogs,
    shell,
    emit: deliver,
    log: () => undefined,
    env,
    keyStore: new OsKeyStore({ service: keychainService, env }),
    policySource: new FilePolicySource(policyFile, { requireAdminOwned: false }),
    watchStableMs: 200,
    workers: 2,
  });

  const bound = new Map<string, BoundHandler>();
  bindAll(app.handlers, { trustedOrigin: TEST_ORIGIN }, (method, handler) => {
    bound.set(channelOf(method), handler);
  });

  const [rendererDir, bridgeCode] = await Promise.all([buildRenderer(), bridgeScript()]);
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const context: BrowserContext = await browser.newContext({ viewport: { width: 1180, height: 820 } });
  const problems: string[] = [];
  // The same binding serves every frame; `handle` decides from the frame's URL and position who may call.
  await context.exposeBinding('__cofferInvoke', (source, channel: unknown, payload: unknown) => {
    const handler = typeof channel === 'string' ? bound.get(channel) : undefined;
    if (!handler) return { ok: false, error: { code: 'UNKNOWN_CHANNEL', message: 'unknown channel' } };
    return handler({ url: source.frame.url(), isMainFrame: source.frame.parentFrame() === null }, payload);
  });
  await context.addInitScript({ content: bridgeCode });
  await context.route(`${TEST_ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    const rel = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.resolve(rendererDir, rel);
    if (!file.startsWith(rendererDir + path.sep) || !fs.existsSync(file)) {
      await route.fulfill({ status: 404, body: 'not found' });
      return;
    }
    await route.fulfill({
      status: 200,
      headers: { 'content-type': mimeOf(file), 'content-security-policy': CONTENT_SECURITY_POLICY },
      body: fs.readFileSync(file),
    });
  });
  const page = await context.newPage();
  live.page = page;
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  // The app asks in its own dialog (renderer/src/confirm.tsx): a native alert/confirm is a bug here.
  page.on('dialog', (d) => {
    problems.push(`native ${d.type()} dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(`${TEST_ORIGIN}/index.html#/overview`);
  for (const e of pending.splice(0)) deliver(e);
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const p = page;

  return {
    app,
    page: p,
    dialogs,
    shell,
    home,
    keychainService,
    problems,
    events,
    async screenshot(name) {
      await p.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    async close() {
      await app.ports.workspace.lockAll().catch(() => undefined);
      await browser.close();
      await app.close();
      // The device key goes with the test: delete it from the private keychain.
      await new OsKeyStore({ service: keychainService, env }).delete('device-key').catch(() => false);
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

export function isMethod(name: string): name is MethodName {
  return (methodNames as string[]).includes(name);
}
