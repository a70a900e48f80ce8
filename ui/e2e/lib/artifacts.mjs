// Where browser tests find the built package and devnode, and where they leave screenshots.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testHooksPackage } from './testPackage.mjs';

export const root = fileURLToPath(new URL('../../..', import.meta.url));

function firstExisting(candidates, what, hint) {
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) throw new Error(`${what} not found (looked at ${candidates.filter(Boolean).join(', ')}); ${hint}`);
  return found;
}

export function devnodeBinary() {
  return firstExisting(
    [process.env.VOICE_CHAT_DEVNODE, join(root, 'target/debug/devnode'), join(root, 'target/release/devnode')],
    'devnode',
    'build it with `cargo build -p devnode` or set VOICE_CHAT_DEVNODE',
  );
}

/** The package as users get it (`cargo xtask build`): no test hook in its UI. */
export function userPackageZip() {
  return firstExisting(
    [process.env.VOICE_CHAT_PACKAGE, join(root, 'target/voice-chat:template.zip')],
    'the package zip',
    'build it with `cargo xtask build` or set VOICE_CHAT_PACKAGE',
  );
}

/**
 * The package the browser tests install: the user package with a `--mode test-hooks` UI, so
 * pages have window.__voiceChat (made on first use, see testPackage.mjs).
 */
export function packageZip() {
  return testHooksPackage({
    userZip: userPackageZip(),
    uiDir: join(root, 'ui'),
    out: join(root, 'target/test-hooks/voice-chat:template.zip'),
  });
}

export function screenshotDir() {
  const dir = join(root, 'ui/e2e/out/screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}
