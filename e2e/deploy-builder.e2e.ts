/**
 * The installer configuration (electron-builder.ts), checked offline:
 * - electron-builder itself finds and loads the file, and its schema validation (the step it runs before it
 *   downloads anything) accepts it;
 * - signing and notarization come only from the environment;
 * - the policy templates in build/policy/ name exactly the settings Coffer reads;
 * - a real Linux package (`--linux dir`) is made from a fresh build with a stand-in Electron binary (the real
 *   one is a GitHub download these machines cannot make), and its app.asar holds the app code and production
 *   dependencies only; the CLI inside it runs from the extracted archive.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { build as viteBuild } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Configuration } from 'electron-builder';
import { APP_ID, cofferBuildConfig, EXECUTABLE, hasNotaryCredentials } from '../electron-builder.js';
import { TRAY_STATES } from '../electron/main/tray-state.js';
import { COFFER_BUNDLE_ID } from '../electron/services/policy/platform.js';
import { POLICY_KEYS } from '../electron/services/policy/schema.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

interface BuilderConfigModule {
  getConfig(
    projectDir: string,
    configPath: string | null,
    configFromOptions: unknown,
  ): Promise<Configuration>;
  validateConfiguration(config: Configuration, debugLogger: unknown): Promise<void>;
}
interface DebugLoggerModule {
  DebugLogger: new (isEnabled: boolean) => unknown;
}
interface AsarModule {
  listPackage(archive: string, options?: { isPack: boolean }): string[];
  extractAll(archive: string, dest: string): void;
}
// electron-builder's own loader and validator: the functions `electron-builder build` calls first.
const builderConfig = require('app-builder-lib/out/util/config/config.js') as BuilderConfigModule;
const { DebugLogger } = require('builder-util/out/DebugLogger.js') as DebugLoggerModule;
const asar = require('@electron/asar') as AsarModule;

describe('electron-builder configuration (offline)', () => {
  it('is found by electron-builder in the project and passes its schema validation', async () => {
    const config = await builderConfig.getConfig(ROOT, null, null);
    expect(config.appId).toBe(APP_ID);
    expect(config.appId).toBe(COFFER_BUNDLE_ID); // macOS managed preferences are filed under it
    await expect(
      builderConfig.validateConfiguration(config, new DebugLogger(false)),
    ).resolves.toBeUndefined();
  });

  it('the validation can fail: a misspelled option is refused', async () => {
    const config = { ...cofferBuildConfig({}), nsis: { oneClik: false } } as unknown as Configuration;
    await expect(builderConfig.validateConfiguration(config, new DebugLogger(false))).rejects.toThrow(
      /configuration\.nsis/,
    );
  });

  it('builds every installer IT asked for, per machine', () => {
    const config = cofferBuildConfig({});
    const targets = (platform: { target?: unknown } | null | undefined): string[] =>
      ((platform?.target ?? []) as (string | { target: string })[]).map((t) =>
        typeof t === 'string' ? t : t.target,
      );
    expect(targets(config.win)).toEqual(['nsis', 'msi']);
    expect(targets(config.mac)).toEqual(['dmg', 'pkg']);
    expect(targets(config.linux)).toEqual(['AppImage', 'deb', 'rpm']);
    expect(config.nsis).toMatchObject({ perMachine: true, oneClick: false });
    expect(config.msi).toMatchObject({ perMachine: true });
    // Double-clicking a .coffer file opens it in Coffer (electron/main/open-file.ts): on Windows NSIS registers
    // the extension only in a per-machine install (perMachine above).
    expect(config.fileAssociations).toEqual([
      expect.objectContaining({
        ext: 'coffer',
        mimeType: 'application/x-coffer',
        role: 'Viewer',
        rank: 'Owner',
      }),
    ]);
    expect(config.mac).toMatchObject({ hardenedRuntime: true, entitlements: 'build/entitlements.mac.plist' });
    for (const file of [
      'build/icon.ico',
      'build/icon.icns',
      'build/icons/512x512.png',
      'build/entitlements.mac.plist',
      'build/entitlements.mac.inherit.plist',
      'build/installer.nsh',
      'build/linux/after-install.sh',
      'build/linux/after-remove.sh',
    ]) {
      expect(fs.existsSync(path.join(ROOT, file)), file).toBe(true);
    }
  });

  it('takes signing and notarization from the environment only', () => {
    const unsigned = cofferBuildConfig({});
    expect(unsigned.mac?.notarize).toBe(false);
    expect(unsigned.win?.azureSignOptions).toBeUndefined();
    expect(unsigned.extraMetadata).toMatchObject({ coffer: { updateUrl: null } });

    const env = {
      APPLE_API_KEY: '/secure/AuthKey.p8',
      APPLE_API_KEY_ID: 'ABC123',
      APPLE_API_ISSUER: '69a6de7e-0000-0000-0000-000000000000',
      AZURE_TRUSTED_SIGNING_ENDPOINT: 'https://weu.codesigning.azure.net',
      AZURE_TRUSTED_SIGNING_ACCOUNT: 'corp',
      AZURE_TRUSTED_SIGNING_PROFILE: 'coffer',
      COFFER_WIN_PUBLISHER_NAME: 'Example Corp Ltd',
      COFFER_UPDATE_URL: 'https://updates.example.com/coffer/',
    };
    const signed = cofferBuildConfig(env);
    expect(signed.mac?.notarize).toBe(true);
    expect(signed.win?.azureSignOptions).toMatchObject({
      endpoint: env.AZURE_TRUSTED_SIGNING_ENDPOINT,
      publisherName: 'Example Corp Ltd',
    });
    expect(signed.win?.signtoolOptions?.publisherName).toEqual(['Example Corp Ltd']);
    expect(signed.publish).toEqual([{ provider: 'generic', url: env.COFFER_UPDATE_URL }]);
    const halfAzure: Record<string, string | undefined> = { ...env, COFFER_WIN_PUBLISHER_NAME: undefined };
    expect(() => cofferBuildConfig(halfAzure)).toThrow(/COFFER_WIN_PUBLISHER_NAME/);
    expect(hasNotaryCredentials({ APPLE_ID: 'a@example.com', APPLE_TEAM_ID: 'T' })).toBe(false);

    // Nothing that looks like key material or a password is committed next to the configuration.
    const committed = execFileSync('git', ['ls-files', 'build', 'electron-builder.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(
      committed.split('\n').filter((f) => /\.(p12|pfx|p8|pem|key|cer|provisionprofile)$/i.test(f)),
    ).toEqual([]);
  });

  it('the policy templates name exactly the settings Coffer reads', () => {
    const linux = JSON.parse(
      fs.readFileSync(path.join(ROOT, 'build/policy/linux/policy.json'), 'utf8'),
    ) as object;
    expect(Object.keys(linux).sort()).toEqual([...POLICY_KEYS].sort());

    const admx = fs.readFileSync(path.join(ROOT, 'build/policy/windows/Coffer.admx'), 'utf8');
    const valueNames = new Set([...admx.matchAll(/valueName="([^"]+)"/g)].map((m) => m[1]));
    expect([...valueNames].sort()).toEqual([...POLICY_KEYS].sort());
    expect(admx).toContain('key="Software\\Policies\\Coffer"');
    const adml = fs.readFileSync(path.join(ROOT, 'build/policy/windows/en-US/Coffer.adml'), 'utf8');
    for (const ref of admx.matchAll(/\$\((string|presentation)\.([^)]+)\)/g)) {
      const kind = ref[1] === 'string' ? 'string' : 'presentation';
      expect(adml, `${kind} ${ref[2] ?? ''}`).toContain(`<${kind} id="${ref[2] ?? ''}"`);
    }

    const profile = fs.readFileSync(path.join(ROOT, 'build/policy/macos/Coffer.mobileconfig'), 'utf8');
    const keys = new Set([...profile.matchAll(/<key>([^<]+)<\/key>/g)].map((m) => m[1]));
    for (const key of POLICY_KEYS) expect(keys.has(key), key).toBe(true);
    expect(profile).toContain(`<string>${COFFER_BUNDLE_ID}</string>`);
  });

  it('the Linux install scripts use only the macros electron-builder fills in, and are valid shell', () => {
    for (const script of ['build/linux/after-install.sh', 'build/linux/after-remove.sh']) {
      const text = fs.readFileSync(path.join(ROOT, script), 'utf8');
      const macros = new Set([...text.matchAll(/\$\{([a-zA-Z]+)\}/g)].map((m) => m[1]));
      expect(
        [...macros].every((m) => m === 'executable' || m === 'sanitizedProductName'),
        script,
      ).toBe(true);
      expect(spawnSync('bash', ['-n', path.join(ROOT, script)]).status, script).toBe(0);
    }
    expect(fs.readFileSync(path.join(ROOT, 'build/linux/after-install.sh'), 'utf8')).toContain(
      '/usr/bin/coffer',
    );
  });
});

/** The production dependency closure, as installed: what app.asar must hold, no more, no less. */
function productionPackages(): Set<string> {
  const rootPkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  const seen = new Set<string>();
  const visit = (name: string, optional: boolean): void => {
    if (seen.has(name)) return;
    const manifest = path.join(ROOT, 'node_modules', name, 'package.json');
    if (!fs.existsSync(manifest)) {
      if (optional) return; // another platform's optional binary package
      throw new Error(`production dependency ${name} is not installed`);
    }
    seen.add(name);
    const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, true);
  };
  for (const dep of Object.keys(rootPkg.dependencies ?? {})) visit(dep, false);
  for (const dep of Object.keys(rootPkg.optionalDependencies ?? {})) visit(dep, true);
  return seen;
}

