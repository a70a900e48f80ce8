import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./audio-smoke', import.meta.url)),
  base: './',
  build: { outDir: fileURLToPath(new URL('./out/audio-smoke', import.meta.url)), emptyOutDir: true },
  logLevel: 'warn',
});
