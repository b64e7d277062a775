import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // As in vite.config.ts: the renderer imports electron/shared as @shared.
  resolve: { alias: { '@shared': fileURLToPath(new URL('./electron/shared', import.meta.url)) } },
  test: {
    globals: false,
    include: ['{crypto,cli,electron,renderer,scripts,bench}/**/*.test.{ts,tsx}', 'e2e/**/*.e2e.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for something that becomes true (a watcher restarted, a file protected); its 1-s
    // default failed such checks on a loaded 2-core runner. It only waits while the condition is false.
    expect: { poll: { timeout: 15_000 } },
    pool: 'forks',
    allowOnly: false,
    passWithNoTests: false,
    reporters: ['default'],
  },
});
