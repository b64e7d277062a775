/**
 * Builds the renderer into dist/renderer with relative URLs, so the app:// protocol (and the e2e tests)
 * serve it from files. No inline scripts or styles are emitted, which the strict CSP requires.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  // The IPC contract's types and constants, shared with main and preload (electron/shared has no Node imports).
  resolve: { alias: { '@shared': fileURLToPath(new URL('./electron/shared', import.meta.url)) } },
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    sourcemap: true,
    // Inlined assets would become data: URLs that the CSP does not allow for scripts or fonts.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
