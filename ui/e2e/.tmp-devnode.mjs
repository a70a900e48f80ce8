import { readFileSync } from 'node:fs';
import { launchChromium } from './lib/browser.mjs';
import { toneWav } from './lib/wav.mjs';
import * as R from './lib/roomPage.mjs';
const ready = JSON.parse(readFileSync('/tmp/uidev/log', 'utf8').split('\n').find((l) => l.startsWith('DEVNODE_READY')).slice('DEVNODE_READY '.length));
const [alice, bob] = ready.nodes;
async function browserFor(node, wav) {
  const ctx = await launchChromium({ fakeMicWav: wav });
  const [name, value] = node.cookie.split(/=(.*)/s);
  await ctx.addCookies([{ name, value, domain: '127.0.0.1', path: '/' }]);
  await ctx.addInitScript(() => localStorage.setItem('voiceChat.voiceProcessing', 'off'));
  const page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log(`[${node.node} ${m.type()}] ${m.text()}`); });
  page.on('pageerror', (e) => console.log(`[${node.node} pageerror] ${e.message}`));
  return { ctx, page };
}
const A = await browserFor(alice, toneWav('/tmp/uidev/tone.wav', { frequency: 440, seconds: 4 }));
const B = await browserFor(bob, toneWav('/tmp/uidev/silence.wav', { seconds: 4, amplitude: 0 }));
try {
  await A.page.goto(alice.app_url);
  await A.page.getByTestId('create-room').locator('input').first().fill('Standup');
  await A.page.getByTestId('create-room').getByRole('button', { name: 'Create room' }).click();
  await A.page.waitForURL(/\/room\//, { timeout: 10000 });
  const roomId = decodeURIComponent(A.page.url().split('/room/')[1]);
  console.log('room', roomId);
  let restarted = false;
  A.page.on('websocket', (ws) => { console.log('[alice ws open]', ws.url()); ws.on('close', () => console.log('[alice ws closed]')); ws.on('framereceived', (f) => restarted && typeof f.payload === 'string' && console.log('[A <-]', f.payload.slice(0, 160))); ws.on('framesent', (f) => restarted && typeof f.payload === 'string' && console.log('[A ->]', f.payload.slice(0, 160))); });
  await R.openRoom(A.page, A.page.url(), { name: 'Alice' });
  console.log('alice live');
  const invite = await A.page.evaluate(async (id) => (await (await fetch('/voice-chat:voice-chat:template.os/api', { method: 'POST', body: JSON.stringify({ GetInvite: id }) })).json()), roomId);
  console.log('invite', JSON.stringify(invite));
  B.page.on('websocket', (ws) => { return; ws.on('framereceived', (f) => typeof f.payload === 'string' && console.log('[bob ws <-]', f.payload.slice(0, 300))); ws.on('framesent', (f) => typeof f.payload === 'string' && !f.payload.includes('ping') && console.log('[bob ws ->]', f.payload.slice(0, 300))); });
  await R.openRoom(B.page, `${bob.app_url}room/${roomId}@alice.os?invite=${invite.Ok}`, { name: 'Bob' });
  console.log('bob live');
  await R.waitForParticipant(A.page, 'Bob');
  await R.waitForParticipant(B.page, 'Alice');
  console.log('A sees', await R.participantNames(A.page), 'B sees', await R.participantNames(B.page));
  const heard = await R.waitForTone(B.page, { frequency: 440 });
  console.log('B heard', heard.rms, heard.frequency, JSON.stringify(heard.stats.speakers));
  await R.sendChat(B.page, 'hello from bob');
  await R.waitForChat(A.page, 'hello from bob');
  console.log('chat crossed');
  await R.toggleSelfMute(A.page);
  await R.waitForSilence(B.page);
  console.log('mute silenced B');
  await R.toggleSelfMute(A.page);
  await R.waitForTone(B.page, { frequency: 440 });
  console.log('unmute: B hears again');
  const t0 = Date.now();
  restarted = true;
  const r = await fetch(`${ready.admin}/nodes/alice.os/restart/voice-chat:voice-chat:template.os`, { method: 'POST' });
  console.log('restart', r.status, await r.text());
  await A.page.locator('[data-testid=room][data-status=reconnecting]').waitFor({ timeout: 14000 }).then(() => console.log('alice shows reconnecting'), () => console.log('alice never showed reconnecting'));
  await R.waitForLive(A.page, 30000);
  console.log('alice live again after', Date.now() - t0, 'ms');
  console.log('A sees', await R.participantNames(A.page), 'B sees', await R.participantNames(B.page), 'B status', await B.page.getByTestId('room').getAttribute('data-status'));
  await R.waitForTone(B.page, { frequency: 440, timeoutMs: 20000 }).then((h) => console.log('B hears A again after restart', h.rms), (e) => console.log('B does not hear A after restart:', e.message));
  await A.page.screenshot({ path: '/tmp/uidev/alice.png' });
  await B.page.screenshot({ path: '/tmp/uidev/bob.png' });
} catch (e) {
  console.log('FAILED', e.message);
  await A.page.screenshot({ path: '/tmp/uidev/alice.png' });
  await B.page.screenshot({ path: '/tmp/uidev/bob.png' });
} finally {
  await A.ctx.close();
  await B.ctx.close();
}
