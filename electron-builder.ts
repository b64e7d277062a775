/**
 * Installers for Windows (NSIS, MSI), macOS (DMG, PKG) and Linux (AppImage, deb, rpm). electron-builder finds
 * this file by its name and loads it with jiti. docs/DEPLOYMENT.md explains every choice for IT.
 *
 * Nothing secret lives here: signing material comes from the environment when installers are built
 * (CSC_LINK / CSC_KEY_PASSWORD, WIN_CSC_LINK, the Azure Trusted Signing variables, APPLE_API_KEY...), and a
 * build without it is simply unsigned, which also turns self-update off (update-decision.ts).
 */
import type { Configuration } from 'electron-builder';

/** Must match COFFER_BUNDLE_ID in electron/services/policy/platform.ts: macOS files managed preferences under it. */
export const APP_ID = 'com.coffer.desktop';

/** The executable; `coffer` itself is the command-line tool (build/cli/), so the GUI binary is named apart. */
export const EXECUTABLE = 'coffer-app';

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function list(value: string | undefined): string[] | undefined {
  const items = nonEmpty(value)
    ?.split(';')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return items !== undefined && items.length > 0 ? items : undefined;
}

/** A variable that must accompany another: a half-configured signing setup fails the build, loudly. */
function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = nonEmpty(env[name]);
  if (value === undefined)
    throw new Error(`${name} must be set to sign with Azure Trusted Signing (docs/DEPLOYMENT.md)`);
  return value;
}

/** The three ways @electron/notarize takes credentials; notarization runs only when one is complete. */
export function hasNotaryCredentials(env: NodeJS.ProcessEnv): boolean {
  const all = (...names: string[]): boolean => names.every((name) => nonEmpty(env[name]) !== undefined);
  return (
    all('APPLE_API_KEY', 'APPLE_API_KEY_ID', 'APPLE_API_ISSUER') ||
    all('APPLE_ID', 'APPLE_APP_SPECIFIC_PASSWORD', 'APPLE_TEAM_ID') ||
    all('APPLE_KEYCHAIN', 'APPLE_KEYCHAIN_PROFILE')
  );
}

