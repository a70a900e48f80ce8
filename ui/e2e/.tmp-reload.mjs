import { launchChromium } from './lib/browser.mjs';
import * as R from './lib/roomPage.mjs';
import { api, appUrl, bootDevnode, loginContext } from './lib/devnode.mjs';
import { devnodeBinary, packageZip } from './lib/artifacts.mjs';
const dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: '/tmp/uidev/pkg.zip' });
const [alice, bob] = dn.nodes;
async function browser(node) { const ctx = await launchChromium(); await loginContext(ctx, node); const page = await ctx.newPage(); return { ctx, page }; }
const A = await browser(alice); const B = await browser(bob);
B.page.on('websocket', (ws) => { console.log('[B ws open]'); ws.on('close', () => console.log('[B ws closed]')); ws.on('framereceived', (f) => typeof f.payload === 'string' && !f.payload.includes('pong') && !f.payload.includes('presence') && console.log('[B <-]', f.payload.slice(0, 140))); ws.on('framesent', (f) => typeof f.payload === 'string' && !f.payload.includes('ping') && console.log('[B ->]', f.payload.slice(0, 140))); });
try {
  const c = await api(alice, 'CreateRoom', { name: 'R', capacity: 20, default_role: 'speaker', guests_allowed: true, guests_may_speak: false });
  await R.openRoom(A.page, appUrl(alice, `/room/${c.id}`), { name: 'Alice' });
  await R.openRoom(B.page, appUrl(bob, `/room/${c.id}@alice.os?invite=${c.invite}`), { name: 'Bob' });
  await R.setRole(A.page, 'Bob', 'moderator');
  await R.waitForParticipant(B.page, 'Bob', { role: 'moderator' });
  console.log('storage before', await B.page.evaluate(() => JSON.stringify(sessionStorage)));
  B.page.on('console', (m) => console.log('[B console]', m.text()));
  console.log('--- reload');
  await B.page.reload();
  await R.waitForLive(B.page, 12000).then(() => console.log('live again'), (e) => console.log('not live', e.message.split('\n')[0]));
  console.log('storage after', await B.page.evaluate(() => JSON.stringify(sessionStorage)));
  await B.page.screenshot({ path: '/tmp/uidev/reload.png' });
} finally { await A.ctx.close(); await B.ctx.close(); await dn.stop(); }
