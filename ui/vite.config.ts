import { defineConfig } from 'vitest/config';

// Every path the process binds sits under /<process-id>; the runtime serves index.html for any
// unmatched path below it, so client-side routing handles /room/<id>.
export const BASE = '/voice-chat:voice-chat:template.os/';

export default defineConfig({
  base: BASE,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    rollupOptions: {
      onwarn(warning, warn) {
        // sonner marks itself 'use client' for React Server Components, which this app has none of.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
