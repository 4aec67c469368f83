/**
 * The console's build (docs/console.md): a React single-page app in console/src, built to
 * console/dist (gitignored). `npm run build:console` builds it; `npm start` builds it when missing
 * or older than its sources (local/console.ts) and serves it at the admin API's origin.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  plugins: [react()],
  resolve: {
    alias: [
      // The definitions grammar, types and validator are shared/'s own files, not copies.
      { find: /^#shared\/(.*)$/, replacement: `${here('../shared')}/$1` },
      // shared/definitions hashes with node:crypto (event-condition keys, holdout draws); the browser gets the same SHA-256.
      { find: /^node:crypto$/, replacement: here('src/shims/node-crypto.ts') },
    ],
  },
  build: {
    outDir: here('dist'),
    emptyOutDir: true,
    // Every page's code is its own chunk (React.lazy); a chunk over this size is a warning worth reading.
    chunkSizeWarningLimit: 800,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    rolldownOptions: {
      // shared/ modules act only through what they export (no import is made for its side effects),
      // so the room indexes the console imports bring only what it uses: the definitions validator,
      // never the collector, the λ middleware or the metrics behind them.
      treeshake: { moduleSideEffects: (id: string) => !id.startsWith(here('../shared/')) },
      // The Node built-ins of the shared/ modules left out above are named while the graph is read; none is bundled.
      onLog(level, log, handler) {
        if (level === 'warn' && /externalized for browser compatibility/.test(log.message)) return;
        handler(level, log);
      },
    },
  },
  logLevel: 'warn',
});
