// The source folders are layers, and imports only go down: views → room → net → protocol /
// audio; api (the HTTP API and the app's base path) sits beside net, below room; crypto (the
// end-to-end frame and chat ciphers) sits under audio and net, above protocol only.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));
/** What each layer may import (besides itself). */
const ALLOWED: Record<string, string[]> = {
  views: ['room', 'net', 'api', 'protocol', 'audio', 'crypto'],
  room: ['net', 'api', 'protocol', 'audio', 'crypto'],
  net: ['protocol', 'api', 'crypto'],
  api: ['protocol'],
  audio: ['protocol', 'crypto'],
  crypto: ['protocol'],
  protocol: [],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

const layerOf = (file: string) => relative(SRC, file).split('/')[0];

describe('layers', () => {
  it('import only downward', () => {
    const wrong: string[] = [];
    for (const file of sources(SRC)) {
      const from = layerOf(file);
      if (!(from in ALLOWED)) continue;
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const to = layerOf(resolve(dirname(file), spec));
        if (to !== from && !ALLOWED[from].includes(to)) wrong.push(`${relative(SRC, file)} imports ${spec}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('sees every layer', () => {
    const layers = new Set(sources(SRC).map(layerOf));
    for (const layer of Object.keys(ALLOWED)) expect(layers.has(layer)).toBe(true);
  });
});
