import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The console's build (issue 16): Preact components compiled by Vite's own
 * esbuild JSX transform (no Babel preset needed), into dist/console-assets, which
 * the service serves at /console. Run by `npm run build` (and npm's prepare
 * step), so an installed package carries every asset and works offline.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: fileURLToPath(new URL('../dist/console-assets', import.meta.url)),
    emptyOutDir: true,
    // The strict Content-Security-Policy allows scripts from the console's own origin only: no inline module preload polyfill.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
