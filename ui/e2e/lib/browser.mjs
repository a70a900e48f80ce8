// Debian's chromium driven by playwright-core, with the flags that make it behave on these
// machines (see shared/browser.md) and, optionally, a WAV file as the microphone.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium({ fakeMicWav } = {}) {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
  ];
  if (fakeMicWav) args.push(`--use-file-for-fake-audio-capture=${fakeMicWav}`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'voice-chat-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    ignoreDefaultArgs: ['--mute-audio'],
    permissions: ['microphone'],
  });
  return context;
}
