// Regenerates docs/room.png (the room page in the READMEs): two devnode nodes, the host on
// alice.os, Bob speaking from bob.os, a guest with a raised hand who is typing, some chat.
// Run: npm run screenshot
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devnodeBinary, packageZip, screenshotDir } from './lib/artifacts.mjs';
import { launchChromium } from './lib/browser.mjs';
import { api, appUrl, bootDevnode, disableVoiceProcessing, loginContext } from './lib/devnode.mjs';
import * as room from './lib/roomPage.mjs';
import { toneWav } from './lib/wav.mjs';

const target = fileURLToPath(new URL('../docs/room.png', import.meta.url));
const out = join(screenshotDir(), '..');
const silent = toneWav(join(out, 'silence.wav'), { seconds: 4, amplitude: 0 });
const tone = toneWav(join(out, 'tone-440.wav'), { frequency: 440, seconds: 4 });

const dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: packageZip() });
const [alice, bob] = dn.nodes;
const contexts = [];

async function open(node, wav) {
  const context = await launchChromium({ fakeMicWav: wav });
  contexts.push(context);
  if (node) await loginContext(context, node);
  await disableVoiceProcessing(context);
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 760 });
  return page;
}

try {
  const created = await api(alice, 'CreateRoom', {
    name: 'Weekly sync',
    capacity: 20,
    default_role: 'speaker',
    guests_allowed: true,
    guests_may_speak: false,
  });
  const a = await open(alice, silent);
  const b = await open(bob, tone);
  const g = await open(null, silent);
  await room.openRoom(a, appUrl(alice, `/room/${created.id}`), { name: 'Alice' });
  await room.openRoom(b, appUrl(bob, `/room/${created.id}@alice.os?invite=${created.invite}`), { name: 'Bob' });
  await room.openRoom(g, appUrl(alice, `/room/${created.id}?invite=${created.invite}`), { name: 'Gus' });
  await room.setRole(a, 'Bob', 'moderator');
  await room.sendChat(a, 'Welcome! Agenda is in the doc.');
  await room.sendChat(b, 'Hi all, joining from bob.os');
  await g.getByTestId('hand').click();
  await g.getByLabel('chat message').fill('I have a question');
  await room.waitForTone(a, { frequency: 440 });
  await a.waitForTimeout(2500);
  await a.screenshot({ path: target });
  console.log(`wrote ${target}`);
} finally {
  for (const context of contexts) await context.close();
  await dn.stop();
}
