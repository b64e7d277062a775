/**
 * Electron main: lifecycle, the one window, the app:// protocol, IPC registration, tray, dialogs and
 * powerMonitor. Thin glue: the services are built by the composition root (composition.ts) and every IPC
 * channel goes through the generic `handle` (handle.ts) with the handler table from handlers.ts.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BrowserWindow,
  Menu,
  type NativeImage,
  Notification,
  Tray,
  app,
  dialog,
  ipcMain,
  nativeImage,
  powerMonitor,
  protocol,
  session,
  shell,
  type IpcMainInvokeEvent,
  type WebContents,
} from 'electron';
import { appDataHome } from '../services/app-paths.js';
import { removeSecrets } from '../services/child-env.js';
import { COFFER_BUNDLE_ID } from '../services/policy/platform.js';
import { keepYoungGenerationSmall } from '../services/young-generation.js';
import type { CofferEvent } from '../shared/contract.js';
import { EVENT_CHANNEL, channelOf } from '../shared/contract.js';
import { AUTO_LOCK_TICK_MS, AutoLock } from './auto-lock.js';
import { ClearNotifier, notificationText, type ClearNotice } from './clear-notifier.js';
import { buildApp, type BuiltApp, type LockReason } from './composition.js';
import { bindAll, type SenderInfo } from './handle.js';
import { UtilityProcessLauncher } from './keychain-utility.js';
import { cofferPathsFromArgv } from './open-file.js';
import type { DialogPort, ShellPort } from './ports.js';
import {
  APP_ENTRY,
  APP_ORIGIN,
  APP_SCHEME,
  CONTENT_SECURITY_POLICY,
  appRequestPath,
  isAllowedNavigation,
  mimeOf,
  windowChrome,
  type SecureWebPreferences,
} from './security.js';
import { TrayStatus, coalesce } from './tray-refresh.js';
import { menuLabel, trayIconFiles, type TrayState } from './tray-state.js';

// The app reads no secret from its environment (COFFER_PASSPHRASE is the CLI's): nothing it starts inherits one.
removeSecrets();

// Folder runs walk on this thread and make short-lived garbage per file: the young generation stays at its
// start size instead of growing to 32 MiB for the app's lifetime (issue 10 memory target; as bin/coffer.js,
// where it is measured). `js-flags` switches reach the main process only from the command line it was started
// with, and --max-semi-space-size only before the heap is made; the growth factor is read at each growth.
keepYoungGenerationSmall(); // and again after each worker start (young-generation.ts)

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/electron/main → dist/renderer and dist/preload (see vite.config.ts and vite.preload.config.ts). */
const rendererRoot = path.resolve(here, '../../renderer');
const preloadPath = path.resolve(here, '../../preload/preload.cjs');

// Must run before `ready`: the scheme behaves like https (standard, secure) so the CSP's 'self' covers it.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void start();
}

let window: BrowserWindow | null = null;
let tray: Tray | null = null;

function log(line: string): void {
  console.error(`[coffer] ${line}`);
}

function send(event: CofferEvent): void {
  if (window && !window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, event);
}

function senderOf(event: IpcMainInvokeEvent): SenderInfo {
  const frame = event.senderFrame;
  return { url: frame?.url ?? '', isMainFrame: frame !== null && frame === event.sender.mainFrame };
}

const dialogs: DialogPort = {
  async pickFolder(title) {
    const options = { title, properties: ['openDirectory' as const, 'createDirectory' as const] };
    const result = window
      ? await dialog.showOpenDialog(window, options)
      : await dialog.showOpenDialog(options);
    return result.canceled ? null : (result.filePaths[0] ?? null);
  },
  async pickFiles(title, filters) {
    const options = {
      title,
      properties: ['openFile' as const, 'multiSelections' as const],
      filters: filters ?? [],
    };
    const result = window
      ? await dialog.showOpenDialog(window, options)
      : await dialog.showOpenDialog(options);
    return result.canceled ? null : result.filePaths;
  },
  async pickSavePath(title, defaultName) {
    const options = { title, defaultPath: defaultName };
    const result = window
      ? await dialog.showSaveDialog(window, options)
      : await dialog.showSaveDialog(options);
    return result.canceled || !result.filePath ? null : result.filePath;
  },
};

const shellPort: ShellPort = {
  openPath: (p) => shell.openPath(p),
  showItemInFolder: (p) => {
    shell.showItemInFolder(p);
  },
};

/** Locks down every web contents the app ever creates, including ones we did not expect. */
function lockDown(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
  });
}

async function serveAppFile(request: Request): Promise<Response> {
  const relative = appRequestPath(request.url);
  if (relative === null) return new Response('Not found', { status: 404 });
  const file = path.join(rendererRoot, relative);
  try {
    const body = await fs.readFile(file);
    return new Response(body, {
      headers: {
        'content-type': mimeOf(file),
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'x-content-type-options': 'nosniff',
      },
    });
  } catch {
    return new Response('Not found', { status: 404 });
  }
}