describe('Linux package (electron-builder --linux dir, stand-in Electron binary)', () => {
  let stage: string;
  let resources: string;
  let files: string[];
  /** The LinuxPackager of the real build (from afterPack): its Linux integration is checked below. */
  let linuxPackager: unknown;

  beforeAll(async () => {
    // Staged inside the project (test-results/ is git-ignored) so node_modules can be hard-linked: npm,
    // which electron-builder asks for the dependency tree, does not follow a symlinked node_modules.
    fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
    stage = fs.mkdtempSync(path.join(ROOT, 'test-results', 'deploy-stage-'));
    for (const file of ['package.json', 'package-lock.json', 'bin/coffer.js']) {
      fs.mkdirSync(path.dirname(path.join(stage, file)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, file), path.join(stage, file));
    }
    fs.cpSync(path.join(ROOT, 'build'), path.join(stage, 'build'), { recursive: true });
    if (
      spawnSync('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules')]).status !== 0
    ) {
      fs.cpSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'), {
        recursive: true,
        verbatimSymlinks: true,
      });
    }

    // The app build (npm run build), into the stage: tsc, the renderer (Vite), the preload bundle (esbuild).
    // Type errors are the typecheck step's business; here only the emitted files matter.
    spawnSync(
      process.execPath,
      [
        require.resolve('typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        path.join(stage, 'dist'),
      ],
      { cwd: ROOT },
    );
    await viteBuild({
      configFile: path.join(ROOT, 'vite.config.ts'),
      logLevel: 'warn',
      build: { outDir: path.join(stage, 'dist/renderer'), emptyOutDir: true },
    });
    await esbuild({
      entryPoints: [path.join(ROOT, 'electron/preload/preload.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      external: ['electron'],
      outfile: path.join(stage, 'dist/preload/preload.cjs'),
      logLevel: 'warning',
    });
    expect(fs.existsSync(path.join(stage, 'dist/electron/main/main.js'))).toBe(true);

    // A stand-in for Electron's Linux distribution: electron-builder copies it and renames `electron`.
    const fakeElectron = path.join(stage, 'electron-dist');
    fs.mkdirSync(path.join(fakeElectron, 'resources'), { recursive: true });
    fs.writeFileSync(path.join(fakeElectron, 'electron'), '#!/bin/sh\necho stand-in\n', { mode: 0o755 });
    fs.writeFileSync(path.join(fakeElectron, 'chrome-sandbox'), '');
    fs.writeFileSync(path.join(fakeElectron, 'LICENSE'), '');

    const { build, Platform } = await import('electron-builder');
    const config: Configuration = {
      ...cofferBuildConfig({}),
      electronDist: fakeElectron,
      electronFuses: null, // fuses are flipped in the real binary; the stand-in has none
      directories: { output: path.join(stage, 'out'), buildResources: 'build' },
      afterPack: (context) => {
        linuxPackager = context.packager;
      },
    };
    await build({ projectDir: stage, targets: Platform.LINUX.createTarget('dir'), config, publish: 'never' });
    resources = path.join(stage, 'out', 'linux-unpacked', 'resources');
    files = asar.listPackage(path.join(resources, 'app.asar'), { isPack: false });
  }, 240_000);

  afterAll(() => {
    if (stage) fs.rmSync(stage, { recursive: true, force: true });
  });

  it('app.asar holds the compiled app, the CLI entry and package.json', () => {
    for (const file of [
      '/package.json',
      '/bin/coffer.js',
      '/dist/electron/main/main.js',
      '/dist/cli/main.js',
      '/dist/renderer/index.html',
      '/dist/preload/preload.cjs',
    ]) {
      expect(files, file).toContain(file);
    }
    const top = new Set(files.map((f) => f.split('/')[1]));
    expect([...top].sort()).toEqual(['bin', 'dist', 'node_modules', 'package.json']);
    console.info(
      `app.asar: ${files.length} entries, ${fs.statSync(path.join(resources, 'app.asar')).size} bytes`,
    );
  });

  it('registers .coffer for the app on Linux: MimeType in its .desktop entry, a shared-mime-info glob', async () => {
    // electron-builder's own Linux integration (what its deb and rpm targets install), over the real packager.
    const { LinuxTargetHelper } = require('app-builder-lib/out/targets/LinuxTargetHelper.js') as {
      LinuxTargetHelper: new (packager: unknown) => {
        computeDesktopEntry(options: unknown): string | Promise<string>;
        mimeTypeFiles: Promise<string | null>;
      };
    };
    const helper = new LinuxTargetHelper(linuxPackager);
    const options = (linuxPackager as { platformSpecificBuildOptions: unknown }).platformSpecificBuildOptions;
    const entry = await helper.computeDesktopEntry(options);
    expect(entry).toMatch(/^MimeType=application\/x-coffer;$/m);
    // %U: the file manager hands the file over (as a path or file:// URL: open-file.ts takes both).
    expect(entry).toMatch(new RegExp(`^Exec=/opt/Coffer/${EXECUTABLE} %U$`, 'm'));
    const xmlFile = await helper.mimeTypeFiles;
    expect(xmlFile).not.toBeNull();
    const xml = fs.readFileSync(xmlFile ?? '', 'utf8');
    expect(xml).toContain('<mime-type type="application/x-coffer">');
    expect(xml).toContain('<glob pattern="*.coffer"/>');
    // The real shared-mime-info compiler (update-mime-database, run by after-install.sh) takes it.
    const umd = spawnSync('update-mime-database', ['-v']);
    if (umd.error) {
      console.warn(
        '[deploy] update-mime-database is not installed (apt-get install shared-mime-info): not run',
      );
      return;
    }
    const mime = path.join(stage, 'mime');
    fs.mkdirSync(path.join(mime, 'packages'), { recursive: true });
    fs.copyFileSync(xmlFile ?? '', path.join(mime, 'packages', `${EXECUTABLE}.xml`));
    const run = spawnSync('update-mime-database', [mime], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(fs.readFileSync(path.join(mime, 'globs2'), 'utf8')).toMatch(/:application\/x-coffer:\*\.coffer$/m);
  });

  it('holds no tests, sources, source maps or type declarations', () => {
    const offenders = files.filter((f) =>
      /\.(test|e2e)\.[cm]?[jt]s$|\.tsx?$|\.[cm]ts$|\.map$|\/testdata\//.test(f),
    );
    expect(offenders).toEqual([]);
  });

  it('holds exactly the production dependencies: none missing, no dev dependency', () => {
    const expected = productionPackages();
    const packaged = new Set(
      files.flatMap((f) => {
        const m = /^\/node_modules\/((?:@[^/]+\/)?[^/]+)\/package\.json$/.exec(f);
        return m?.[1] !== undefined ? [m[1]] : [];
      }),
    );
    expect([...expected].filter((p) => !packaged.has(p))).toEqual([]);
    expect([...packaged].filter((p) => !expected.has(p))).toEqual([]);
    for (const dev of [
      'electron',
      'electron-builder',
      'vitest',
      'typescript',
      'vite',
      'eslint',
      'tsx',
      'playwright-core',
    ]) {
      expect(packaged.has(dev), dev).toBe(false);
    }
  });

  it('unpacks native modules, and packs only the target platform’s prebuilds', () => {
    const unpacked = path.join(resources, 'app.asar.unpacked', 'node_modules');
    expect(fs.readdirSync(path.join(unpacked, 'sodium-native', 'prebuilds'))).toEqual([
      `linux-${process.arch}`,
    ]);
    const nodeFiles = files.filter((f) => f.endsWith('.node'));
    expect(nodeFiles.length).toBeGreaterThan(0);
    for (const f of nodeFiles)
      expect(fs.existsSync(path.join(resources, 'app.asar.unpacked', f)), f).toBe(true);
    expect(files.filter((f) => /\/prebuilds\/(?!linux-)/.test(f))).toEqual([]);
  });

  it('ships the tray icons where main.ts reads them (resources/tray), for every state at 1x and @2x', () => {
    for (const state of TRAY_STATES)
      for (const file of [`tray-${state}.png`, `tray-${state}@2x.png`, `tray-${state}Template.png`])
        expect(fs.existsSync(path.join(resources, 'tray', file)), file).toBe(true);
  });

  it('ships the coffer command and the update config, and the CLI runs from the packaged files', () => {
    const cli = path.join(resources, 'bin', 'coffer');
    expect(fs.statSync(cli).mode & 0o111).not.toBe(0);
    expect(fs.existsSync(path.join(resources, 'bin', 'coffer.cmd'))).toBe(true);
    expect(fs.existsSync(path.join(stage, 'out', 'linux-unpacked', EXECUTABLE))).toBe(true);
    // Unsigned build: no publisher name, so a Windows build like it would refuse to update (update-decision.ts).
    expect(fs.readFileSync(path.join(resources, 'app-update.yml'), 'utf8')).not.toContain('publisherName');

    // What `coffer` runs (dist/cli in the app's main process, --coffer-cli), done with this Node on the extracted archive: proves
    // the packaged dependency set is complete enough to load every CLI module and libsodium.
    const extracted = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-asar-'));
    try {
      asar.extractAll(path.join(resources, 'app.asar'), extracted);
      fs.cpSync(path.join(resources, 'app.asar.unpacked'), extracted, { recursive: true });
      const packagedJson = JSON.parse(
        fs.readFileSync(path.join(extracted, 'package.json'), 'utf8'),
      ) as Record<string, unknown>;
      expect(packagedJson.coffer).toEqual({ updateUrl: null });
      const vector = path.join(ROOT, 'crypto', 'testdata', 'ok-recovery-key-opens.coffer');
      const run = spawnSync(
        process.execPath,
        [path.join(extracted, 'bin', 'coffer.js'), '--json', 'inspect', vector],
        {
          encoding: 'utf8',
          env: { ...process.env, COFFER_HOME: extracted },
        },
      );
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/recovery/);
    } finally {
      fs.rmSync(extracted, { recursive: true, force: true });
    }
  });
});
