import { launchChromium } from './lib/browser.mjs';
import { toneWav } from './lib/wav.mjs';
import * as R from './lib/roomPage.mjs';
import { api, appUrl, bootDevnode, disableVoiceProcessing, faults, loginContext } from './lib/devnode.mjs';
const dn = await bootDevnode({ devnode: '/tmp/uidev/devnode', packageZip: '/tmp/uidev/pkg.zip' });
const [alice, bob] = dn.nodes;
async function browser(node, wav) {
  const ctx = await launchChromium({ fakeMicWav: wav });
  await loginContext(ctx, node);
  await disableVoiceProcessing(ctx);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`[${node.node} pageerror] ${e.message}`));
  return { ctx, page };
}
const A = await browser(alice, toneWav('/tmp/uidev/silence.wav', { seconds: 4, amplitude: 0 }));
const B = await browser(bob, toneWav('/tmp/uidev/silence.wav', { seconds: 4, amplitude: 0 }));
try {
  const room = await api(alice, 'CreateRoom', { name: 'Latency', capacity: 10, default_role: 'speaker', guests_allowed: false, guests_may_speak: false });
  await R.openRoom(A.page, appUrl(alice, `/room/${room.id}`), { name: 'Alice' });
  await R.openRoom(B.page, appUrl(bob, `/room/${room.id}@alice.os?invite=${room.invite}`), { name: 'Bob' });
  await R.waitForParticipant(B.page, 'Alice');
  await new Promise((r) => setTimeout(r, 1500));
  const samples = [];
  for (let i = 0; i < 15; i++) {
    const ms = await R.mouthToEar(A.page, B.page, { frequency: 1000, burstMs: 200 });
    if (ms !== null) samples.push(ms);
    await new Promise((r) => setTimeout(r, 500));
  }
  samples.sort((a, b) => a - b);
  console.log(`mouth-to-ear alice→bob over ${samples.length}/15: p50 ${R.percentile(samples, 50)?.toFixed(0)} ms p95 ${R.percentile(samples, 95)?.toFixed(0)} ms`);
  await faults.link(dn, 'alice.os', 'bob.os', { latencyMs: 50 });
  const more = [];
  for (let i = 0; i < 10; i++) {
    const ms = await R.mouthToEar(A.page, B.page, { frequency: 1000, burstMs: 200 });
    if (ms !== null) more.push(ms);
    await new Promise((r) => setTimeout(r, 500));
  }
  more.sort((a, b) => a - b);
  console.log(`with 50 ms link latency: p50 ${R.percentile(more, 50)?.toFixed(0)} ms over ${more.length}/10`);
  console.log(await B.page.getByTestId('connection-badge').innerText());
} finally {
  await A.ctx.close();
  await B.ctx.close();
  await dn.stop();
}