function createWindow(): BrowserWindow {
  // Spelled out literally so that scanners (Electronegativity) see the values, and typed `satisfies
  // SecureWebPreferences` so the compiler holds them to the audited set in security.ts.
  const win = new BrowserWindow({
    ...windowChrome(),
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
      disableBlinkFeatures: 'Auxclick',
    } satisfies SecureWebPreferences,
  });
  win.once('ready-to-show', () => {
    win.show();
  });
  void win.loadURL(APP_ENTRY);
  return win;
}

function showWindow(): void {
  if (!window || window.isDestroyed()) window = createWindow();
  if (window.isMinimized()) window.restore();
  window.show();
  window.focus();
}

/** Where the tray icons are: beside the app when packaged (electron-builder extraResources), build/ in dev. */
function trayIconDirs(): string[] {
  return app.isPackaged ? [path.join(process.resourcesPath, 'tray')] : [path.resolve(here, '../../../build')];
}

const trayIcons = new Map<TrayState, NativeImage>();
/** The state's icon (nativeImage finds the @2x file itself); an empty image when none is found (dev builds). */
function trayIcon(state: TrayState): NativeImage {
  const cached = trayIcons.get(state);
  if (cached) return cached;
  let icon = nativeImage.createEmpty();
  for (const dir of trayIconDirs())
    for (const file of trayIconFiles(state, process.platform)) {
      const candidate = nativeImage.createFromPath(path.join(dir, file));
      if (icon.isEmpty() && !candidate.isEmpty()) icon = candidate;
    }
  if (icon.isEmpty()) log(`tray icon for '${state}' not found in ${trayIconDirs().join(', ')}`);
  trayIcons.set(state, icon);
  return icon;
}

/** Shows the window on the Folders screen at one folder (a same-document navigation: the app keeps its state). */
function showFolder(folderId: string): void {
  showWindow();
  const win = window;
  if (!win) return;
  const url = `${APP_ENTRY}#/folders/${encodeURIComponent(folderId)}`;
  const go = (): void => {
    win.loadURL(url).catch((e: unknown) => {
      log(`show folder: ${String(e)}`);
    });
  };
  if (win.webContents.isLoading()) win.webContents.once('did-finish-load', go);
  else go();
}

/** Held while shown: a notification nothing refers to can be collected, and its click is then lost. */
let clearNotice: Notification | null = null;
function notifyClear(notice: ClearNotice): void {
  // Folder name and count only (clear-notifier.ts): the OS may keep notifications in its history.
  if (!Notification.isSupported()) return;
  clearNotice?.close();
  const shown = new Notification(notificationText(notice, process.platform));
  shown.on('click', () => {
    showFolder(notice.folderId);
  });
  shown.show();
  clearNotice = shown;
}

function buildTray(built: BuiltApp): Tray {
  // Windows shows notifications only for an app whose ID matches its Start-menu shortcut (electron-builder appId).
  if (process.platform === 'win32') app.setAppUserModelId(COFFER_BUNDLE_ID);
  const t = new Tray(trayIcon('unavailable'));
  // A monotonic clock: a wall clock set back or forward would hold notices back or fake "stayed 5 minutes".
  const notifier = new ClearNotifier({ now: () => performance.now(), notify: notifyClear });
  // The Overview calls the same folders "stuck" as the tray (clear-split.ts).
  built.setStuckSource(() => notifier.stuck());
  // What the tray reads and says (tray-refresh.ts, tray-state.ts) and the notice (clear-notifier.ts), tested in
  // Node over the real composition; whatever cannot be read in time makes the tray say so.
  const status = new TrayStatus({ sources: built.ports, notifier, log });
  const refresh = async (): Promise<void> => {
    const view = await status.read();
    const icon = trayIcon(view.state);
    t.setImage(icon);
    // macOS shows nothing clickable for an empty image: a title keeps the menu reachable without icons.
    if (process.platform === 'darwin') t.setTitle(icon.isEmpty() ? 'Coffer' : '');
    t.setToolTip(view.tooltip);
    const folderId = view.folderId;
    t.setContextMenu(
      Menu.buildFromTemplate([
        { label: menuLabel(view.status), enabled: false },
        ...view.detail.map((line) => ({ label: menuLabel(line), enabled: false })),
        ...(folderId === null
          ? []
          : [
              {
                label: 'Show files in the clear…',
                click: () => {
                  showFolder(folderId);
                },
              },
            ]),
        { type: 'separator' },
        {
          label: 'Protect now',
          click: () => {
            const protectAll = async (): Promise<void> => {
              for (const f of await built.ports.folders.list())
                await built.ports.folders.protect(f.id).catch((e: unknown) => {
                  log(`protect: ${String(e)}`);
                });
            };
            protectAll().catch((e: unknown) => {
              log(`protect: ${String(e)}`);
            });
          },
        },
        { label: 'Lock (close open files)', click: () => void lock('user') },
        {
          label: 'Check for updates',
          click: () => void built.handlers.checkForUpdates({}),
        },
        { label: 'Open Coffer', click: showWindow },
        { type: 'separator' },
        {
          label: 'Quit',
          click: () => {
            app.quit();
          },
        },
      ]),
    );
  };
  // At most one refresh every 2 s: auto-protect announces every batch it protects.
  const refreshOnce = coalesce(
    refresh,
    (e) => {
      log(`tray: ${String(e)}`);
    },
    2_000,
  );
  void refreshOnce();
  built.onChange(() => void refreshOnce());
  // Some changes come with no event (a lock file going stale, the status cache's own rescans), and files that
  // stay in the clear are told only after a later look: refresh every minute as well.
  setInterval(() => void refreshOnce(), 60_000).unref();
  return t;
}

