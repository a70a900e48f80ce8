import { defineConfig } from 'vitest/config';

// Every path the process binds sits under /<process-id>; the runtime serves index.html for any
// unmatched path below it, so client-side routing handles /room/<id>.
export const BASE = '/voice-chat:voice-chat:template.os/';

export default defineConfig({
  base: BASE,
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
