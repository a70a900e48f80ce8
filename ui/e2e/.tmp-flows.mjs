import { launchChromium } from './lib/browser.mjs';
import * as R from './lib/roomPage.mjs';
import { api, appUrl, bootDevnode, loginContext } from './lib/devnode.mjs';
const dn = await bootDevnode({ devnode: '/tmp/uidev/devnode', packageZip: '/tmp/uidev/pkg.zip' });
const [alice, bob] = dn.nodes;
const step = (m) => console.log(`-- ${m}`);
async function browser(node) {
  const ctx = await launchChromium();
  if (node) await loginContext(ctx, node);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`[pageerror] ${e.message}`));
  return { ctx, page };
}
const A = await browser(alice);
const B = await browser(bob);
const G = await browser(null);
try {
  const room = await api(alice, 'CreateRoom', { name: 'Flows', capacity: 10, default_role: 'speaker', guests_allowed: true, guests_may_speak: false });
  await R.openRoom(A.page, appUrl(alice, `/room/${room.id}`), { name: 'Alice' });
  step('remote join without invite');
  await B.page.goto(appUrl(bob, `/room/${room.id}@alice.os`));
  await B.page.getByTestId('join-form').locator('input').fill('Bob');
  await B.page.getByTestId('join').click();
  await B.page.waitForTimeout(16500);
  console.log('  bob status:', await B.page.getByTestId('room').getAttribute('data-status').catch(() => 'no room element'), (await B.page.locator('[data-testid=notice] h1').allInnerTexts()).join());
  step('remote join with invite');
  await R.openRoom(B.page, appUrl(bob, `/room/${room.id}@alice.os?invite=${room.invite}`), { name: 'Bob' });
  await R.waitForParticipant(A.page, 'Bob');
  step('guest join');
  await R.openRoom(G.page, appUrl(alice, `/room/${room.id}?invite=${room.invite}`), { name: 'Gus' });
  await R.waitForParticipant(A.page, 'Gus');
  console.log('  guest role on A:', await R.participant(A.page, 'Gus').getAttribute('data-role'));
  step('promote Bob to moderator from A');
  await R.setRole(A.page, 'Bob', 'moderator');
  await R.waitForParticipant(B.page, 'Bob', { role: 'moderator' });
  console.log('  bob sees himself as moderator; host panel visible on B:', await B.page.getByTestId('host-panel').isVisible());
  step('guest raises hand; Bob accepts');
  await G.page.getByTestId('hand').click();
  await B.page.getByTestId('hands').waitFor({ timeout: 5000 });
  await B.page.getByRole('button', { name: 'Let speak' }).click();
  await R.waitForParticipant(A.page, 'Gus', { role: 'speaker' });
  console.log('  Gus now', await R.participant(G.page, 'Gus').getAttribute('data-role'));
  step('kick Gus from A');
  await R.kick(A.page, 'Gus');
  console.log('  guest notice:', await R.noticeTitle(G.page));
  await R.waitForParticipantGone(A.page, 'Gus');
  step('reload the deep link on B');
  await B.page.reload();
  await R.waitForLive(B.page);
  await R.waitForParticipant(B.page, 'Alice');
  console.log('  B back, sees', await R.participantNames(B.page), 'A sees', await R.participantNames(A.page));
  step('close the room from A');
  await A.page.getByRole('button', { name: 'Close room' }).click();
  console.log('  A notice:', await R.noticeTitle(A.page), '| B notice:', await R.noticeTitle(B.page));
  await A.page.goto(appUrl(alice, `/room/${room.id}`));
  console.log('  closed room deep link on A:', await R.noticeTitle(A.page));
  await A.page.screenshot({ path: '/tmp/uidev/closed.png' });
} catch (e) {
  console.log('FAILED', e.message.split('\n')[0]);
  for (const [n, x] of [['A', A], ['B', B], ['G', G]]) await x.page.screenshot({ path: `/tmp/uidev/fail-${n}.png` });
} finally {
  for (const x of [A, B, G]) await x.ctx.close();
  await dn.stop();
}
