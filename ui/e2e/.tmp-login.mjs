import { launchChromium } from './lib/browser.mjs';
import * as R from './lib/roomPage.mjs';
import { api, appUrl, bootDevnode } from './lib/devnode.mjs';
const dn = await bootDevnode({ devnode: '/tmp/uidev/devnode', packageZip: '/tmp/uidev/pkg.zip', nodes: ['alice.os'] });
const [alice] = dn.nodes;
const ctx = await launchChromium();
const page = await ctx.newPage();
page.on('pageerror', (e) => console.log(`[pageerror] ${e.message}`));
try {
  await page.goto(appUrl(alice, '/'));
  await page.getByTestId('login-required').waitFor({ timeout: 10000 });
  console.log('home without login -> login page shown');
  const room = await api(alice, 'CreateRoom', { name: 'NoGuests', capacity: 10, default_role: 'speaker', guests_allowed: false, guests_may_speak: false });
  await page.goto(appUrl(alice, `/room/${room.id}?invite=${room.invite}`));
  await page.getByTestId('join-form').locator('input').fill('Gus');
  await page.getByTestId('join').click();
  console.log('guest into a no-guest room ->', await R.noticeTitle(page));
  await page.goto(appUrl(alice, `/room/${room.id}?invite=wrong`));
  await page.getByTestId('join').click().catch(() => {});
  console.log('wrong invite ->', await R.noticeTitle(page));
  await page.goto(appUrl(alice, `/room/${room.id}`));
  await page.waitForTimeout(1500);
  console.log('no invite, no login ->', await page.locator('h1').first().innerText());
} finally {
  await ctx.close();
  await dn.stop();
}
