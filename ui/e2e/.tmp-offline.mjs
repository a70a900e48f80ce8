import { launchChromium } from './lib/browser.mjs';
import { toneWav } from './lib/wav.mjs';
import * as R from './lib/roomPage.mjs';
import { api, appUrl, bootDevnode, disableVoiceProcessing, faults, loginContext } from './lib/devnode.mjs';
const dn = await bootDevnode({ devnode: process.env.DN ?? '/tmp/uidev/devnode', packageZip: '/tmp/uidev/pkg.zip' });
const [alice, bob] = dn.nodes;
async function browser(node, wav) { const ctx = await launchChromium({ fakeMicWav: wav }); await loginContext(ctx, node); await disableVoiceProcessing(ctx); return { ctx, page: await ctx.newPage() }; }
const A = await browser(alice, toneWav('/tmp/uidev/tone.wav', { frequency: 440, seconds: 4 }));
const B = await browser(bob, toneWav('/tmp/uidev/silence.wav', { seconds: 4, amplitude: 0 }));
try {
  const c = await api(alice, 'CreateRoom', { name: 'Off', capacity: 20, default_role: 'speaker', guests_allowed: true, guests_may_speak: false });
  await R.openRoom(A.page, appUrl(alice, `/room/${c.id}`), { name: 'Alice' });
  await R.openRoom(B.page, appUrl(bob, `/room/${c.id}@alice.os?invite=${c.invite}`), { name: 'Bob' });
  await R.waitForTone(B.page);
  if (process.env.RELOAD) { await B.page.reload(); await R.waitForLive(B.page); await R.waitForTone(B.page); console.log('B reloaded'); }
  if (process.env.PROMOTE) { await R.setRole(A.page, 'Bob', 'moderator'); await R.waitForParticipant(B.page, 'Bob', { role: 'moderator' }); console.log('promoted'); }
  if (process.env.CHAT) { await R.sendChat(B.page, 'x'); await R.waitForChat(A.page, 'x'); await R.sendChat(A.page, 'y'); await R.waitForChat(B.page, 'y'); console.log('chatted'); }
  if (process.env.MUTE) { await R.toggleSelfMute(A.page); await R.waitForSilence(B.page); await R.toggleSelfMute(A.page); await R.waitForTone(B.page); console.log('muted+unmuted'); }
  if (process.env.GUEST) {
    const gctx = await launchChromium(); const g = await gctx.newPage();
    await R.openRoom(g, appUrl(alice, `/room/${c.id}?invite=${c.invite}`), { name: 'Gus' });
    await R.waitForParticipant(A.page, 'Gus'); await R.kick(A.page, 'Gus'); await R.waitForParticipantGone(B.page, 'Gus'); await gctx.close(); console.log('guest kicked');
  }
  console.log('offline bob.os');
  await faults.offline(dn, 'bob.os');
  await R.sendChat(A.page, 'while bob is away');
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 2500));
    const bBanner = await B.page.locator('.banner').allInnerTexts();
    const aBob = await R.participant(A.page, 'Bob').innerText().catch(() => 'gone');
    console.log(`t+${(i + 1) * 2.5}s  B banners: ${JSON.stringify(bBanner)} | A's Bob tile: ${aBob.replace(/\n/g, ' ')}`);
  }
  await B.page.screenshot({ path: '/tmp/uidev/offline-B.png' });
  await A.page.screenshot({ path: '/tmp/uidev/offline-A.png' });
  await faults.online(dn, 'bob.os');
  console.log('online again');
  await R.waitForChat(B.page, 'while bob is away', 30000).then(() => console.log('B got the missed chat'), (e) => console.log('B missed chat not filled', e.message.split('\n')[0]));
  await R.waitForTone(B.page, { timeoutMs: 20000 }).then(() => console.log('B hears A again'), (e) => console.log('no audio after', e.message.split('\n')[0]));
  console.log('B banners after:', await B.page.locator('.banner').allInnerTexts(), 'A sees', await R.participantNames(A.page));
} finally { await A.ctx.close(); await B.ctx.close(); await dn.stop(); }
