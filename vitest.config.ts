import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globals: false,
    include: ['{crypto,cli,electron,renderer,scripts,bench}/**/*.test.{ts,tsx}', 'e2e/**/*.e2e.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    allowOnly: false,
    passWithNoTests: false,
    reporters: ['default'],
  },
});
