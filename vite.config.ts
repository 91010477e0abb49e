// Builds the web dashboard (web/) into api/public/, which the API serves with @fastify/static at '/'.
// The built files are committed; test/integration/web.test.ts rebuilds and fails when they are stale.
//   npm run build:web   rebuild api/public/ after changing web/
//   npm run dev:web     Vite dev server on :5173 with /api and /socket.io proxied to the API on :8080
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const api = process.env.DEV_API_URL ?? 'http://localhost:8080';

export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./api/public', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      '/api': api,
      '/socket.io': { target: api, ws: true },
    },
  },
});
