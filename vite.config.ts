// Builds the renderer into dist/renderer: plain files the browser shell and the Electron app serve as
// they are. No inline script (both shells forbid it by CSP), CSS in files, no module preload polyfill.

import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  plugins: [svelte()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    target: 'es2022',
    sourcemap: true,
  },
  server: { host: '127.0.0.1', strictPort: false },
});
