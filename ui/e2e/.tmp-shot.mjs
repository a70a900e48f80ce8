import { launchChromium } from './lib/browser.mjs';
import { toneWav } from './lib/wav.mjs';
import * as R from './lib/roomPage.mjs';
import { api, appUrl, bootDevnode, loginContext } from './lib/devnode.mjs';
const dn = await bootDevnode({ devnode: '/tmp/uidev/devnode', packageZip: '/tmp/uidev/pkg.zip' });
const [alice, bob] = dn.nodes;
async function browser(node, wav) {
  const ctx = await launchChromium({ fakeMicWav: wav });
  if (node) await loginContext(ctx, node);
  const page = await ctx.newPage();
  await page.setViewportSize({ width: 1280, height: 760 });
  return { ctx, page };
}
const silent = toneWav('/tmp/uidev/silence.wav', { seconds: 4, amplitude: 0 });
const A = await browser(alice, silent);
const B = await browser(bob, toneWav('/tmp/uidev/tone.wav', { frequency: 440, seconds: 4 }));
const G = await browser(null, silent);
try {
  const room = await api(alice, 'CreateRoom', { name: 'Weekly sync', capacity: 20, default_role: 'speaker', guests_allowed: true, guests_may_speak: false });
  await R.openRoom(A.page, appUrl(alice, `/room/${room.id}`), { name: 'Alice' });
  await R.openRoom(B.page, appUrl(bob, `/room/${room.id}@alice.os?invite=${room.invite}`), { name: 'Bob' });
  await R.openRoom(G.page, appUrl(alice, `/room/${room.id}?invite=${room.invite}`), { name: 'Gus' });
  await R.setRole(A.page, 'Bob', 'moderator');
  await R.sendChat(A.page, 'Welcome! Agenda is in the doc.');
  await R.sendChat(B.page, 'Hi all, joining from bob.os');
  await G.page.getByTestId('hand').click();
  await G.page.getByLabel('chat message').fill('I have a question');
  await R.waitForTone(A.page, { frequency: 440 });
  await A.page.waitForTimeout(2500);
  await A.page.screenshot({ path: '/work/main/ui/docs/room.png' });
  console.log('saved');
} finally {
  for (const x of [A, B, G]) await x.ctx.close();
  await dn.stop();
}
