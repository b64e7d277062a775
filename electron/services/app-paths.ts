/**
 * Where Coffer keeps its app data. The same folder as Electron's `app.getPath('userData')` for an app named
 * "Coffer", so the CLI and the desktop app share settings and the escrow record; `COFFER_HOME` overrides it
 * (tests, portable setups).
 */
import path from 'node:path';

export interface AppPaths {
  /** The app data folder. */
  readonly home: string;
  readonly settingsFile: string;
  /** The personal recovery code's key escrow record (FORMAT.md §11.4). */
  readonly escrowFile: string;
}

export interface PathEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  homedir: string;
}

export function appDataHome({ env, platform, homedir }: PathEnvironment): string {
  const override = env.COFFER_HOME;
  if (override) return path.resolve(override);
  switch (platform) {
    case 'darwin':
      return path.join(homedir, 'Library', 'Application Support', 'Coffer');
    case 'win32':
      return path.join(env.APPDATA ?? path.join(homedir, 'AppData', 'Roaming'), 'Coffer');
    default:
      return path.join(env.XDG_CONFIG_HOME ?? path.join(homedir, '.config'), 'Coffer');
  }
}

export function appPaths(where: PathEnvironment): AppPaths {
  const home = appDataHome(where);
  return {
    home,
    settingsFile: path.join(home, 'settings.json'),
    escrowFile: path.join(home, 'escrow.json'),
  };
}