let built: BuiltApp | null = null;

// `.coffer` files the OS asks us to open (file association, issue 12 item 6; open-file.ts does the work).
/** Leading argv entries that are the program: `electron <app path>` in development, the binary when packaged. */
const ARGV_SKIP = process.defaultApp ? 2 : 1;
/** Files handed over before the app was built: macOS sends `open-file` before `ready`. */
const openedEarly: string[] = [];

function openFiles(paths: string[]): void {
  if (paths.length === 0) return;
  if (!built) {
    openedEarly.push(...paths);
    return;
  }
  built.openedFiles.add(paths);
  showWindow();
}

/** `coffer.updateUrl` that electron-builder.ts bakes into the packaged package.json (COFFER_UPDATE_URL). */
async function builtInUpdateUrl(): Promise<string | undefined> {
  try {
    const text = await fs.readFile(path.join(app.getAppPath(), 'package.json'), 'utf8');
    const url = (JSON.parse(text) as { coffer?: { updateUrl?: unknown } }).coffer?.updateUrl;
    return typeof url === 'string' && url !== '' ? url : undefined;
  } catch {
    return undefined;
  }
}

async function lock(reason: LockReason): Promise<void> {
  if (!built) return;
  try {
    const wiped = await built.lock(reason);
    log(`locked (${reason}): ${wiped} file(s) wiped from the edit workspace`);
  } catch (error) {
    log(`lock failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function start(): Promise<void> {
  app.on('web-contents-created', (_event, contents) => {
    lockDown(contents);
  });
  // A double-click while Coffer runs starts a second instance, which quits at once: its argv lands here.
  app.on('second-instance', (_event, argv, workingDirectory) => {
    const files = cofferPathsFromArgv(argv, { cwd: workingDirectory, skip: ARGV_SKIP });
    if (files.length > 0) openFiles(files);
    else showWindow();
  });
  // macOS: registered before `ready`, since a double-click that launches the app fires it first.
  app.on('open-file', (event, file) => {
    event.preventDefault();
    openFiles([file]);
  });

  await app.whenReady();

  // Deny every permission (camera, notifications, geolocation, …): Coffer needs none.
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => {
    callback(false);
  });
  session.defaultSession.setPermissionCheckHandler(() => false);
  protocol.handle(APP_SCHEME, serveAppFile);

  built = await buildApp({
    // The same folder as the CLI's (app-paths.ts), so both share settings and the escrow record.
    userData: appDataHome({ env: process.env, platform: process.platform, homedir: os.homedir() }),
    allowPolicyOverride: !app.isPackaged,
    dialog: dialogs,
    shell: shellPort,
    emit: send,
    log,
    // The packaged binary has runAsNode off: the keychain helper runs as a utilityProcess (issue 12 item 2).
    keychainLauncher: new UtilityProcessLauncher(),
    updates: {
      platform: process.platform,
      isPackaged: app.isPackaged,
      resourcesPath: process.resourcesPath,
      builtInUrl: await builtInUpdateUrl(),
      macCodeSigned: app.isPackaged && process.platform === 'darwin',
    },
  });
  const app_ = built;
  bindAll(app_.handlers, { trustedOrigin: APP_ORIGIN, log }, (method, bound) => {
    ipcMain.handle(channelOf(method), (event, payload: unknown) => bound(senderOf(event), payload));
  });

  // Queued before the window exists: its renderer takes them when it starts (takeOpenedFiles).
  app_.openedFiles.add([
    ...openedEarly.splice(0),
    ...cofferPathsFromArgv(process.argv, { cwd: process.cwd(), skip: ARGV_SKIP }),
  ]);
  window = createWindow();
  tray = buildTray(app_);

  powerMonitor.on('suspend', () => void lock('suspend'));
  powerMonitor.on('lock-screen', () => void lock('lock-screen'));
  // Idle auto-lock: system idle time (the user away from the whole machine, not just from Coffer).
  const autoLock = new AutoLock(() => app_.autoLockMinutes());
  const idleTimer = setInterval(() => {
    if (autoLock.tick(powerMonitor.getSystemIdleTime(), app_.openFiles())) void lock('idle');
  }, AUTO_LOCK_TICK_MS);

  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    quitting = true;
    clearInterval(idleTimer);
    void lock('quit').finally(() => {
      tray?.destroy();
      void app_.close().finally(() => {
        app.quit();
      });
    });
  });
  app.on('window-all-closed', () => {
    // Stay in the tray: protection keeps running with the window closed.
  });
  app.on('activate', showWindow);
}
