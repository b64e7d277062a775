/**
 * The window's security settings in one electron-free module, so a test can assert them and main cannot
 * drift from them: DESIGN.md "Processes" (contextIsolation, sandbox, no nodeIntegration, strict CSP, no
 * remote content, window-open denied, navigation locked).
 */

/** The app's own scheme: the UI is served from packaged files through it, never from the network. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'coffer';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

/**
 * No 'unsafe-inline', no 'unsafe-eval', nothing remote. React sets inline styles through the CSSOM, which
 * style-src does not govern, so no style attribute allowance is needed.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** The subset of Electron's WebPreferences we set, spelled out so a test can compare them one by one. */
export interface SecureWebPreferences {
  preload: string;
  contextIsolation: true;
  sandbox: true;
  nodeIntegration: false;
  nodeIntegrationInWorker: false;
  nodeIntegrationInSubFrames: false;
  webSecurity: true;
  allowRunningInsecureContent: false;
  experimentalFeatures: false;
  webviewTag: false;
  navigateOnDragDrop: false;
  spellcheck: false;
  safeDialogs: true;
  /** Middle-click would otherwise open links in new windows (defense in depth; window.open is denied too). */
  disableBlinkFeatures: 'Auxclick';
}

/** Everything but webPreferences, which main.ts spells out literally (see there). */
export function windowChrome() {
  return {
    width: 1180,
    height: 780,
    minWidth: 880,
    minHeight: 600,
    show: false,
    title: 'Coffer',
    backgroundColor: '#f6f7f9',
    autoHideMenuBar: true,
  };
}

/** Navigation is allowed only within the app's own origin (in-app hash routes); everything else is denied. */
export function isAllowedNavigation(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST;
  } catch {
    return false;
  }
}

/**
 * Maps an `app://coffer/<path>` request to a file under the renderer's root, refusing anything that would
 * leave it (`..`, encoded separators, absolute paths). Returns the relative path, or null to answer 404.
 */
export function appRequestPath(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST) return null;
  let path: string;
  try {
    path = decodeURIComponent(parsed.pathname);
  } catch {
    return null;
  }
  if (path === '/' || path === '') path = '/index.html';
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '..' || p === '.' || p.includes('\\') || p.includes('\0'))) return null;
  return parts.join('/');
}

export const MIME_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
  json: 'application/json',
  ico: 'image/x-icon',
};

export function mimeOf(path: string): string {
  const ext = path.split('.').pop()?.toLowerCase() ?? '';
  return MIME_TYPES[ext] ?? 'application/octet-stream';
}
