/**
 * Builds the renderer into dist/renderer with relative URLs, so the app:// protocol (and the e2e tests)
 * serve it from files. No inline scripts or styles are emitted, which the strict CSP requires.
 */
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    sourcemap: true,
    // Inlined assets would become data: URLs that the CSP does not allow for scripts or fonts.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