export function cofferBuildConfig(env: NodeJS.ProcessEnv): Configuration {
  const updateUrl = nonEmpty(env.COFFER_UPDATE_URL);
  const publisherName = list(env.COFFER_WIN_PUBLISHER_NAME);
  const azure = nonEmpty(env.AZURE_TRUSTED_SIGNING_ENDPOINT);
  // An unpacked Electron of the locked version, for builds where GitHub cannot be reached (DEPLOYMENT.md §1).
  const electronDist = nonEmpty(env.COFFER_ELECTRON_DIST);

  return {
    appId: APP_ID,
    productName: 'Coffer',
    copyright: 'Copyright © Coffer contributors',
    directories: { output: 'release', buildResources: 'build' },
    ...(electronDist !== undefined && { electronDist }),

    // app.asar holds the compiled app and production dependencies only (e2e/deploy-builder.e2e.ts checks the
    // list): no sources, tests, source maps, or type declarations.
    files: [
      'package.json',
      'bin/coffer.js',
      'dist/**/*',
      '!dist/**/*.map',
      '!dist/**/*.d.ts',
      '!dist/**/*.test.js',
      '!dist/**/*.tsbuildinfo',
      // sodium-native ships prebuilds for a dozen platforms: only the target's goes in (${platform}-${arch}
      // expands per build). @napi-rs/keyring installs only the platform package npm chose, so it needs no rule.
      '!**/node_modules/sodium-native/prebuilds/**',
      '**/node_modules/sodium-native/prebuilds/${platform}-${arch}/**',
      // Bare-runtime binaries and C sources that sodium-native's dependencies ship: never loaded by Electron.
      '!**/node_modules/**/prebuilds/*/*.bare',
      '!**/node_modules/sodium-native/{binding.cc,CMakeLists.txt,extensions/**}',
      // Type declarations, TypeScript sources and source maps of dependencies: not run, only weight.
      '!**/node_modules/**/*.{ts,tsx,mts,cts,map}',
    ],
    // Native code cannot be loaded from inside an asar archive.
    asarUnpack: [
      '**/*.node',
      '**/node_modules/sodium-native/prebuilds/**',
      '**/node_modules/@napi-rs/keyring*/**',
    ],
    // Both native modules are N-API prebuilds, ABI-stable across Node and Electron: rebuilding them would
    // need Electron's headers (a download) and a compiler, and gain nothing.
    npmRebuild: false,
    nodeGypRebuild: false,
    buildDependenciesFromSource: false,
    // The packaged package.json tells the app its update URL (read by the composition root for the updater).
    // deb and rpm require a homepage and an author with e-mail; package.json is private and has neither.
    extraMetadata: {
      coffer: { updateUrl: updateUrl ?? null },
      homepage: nonEmpty(env.COFFER_HOMEPAGE) ?? 'https://coffer.invalid/',
      author: { name: 'Coffer', email: nonEmpty(env.COFFER_MAINTAINER_EMAIL) ?? 'it@coffer.invalid' },
    },
    // The tray's icons per state (electron/main/tray-state.ts), read by path from resources/tray by main.ts.
    extraResources: [
      { from: 'build/cli', to: 'bin', filter: ['coffer', 'coffer.cmd'] },
      { from: 'build', to: 'tray', filter: ['tray-*.png'] },
    ],

    // Double-clicking a protected file opens it in Coffer (issue 12 item 6; electron/main/open-file.ts).
    // macOS: CFBundleDocumentTypes, Coffer the owner of the type; the file arrives as `open-file`. Windows:
    // NSIS and MSI register the extension for all users (NSIS needs perMachine, set below) and hand the file
    // over as an argument. Linux deb/rpm: electron-builder adds MimeType= to the .desktop entry (its Exec
    // ends in %U) and installs a shared-mime-info definition mapping *.coffer to the type
    // (/usr/share/mime/packages/coffer-app.xml), which after-install.sh's update-mime-database registers.
    // An AppImage has no desktop integration of its own. No document icon of its own: the app icon is used.
    fileAssociations: [
      {
        ext: 'coffer',
        name: 'Coffer protected file',
        description: 'File protected by Coffer',
        mimeType: 'application/x-coffer',
        role: 'Viewer', // Coffer shows the file and opens it for editing in the file's own app
        rank: 'Owner',
      },
    ],

    // Electron fuses, flipped in the binary at package time (electron/main/fuses.test.ts checks them). runAsNode is off:
    // with it on, any process of the user could run code as the signed Coffer binary, which the keychain item
    // trusts (issue 12). The keychain helper runs as a utilityProcess and the `coffer` command runs the CLI in
    // the app's main process (electron/main/cli-mode.ts), so nothing needs ELECTRON_RUN_AS_NODE.
    electronFuses: {
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    },

    // app-update.yml is always written, so a signed Windows build records the publisher names electron-updater
    // checks each downloaded installer against, even when only policy sets the URL. `.invalid` never
    // resolves: the URL actually used comes from policy or `coffer.updateUrl` (update-decision.ts).
    publish: [{ provider: 'generic', url: updateUrl ?? 'https://updates.invalid/coffer/' }],

    win: {
      target: [
        // One architecture per build machine: npm installs only that machine's @napi-rs/keyring binary.
        { target: 'nsis', arch: ['x64'] },
        { target: 'msi', arch: ['x64'] },
      ],
      icon: 'build/icon.ico',
      executableName: 'Coffer',
      // Certificate file: CSC_LINK / WIN_CSC_LINK and CSC_KEY_PASSWORD, read by electron-builder itself.
      signtoolOptions: {
        ...(publisherName !== undefined && { publisherName }),
        signingHashAlgorithms: ['sha256'],
        rfc3161TimeStampServer: nonEmpty(env.COFFER_TIMESTAMP_URL) ?? 'http://timestamp.digicert.com',
      },
      // Or a cloud HSM: Azure Trusted Signing, with AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET.
      ...(azure !== undefined && {
        azureSignOptions: {
          endpoint: azure,
          codeSigningAccountName: required(env, 'AZURE_TRUSTED_SIGNING_ACCOUNT'),
          certificateProfileName: required(env, 'AZURE_TRUSTED_SIGNING_PROFILE'),
          publisherName: required(env, 'COFFER_WIN_PUBLISHER_NAME'),
        },
      }),
      verifyUpdateCodeSignature: true,
    },
    nsis: {
      oneClick: false,
      perMachine: true,
      allowElevation: true,
      allowToChangeInstallationDirectory: true,
      deleteAppDataOnUninstall: false, // keys live in the OS keychain, settings beside them: never wipe them
      include: 'build/installer.nsh',
      artifactName: 'Coffer-Setup-${version}-${arch}.${ext}',
    },
    msi: {
      oneClick: false,
      perMachine: true,
      createDesktopShortcut: false,
      // Fixed forever: Windows Installer upgrades a product only when the UpgradeCode stays the same.
      upgradeCode: '6f1d2a8e-3c47-4b0e-9e55-2d9a61c0c0fe',
      artifactName: 'Coffer-${version}-${arch}.${ext}',
    },

    mac: {
      // The build machine's architecture (run once on Apple silicon, once on Intel): npm installs only that
      // machine's @napi-rs/keyring binary, so a universal or cross-arch build would lack one.
      target: ['dmg', 'pkg'],
      icon: 'build/icon.icns',
      category: 'public.app-category.business',
      hardenedRuntime: true,
      gatekeeperAssess: false,
      entitlements: 'build/entitlements.mac.plist',
      entitlementsInherit: 'build/entitlements.mac.inherit.plist',
      // Identity: CSC_LINK / CSC_KEY_PASSWORD (a Developer ID Application .p12), or CSC_NAME from the keychain.
      notarize: hasNotaryCredentials(env),
    },
    dmg: { sign: false }, // the app inside is signed and notarized; a signed DMG adds nothing Gatekeeper checks
    pkg: {
      installLocation: '/Applications',
      allowAnywhere: false,
      allowCurrentUserHome: false,
      isRelocatable: false, // an MDM-pushed app must land in /Applications, not wherever a copy was found
      isVersionChecked: true,
      // Signed with a "Developer ID Installer" identity: CSC_INSTALLER_LINK / CSC_INSTALLER_KEY_PASSWORD.
    },

    linux: {
      target: [
        { target: 'AppImage', arch: ['x64'] },
        { target: 'deb', arch: ['x64'] },
        { target: 'rpm', arch: ['x64'] },
      ],
      icon: 'build/icons',
      category: 'Utility',
      executableName: EXECUTABLE,
      synopsis: 'Keeps customer files encrypted at rest, file by file',
      maintainer: `Coffer <${nonEmpty(env.COFFER_MAINTAINER_EMAIL) ?? 'it@coffer.invalid'}>`,
      vendor: 'Coffer',
    },
    // The device key must live in the Secret Service (DESIGN.md "Keys"): depend on a provider of it.
    deb: {
      depends: ['libsecret-1-0', 'gnome-keyring | org.freedesktop.secrets', 'libnss3', 'libgbm1'],
      afterInstall: 'build/linux/after-install.sh',
      afterRemove: 'build/linux/after-remove.sh',
    },
    rpm: {
      depends: ['libsecret', 'gnome-keyring', 'nss', 'mesa-libgbm'],
      afterInstall: 'build/linux/after-install.sh',
      afterRemove: 'build/linux/after-remove.sh',
    },
  };
}

export default cofferBuildConfig(process.env);
