/**
 * What the About panel shows (issue 12 item 3): the versions IT must know to judge a machine — the app,
 * the Electron runtime with its Chromium and Node.js, the libsodium build in use — and where the policy was
 * read from. Read from the running process, never from build-time tables: it is what this machine runs.
 * No Electron import: the Chromium e2e tests serve the same handler from plain Node (no Electron there).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../../crypto/sodium.js';
import type { AboutInfo, PolicyView } from '../shared/contract.js';

const require = createRequire(import.meta.url);

/** Coffer's version: the package.json above this file (electron/main in a checkout, dist/electron/main installed). */
export function appVersion(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'coffer' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here: look further up
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

/** The libsodium actually doing the crypto: the native addon, or the WebAssembly build. */
export async function libsodiumVersion(backend: BackendName): Promise<string> {
  if (backend === 'native') {
    const pkg = require('sodium-native/package.json') as { version: string };
    return `sodium-native ${pkg.version} (native libsodium)`;
  }
  const wasm = (await import('libsodium-wrappers-sumo')).default;
  await wasm.ready;
  return `libsodium ${wasm.SODIUM_VERSION_STRING} (WebAssembly)`;
}

export interface AboutFacts {
  app: string;
  versions: { electron?: string | undefined; chrome?: string | undefined; node: string };
  libsodium: string;
  policy: Pick<PolicyView, 'status' | 'origin'>;
}

export function aboutInfo(facts: AboutFacts): AboutInfo {
  return {
    app: facts.app,
    electron: facts.versions.electron ?? null,
    chromium: facts.versions.chrome ?? null,
    node: facts.versions.node,
    libsodium: facts.libsodium,
    policy: { status: facts.policy.status, origin: facts.policy.origin },
  };
}
