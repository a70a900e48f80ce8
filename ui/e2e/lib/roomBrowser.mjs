// One browser for a room test: Chromium with a fake microphone playing `wav`, logged in to
// `node` (null: a guest), voice processing off (so a pure tone stays a pure tone), one page
// whose errors are printed.
import { launchChromium } from './browser.mjs';
import { disableVoiceProcessing, loginContext } from './devnode.mjs';

export async function roomBrowser(node, wav, { processing = false } = {}) {
  const context = await launchChromium({ fakeMicWav: wav });
  if (node) await loginContext(context, node);
  if (!processing) await disableVoiceProcessing(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[${node?.node ?? 'guest'} pageerror] ${e.message}`));
  return { context, page };
}
