import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./webrtc', import.meta.url)),
  base: './',
  build: { outDir: fileURLToPath(new URL('../out/bench-webrtc', import.meta.url)), emptyOutDir: true },
  logLevel: 'warn',
});
