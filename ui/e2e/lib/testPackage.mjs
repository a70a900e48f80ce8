// The package the browser tests install: the user build (`cargo xtask build`) with its UI
// rebuilt by `vite build --mode test-hooks`, the only builds that install window.__voiceChat
// (stats, output level and spectrum, injectTone). What users get never has it; xtask checks.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Newest modification time under `path` (a file or a folder), in ms. */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/**
 * `out` (a zip) made from `userZip` with `ui/` replaced by a test-hooks build of `uiDir`;
 * rebuilt only when the user zip or the UI sources are newer.
 */
export function testHooksPackage({ userZip, uiDir, out }) {
  const sources = ['src', 'index.html', 'vite.config.ts', 'package.json'].map((p) => join(uiDir, p));
  if (existsSync(out) && statSync(out).mtimeMs > Math.max(newest(userZip), ...sources.map(newest))) return out;
  for (const tool of ['zip']) {
    try {
      execFileSync(tool, ['-v'], { stdio: 'ignore' });
    } catch {
      throw new Error(`the browser tests need \`${tool}\` to make their test package (Debian: apt-get install zip)`);
    }
  }
  const staging = join(uiDir, 'e2e/out/test-hooks');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  execFileSync('npx', ['vite', 'build', '--mode', 'test-hooks', '--outDir', join(staging, 'ui'), '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: uiDir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  mkdirSync(join(out, '..'), { recursive: true });
  const partial = `${out}.partial`;
  copyFileSync(userZip, partial);
  execFileSync('zip', ['-q', '-d', partial, 'ui/*']);
  execFileSync('zip', ['-q', '-r', partial, 'ui'], { cwd: staging });
  renameSync(partial, out);
  return out;
}
