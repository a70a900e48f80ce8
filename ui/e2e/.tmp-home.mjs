import { launchChromium } from './lib/browser.mjs';
import { appUrl, bootDevnode, loginContext } from './lib/devnode.mjs';
import { devnodeBinary } from './lib/artifacts.mjs';
const dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: '/tmp/uidev/pkg.zip' });
const [alice, bob] = dn.nodes;
const ctx = await launchChromium();
await loginContext(ctx, alice);
const page = await ctx.newPage();
page.on('pageerror', (e) => console.log('[pageerror]', e.message));
page.on('dialog', (d) => d.accept());
try {
  await page.goto(appUrl(alice, '/'));
  for (const name of ['Design review', 'Music jam']) {
    await page.getByTestId('create-room').locator('input').first().fill(name);
    await page.getByRole('button', { name: 'Create room' }).click();
    await page.waitForURL(/\/room\//);
    await page.goto(appUrl(alice, '/'));
  }
  await page.getByTestId('room-list').getByText('Music jam').waitFor();
  await page.getByRole('button', { name: 'Copy invite link' }).first().click();
  await page.waitForTimeout(500);
  console.log('toasts:', await page.locator('[data-sonner-toast]').allInnerTexts());
  await page.screenshot({ path: '/tmp/uidev/home.png' });
  await page.getByRole('button', { name: 'Close' }).last().click();
  await page.waitForTimeout(800);
  console.log('rooms after close:', await page.getByTestId('room-list').locator('li strong').allInnerTexts());
  await page.getByTestId('join-remote').locator('input').fill('nope@bob.os');
  await page.getByTestId('join-remote').getByRole('button', { name: 'Join' }).click();
  console.log('url after join remote:', page.url());
} finally { await ctx.close(); await dn.stop(); }
