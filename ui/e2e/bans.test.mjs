// A ban from the room page, across two devnode nodes with the real package (issue 10): the Host
// on alice.os bans Bob, a user of bob.os; Bob's page says he was removed and cannot rejoin, and
// makes no attempt of its own; a rejoin from his node, invite and all, is refused with
// `banned`. Then the Host rotates the invite and lifts the ban from the page: the old invite no
// longer gets bob.os in (the ban forgot its role), the room address with the new one does.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { devnodeBinary, packageZip, screenshotDir } from './lib/artifacts.mjs';
import { launchChromium } from './lib/browser.mjs';
import { api, appUrl, bootDevnode, loginContext } from './lib/devnode.mjs';
import * as room from './lib/roomPage.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shots = screenshotDir();

describe('a ban from the room page', () => {
  let dn;
  let alice;
  let bob;
  let A; // alice.os's owner, the Host
  let B; // bob.os's owner, the one banned
  let created;
  let bobUrl;

  async function browser(node) {
    const context = await launchChromium();
    await loginContext(context, node);
    await room.countJoinAttempts(context);
    const page = await context.newPage();
    page.on('pageerror', (e) => console.log(`[${node.node} pageerror] ${e.message}`));
    return { context, page };
  }

  before(async () => {
    dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: packageZip() });
    [alice, bob] = dn.nodes;
    A = await browser(alice);
    B = await browser(bob);
    created = await api(alice, 'CreateRoom', {
      name: 'Bans',
      capacity: 10,
      default_role: 'speaker',
      guests_allowed: false,
      guests_may_speak: false,
    });
    bobUrl = appUrl(bob, `/room/${created.id}@alice.os?invite=${created.invite}`);
    await room.openRoom(A.page, appUrl(alice, `/room/${created.id}`), { name: 'Alice' });
    await room.openRoom(B.page, bobUrl, { name: 'Bob' });
    await room.waitForParticipant(A.page, 'Bob');
    await room.waitForParticipant(B.page, 'Alice', { role: 'host' });
  });

  after(async () => {
    for (const b of [A, B]) await b?.context.close();
    await dn?.stop();
  });

  it("removes Bob: his page says so, says he cannot rejoin, and tries nothing by itself", async () => {
    const joinsBefore = await room.joinAttempts(B.page);
    await A.page.screenshot({ path: join(shots, 'host-before-ban.png') });
    await room.confirmed(room.participant(A.page, 'Bob'), 'Ban');
    assert.equal(await room.noticeTitle(B.page), 'You were removed from this room');
    const ended = B.page.getByTestId('ended');
    assert.equal(await ended.getAttribute('data-why'), 'banned');
    assert.match(await ended.innerText(), /cannot rejoin this room/);
    await B.page.screenshot({ path: join(shots, 'banned-user.png') });
    await room.waitForParticipantGone(A.page, 'Bob');
    // No reconnect behind the notice: past several backoff steps, still the one join.
    await sleep(3000);
    assert.deepEqual(await room.joinAttempts(B.page), joinsBefore, 'no join attempt after the ban');
    assert.equal(await B.page.getByTestId('room').count(), 0, 'no room view behind the notice');
  });

  it('lists Bob as banned on the Host page, with his node', async () => {
    await A.page.getByTestId('show-bans').click();
    const entry = A.page.locator('[data-testid=ban][data-name="Bob"]');
    await entry.waitFor({ timeout: 10_000 });
    assert.match(await entry.innerText(), /bob\.os/);
    await A.page.screenshot({ path: join(shots, 'ban-list.png') });
  });

  it('refuses Bob a rejoin from his node, invite and all, with the banned page and no retry', async () => {
    const refusal = await room.joinExpectingRefusal(B.page, bobUrl, { name: 'Bob' });
    assert.equal(refusal.code, 'banned');
    assert.equal(refusal.title, 'You are banned from this room');
    assert.match(refusal.nextStep, /you cannot rejoin/);
    assert.equal(await B.page.getByRole('button', { name: 'Try again' }).count(), 0);
    const after = await room.joinAttempts(B.page);
    await sleep(3000);
    assert.deepEqual(await room.joinAttempts(B.page), after, 'no further attempt after the refusal');
    await room.waitForParticipantGone(A.page, 'Bob', 1000);
  });

  it('after Rotate invite and Unban: the old invite is refused, the new room address gets Bob in', async () => {
    await room.confirmed(A.page.getByTestId('room-access'), 'Rotate invite');
    const address = await A.page.getByTestId('new-invite-address').innerText({ timeout: 10_000 });
    assert.match(address, new RegExp(`^${created.id}@alice\\.os\\?invite=`));
    assert.notEqual(address, `${created.id}@alice.os?invite=${created.invite}`);
    const link = await A.page.getByTestId('new-invite-link').innerText();
    assert.match(link, /[?&]node=alice\.os/);
    await A.page.screenshot({ path: join(shots, 'rotated-invite.png') });

    await A.page.locator('[data-testid=ban][data-name="Bob"]').getByRole('button', { name: 'Unban' }).click();
    await A.page.getByText('Nobody is banned from this room.').waitFor({ timeout: 10_000 });

    // The ban forgot bob.os's role, and the invite it had was rotated away.
    const stale = await room.joinExpectingRefusal(B.page, bobUrl, { name: 'Bob' });
    assert.equal(stale.code, 'bad_invite');

    // What the Host shares now, pasted into bob.os's "Join a room" form.
    await B.page.goto(appUrl(bob, '/'));
    await B.page.getByTestId('join-remote').locator('input').fill(address);
    await B.page.getByTestId('join-remote').getByRole('button', { name: 'Join' }).click();
    const form = B.page.getByTestId('join-form');
    await form.waitFor({ timeout: 15_000 });
    await form.locator('input').fill('Bob');
    await B.page.getByTestId('join').click();
    await room.waitForLive(B.page);
    await room.waitForParticipant(A.page, 'Bob');
  });
});
