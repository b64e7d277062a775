/**
 * What the About panel shows (issue 12 item 3): the versions IT must know to judge a machine — the app,
 * the Electron runtime with its Chromium and Node.js, the libsodium build in use — and where the policy was
 * read from. Read from the running process, never from build-time tables: it is what this machine runs.
 * No Electron import: the Chromium e2e tests serve the same handler from plain Node (no Electron there).
 */
import { createRequire } from 'node:module';
import type { BackendName } from '../../crypto/sodium.js';
export { appVersion } from '../services/app-version.js';
import type { AboutInfo, PolicyView } from '../shared/contract.js';

const require = createRequire(import.meta.url);

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
