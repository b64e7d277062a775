import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ORIGIN, CONTENT_SECURITY_POLICY, appRequestPath, isAllowedNavigation } from './security.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const mainSource = fs.readFileSync(path.join(ROOT, 'electron/main/main.ts'), 'utf8');

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name ?? '', values]),
  );
}

/** What DESIGN.md "Processes" asks of the window (the SecureWebPreferences type makes main spell exactly this). */
const SECURE_OPTIONS = {
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
};

describe('window options', () => {
  it('main creates its window with exactly those options, held to them by the compiler', () => {
    const literal =
      /new BrowserWindow\(\{[\s\S]*?webPreferences: \{([\s\S]*?)\} satisfies SecureWebPreferences/.exec(
        mainSource,
      );
    expect(literal, 'main.ts must spell out webPreferences `satisfies SecureWebPreferences`').not.toBeNull();
    const body = literal?.[1] ?? '';
    for (const [key, value] of Object.entries(SECURE_OPTIONS)) {
      expect(body).toContain(`${key}: ${typeof value === 'string' ? `'${value}'` : String(value)},`);
    }
    expect(mainSource.match(/new BrowserWindow\(/g)).toHaveLength(1);
  });

  it('main denies window.open, foreign navigation, webviews and every permission', () => {
    expect(mainSource).toMatch(/setWindowOpenHandler\(\(\) => \(\{ action: 'deny' \}\)\)/);
    expect(mainSource).toMatch(/'will-navigate'[\s\S]*?isAllowedNavigation/);
    expect(mainSource).toMatch(/'will-attach-webview'[\s\S]*?preventDefault/);
    expect(mainSource).toMatch(
      /setPermissionRequestHandler\(\(_contents, _permission, callback\) => \{\s*callback\(false\)/,
    );
    expect(mainSource).toMatch(/setPermissionCheckHandler\(\(\) => false\)/);
    expect(mainSource).toMatch(/requestSingleInstanceLock\(\)/);
    // The UI comes from the app's own files through its protocol, with the CSP header on every response.
    expect(mainSource).toMatch(/'content-security-policy': CONTENT_SECURITY_POLICY/);
    expect(mainSource).toMatch(/loadURL\(APP_ENTRY\)/);
  });
});

describe('content security policy', () => {
  const csp = directives(CONTENT_SECURITY_POLICY);

  it('allows nothing inline, nothing evaluated and nothing remote', () => {
    expect(CONTENT_SECURITY_POLICY).not.toMatch(
      /unsafe-inline|unsafe-eval|unsafe-hashes|wasm-unsafe-eval|\*|https?:|data:\s*;?\s*$/,
    );
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('style-src')).toEqual(["'self'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
  });

  it('is also in index.html (minus frame-ancestors, which a meta tag cannot carry)', () => {
    const html = fs.readFileSync(path.join(ROOT, 'renderer/index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBeDefined();
    const expected = new Map(csp);
    expected.delete('frame-ancestors');
    expect(directives(meta ?? '')).toEqual(expected);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/\sstyle=/);
  });
});

describe('navigation and the app protocol', () => {
  it('allows only the app origin', () => {
    expect(isAllowedNavigation(`${APP_ORIGIN}/index.html#/files`)).toBe(true);
    for (const url of [
      'https://example.com/',
      'file:///etc/passwd',
      'app://other/index.html',
      'javascript:alert(1)',
      'not a url',
    ]) {
      expect(isAllowedNavigation(url), url).toBe(false);
    }
  });

  it('maps app:// requests into the renderer folder and refuses to leave it', () => {
    expect(appRequestPath('app://coffer/')).toBe('index.html');
    expect(appRequestPath('app://coffer/assets/index-1.js')).toBe('assets/index-1.js');
    // The URL parser resolves literal dot segments first: the result stays inside the renderer folder.
    expect(appRequestPath('app://coffer/../main/main.js')).toBe('main/main.js');
    for (const url of [
      'app://coffer/a%2f..%2f..%2fsecret',
      'app://coffer/a%5c..%5cb',
      'app://coffer/a%00b',
      'app://evil/index.html',
      'https://coffer/index.html',
      'app://coffer/%E0%A4%A',
    ]) {
      expect(appRequestPath(url), url).toBeNull();
    }
  });
});
