/**
 * electron-updater glue. The decision (may we check? which URL? is the channel signed?) lives in
 * electron/services/updates/update-decision.ts; this file only follows it:
 * - electron-updater is not even loaded while updates are off, so no URL means no network call at all;
 * - a policy change (new updateUrl, policy becoming invalid) is applied at once, without restart;
 * - updates download in the background and install when the app quits; never a downgrade.
 *
 * Wiring (composition root): `const updater = new Updater({...}); updater.start();` and the UI's
 * "Check for updates" calls `updater.checkNow()`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PolicyService } from '../services/policy/policy-service.js';
import type { UpdateStatus } from '../shared/contract.js';
import {
  decideUpdates,
  UPDATE_CHECK_INTERVAL_MS,
  type UpdateDecision,
} from '../services/updates/update-decision.js';

export type { UpdateStatus };

/** The part of electron-updater's AppUpdater Coffer uses: small enough to fake in tests. */
export interface UpdaterEngine {
  autoDownload: boolean;
  autoInstallOnAppQuit: boolean;
  allowDowngrade: boolean;
  allowPrerelease: boolean;
  setFeedURL(options: { provider: 'generic'; url: string }): void;
  checkForUpdates(): Promise<{ updateInfo: { version: string } } | null>;
  on(event: 'update-available' | 'update-downloaded', listener: (info: { version: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export interface UpdaterDeps {
  readonly platform: NodeJS.Platform;
  readonly isPackaged: boolean;
  /** process.resourcesPath: where electron-builder writes app-update.yml. */
  readonly resourcesPath: string;
  /** `coffer.updateUrl` from the packaged package.json (electron-builder.ts bakes COFFER_UPDATE_URL there). */
  readonly builtInUrl: string | undefined;
  readonly macCodeSigned: boolean;
  readonly policy: PolicyService;
  readonly log: { info(message: string): void; error(message: string): void };
  /** Loads electron-updater; only called once updates are enabled. */
  readonly loadEngine?: (platform: NodeJS.Platform) => Promise<UpdaterEngine>;
}

/** The real engine: the platform's updater class, constructed explicitly (no auto-detection of Linux packages). */
export async function loadElectronUpdater(platform: NodeJS.Platform): Promise<UpdaterEngine> {
  const updater = await import('electron-updater');
  if (platform === 'win32') return new updater.NsisUpdater();
  if (platform === 'darwin') return new updater.MacUpdater();
  throw new Error(`no signed update channel on ${platform}`);
}

export class Updater {
  private decision: UpdateDecision = { enabled: false, reason: 'not started' };
  private status: UpdateStatus = { state: 'disabled', reason: 'not started' };
  private engine: Promise<UpdaterEngine> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: UpdaterDeps) {}

  start(): void {
    this.unsubscribe = this.deps.policy.onChange(() => {
      this.apply();
    });
    this.apply();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  current(): UpdateStatus {
    return this.status;
  }

  /** "Check for updates" in the UI and tray: resolves to the status after the check (or why there is none). */
  async checkNow(): Promise<UpdateStatus> {
    if (!this.decision.enabled) return this.status;
    const url = this.decision.url;
    try {
      const engine = await this.ensureEngine(url);
      this.status = { state: 'checking', url };
      const result = await engine.checkForUpdates();
      // The engine's events may have moved the status on (downloading, ready) while the check ran.
      if (this.current().state === 'checking')
        this.status = { state: 'idle', url, lastCheck: new Date().toISOString() };
      this.deps.log.info(`update check at ${url}: latest ${result?.updateInfo.version ?? 'unknown'}`);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.status = { state: 'error', url, message: updateProblem(message) };
      this.deps.log.error(`update check at ${url} failed: ${message}`);
    }
    return this.status;
  }

  private apply(): void {
    const next = decideUpdates({
      platform: this.deps.platform,
      isPackaged: this.deps.isPackaged,
      policy: this.deps.policy.state,
      builtInUrl: this.deps.builtInUrl,
      appUpdateYml: readIfExists(path.join(this.deps.resourcesPath, 'app-update.yml')),
      macCodeSigned: this.deps.macCodeSigned,
    });
    const before = this.decision;
    this.decision = next;
    if (!next.enabled) {
      if (this.timer !== null) clearInterval(this.timer);
      this.timer = null;
      this.status = { state: 'disabled', reason: next.reason };
      if (before.enabled || before.reason !== next.reason) this.deps.log.info(`updates off: ${next.reason}`);
      return;
    }
    if (before.enabled && before.url === next.url) return;
    this.deps.log.info(`updates from ${next.url} (set by ${next.source})`);
    this.status = { state: 'idle', url: next.url, lastCheck: null };
    if (this.timer === null) {
      this.timer = setInterval(() => void this.checkNow(), UPDATE_CHECK_INTERVAL_MS);
      this.timer.unref();
    }
    void this.checkNow();
  }

  private async ensureEngine(url: string): Promise<UpdaterEngine> {
    // One engine for the app's lifetime, created by the first check (concurrent checks share it).
    this.engine ??= (this.deps.loadEngine ?? loadElectronUpdater)(this.deps.platform).then((engine) => {
      engine.autoDownload = true;
      engine.autoInstallOnAppQuit = true;
      engine.allowDowngrade = false; // a downgrade could bring back a fixed vulnerability
      engine.allowPrerelease = false;
      engine.on('update-available', (info) => {
        this.status = { state: 'downloading', url: this.currentUrl(), version: info.version };
      });
      engine.on('update-downloaded', (info) => {
        this.status = { state: 'ready', url: this.currentUrl(), version: info.version };
        this.deps.log.info(`update ${info.version} downloaded and verified; it installs when Coffer quits`);
      });
      engine.on('error', (error) => {
        this.status = { state: 'error', url: this.currentUrl(), message: updateProblem(error.message) };
        this.deps.log.error(`updater: ${error.message}`);
      });
      return engine;
    });
    const engine = await this.engine;
    engine.setFeedURL({ provider: 'generic', url }); // the URL may have changed by policy since the last check
    return engine;
  }

  private currentUrl(): string {
    return this.decision.enabled ? this.decision.url : '';
  }
}

/**
 * A failed check said for the Settings page (issue 12 item 6: no errno, no HTTP dump): electron-updater's
 * messages are Node's or Chromium's network errors, or an HttpError with the request and its headers over
 * several lines. The log keeps the raw text for IT.
 */
export function updateProblem(raw: string): string {
  if (/ENOTFOUND|EAI_AGAIN|ERR_NAME_NOT_RESOLVED/.test(raw))
    return 'the update server could not be found (no network, or the address set by your organization is wrong).';
  if (/CERT|certificate/i.test(raw))
    return 'the update server’s certificate is not trusted, so nothing was downloaded.';
  if (/\b404\b/.test(raw))
    return 'there is no Coffer update information at the address set by your organization.';
  if (/checksum|signature|sha512/i.test(raw)) return 'the download did not verify, so it was not installed.';
  if (
    /ECONN|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION|ERR_TIMED_OUT|socket hang up/.test(
      raw,
    )
  )
    return 'the update server did not answer (no network, or it is down).';
  return 'the update server answered something Coffer does not understand; IT finds the details in Coffer’s log.';
}

function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
