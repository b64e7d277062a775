/**
 * Reviewer R1's attacks on the guard rails' exclusion globs (issue 10 item 1): a policy or user glob
 * with many wildcards against a crafted file name must not freeze the walk or the watcher's filter (which
 * runs in the app's main process), and the linear matcher means what the documented glob means.
 */
import { describe, expect, it } from 'vitest';
import { GuardRails, compileGlob, globToRegExp } from './guard-rails.js';

const rails = new GuardRails({
  platform: 'linux',
  homedir: '/home/u',
  env: {},
  appHome: '/home/u/.config/Coffer',
});

describe('exclusion globs against crafted names', () => {
  it('`*a*a*…*b` against a 250-character name answers at once (a backtracking regex took minutes)', () => {
    const guard = rails.forTree('/home/u/Docs', {
      policy: ['*a*a*a*a*a*a*a*a*a*a*a*a*b', 'x/**/*a*a*a*a*a*a*a*a*a*a*c'],
    });
    const started = performance.now();
    expect(guard.file(`/home/u/Docs/${'a'.repeat(250)}`)).toBeNull();
    expect(guard.file(`/home/u/Docs/x/${'a/'.repeat(60)}${'a'.repeat(120)}`)).toBeNull();
    expect(guard.file(`/home/u/Docs/${'a'.repeat(248)}b`)?.code).toBe('EXCLUDED');
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('means what the regex form means, on every shape', () => {
    const patterns = [
      '*.pst',
      'build/**',
      '**/cache',
      'report?.doc',
      'a*b*c',
      '**',
      'x/**/y/*.z',
      '*',
      'a**b',
      '[x]+(y).{z}$',
    ];
    const names = [
      'mail.pst',
      'a/mail.pst',
      'build/x/y.o',
      'build',
      'a/b/cache',
      'cache',
      'xcache',
      'report1.doc',
      'report/.doc',
      'abc',
      'a/b/c',
      'axxbyyc',
      'x/y/q.z',
      'x/a/b/y/q.z',
      'x/y/a/q.z',
      '',
      'a/b',
      'ab',
      'a/x/b',
      '[x]+(y).{z}$',
      'x+(y).{z}$',
    ];
    for (const p of patterns)
      for (const n of names) expect(compileGlob(p)(n), `${p} ~ ${n}`).toBe(globToRegExp(p, false).test(n));
  });

  it('agrees with the regex form on 20,000 random short patterns and names', () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pick = (alphabet: string[], max: number): string =>
      Array.from({ length: rand(max + 1) }, () => alphabet[rand(alphabet.length)] ?? '').join('');
    for (let i = 0; i < 20_000; i++) {
      const p = pick(['a', 'b', '/', '*', '**', '**/', '?'], 5);
      const n = pick(['a', 'b', '/'], 7);
      expect(compileGlob(p)(n), `${p} ~ ${n}`).toBe(globToRegExp(p, false).test(n));
    }
  });
});

describe('Windows spellings of forbidden folders', () => {
  const win = new GuardRails({
    platform: 'win32',
    homedir: 'C:\\Users\\me',
    env: {
      SystemDrive: 'C:',
      SystemRoot: 'C:\\Windows',
      APPDATA: 'C:\\Users\\me\\AppData\\Roaming',
      LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local',
    },
    appHome: 'C:\\Users\\me\\AppData\\Roaming\\Coffer',
  });

  it('trailing dots and spaces, \\\\?\\ and \\\\.\\ prefixes, a folder stream: refused like the plain name', () => {
    for (const spelling of [
      'C:\\Users\\me.',
      'C:\\Users\\me ',
      'C:\\Users\\me. . ',
      '\\\\?\\C:\\Users\\me',
      '\\\\.\\C:\\Users\\me',
      'C:\\Users\\me::$INDEX_ALLOCATION',
      'C:/users/ME/',
    ])
      expect(win.forbiddenReason(spelling), spelling).toMatch(/your home folder/);
    expect(win.forbiddenReason('C:\\Windows.\\System32')).toMatch(/system folder/);
    expect(win.forbiddenReason('\\\\?\\C:\\Users\\me\\AppData.\\Roaming\\Microsoft\\Protect')).not.toBeNull();
    expect(win.forbiddenReason('C:\\Users\\me\\AppData\\Roaming\\Coffer. ')).toMatch(/Coffer’s own data/);
    // A normal folder is still a normal folder.
    expect(win.forbiddenReason('C:\\Users\\me\\Documents\\Clients.')).toBeNull();
  });

  it('the walk sees a forbidden folder however the rule was spelled', () => {
    const guard = win.forTree('C:\\Users\\me\\Documents');
    const rails = new GuardRails({
      platform: 'win32',
      homedir: 'C:\\Users\\me',
      env: {},
      appHome: '\\\\?\\C:\\Users\\me\\Documents\\CofferData',
    });
    expect(rails.forTree('C:\\Users\\me\\Documents').dir('C:\\Users\\me\\Documents\\CofferData')?.code).toBe(
      'FORBIDDEN_PATH',
    );
    expect(guard.dir('C:\\Users\\me\\Documents\\Sub')).toBeNull();
  });
});

describe('macOS spellings of forbidden folders', () => {
  it('a home folder with an accent, typed decomposed (e + U+0301): its keychains are still refused', () => {
    const mac = new GuardRails({
      platform: 'darwin',
      homedir: '/Users/Jos\u00e9',
      env: {},
      appHome: '/Users/Jos\u00e9/Library/Application Support/Coffer',
    });
    expect(mac.forbiddenReason('/Users/Jose\u0301')).toMatch(/your home folder/);
    expect(mac.forbiddenReason('/Users/JOSE\u0301/Library/Keychains')).toMatch(/Library|keychain/);
    expect(mac.forbiddenReason('/Users/Jose\u0301/Documents')).toBeNull();
  });
});
