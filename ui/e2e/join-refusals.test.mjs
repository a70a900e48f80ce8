// A join refused for good ends "Joining…": the page says why and what to do next, and makes no
// further join attempt. One case per refusal the engine gives today (bad_invite,
// room_not_found, guests_not_allowed, room_full, host_unreachable after the peer retries);
// `banned` is shown in bans.test.mjs, after a ban from the room page. Attempts are counted in the page
// (every socket opened, every join sent); "no more" is shown by running the page's clock a
// minute ahead, past every reconnect backoff, and counting again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { devnodeBinary, packageZip } from './lib/artifacts.mjs';
import { launchChromium } from './lib/browser.mjs';
import { api, APP_ID, appUrl, bootDevnode, faults, loginContext } from './lib/devnode.mjs';
import * as room from './lib/roomPage.mjs';

const AHEAD_MS = 60_000;

describe('a refused join', () => {
  let dn;
  let alice;
  let bob;
  let B; // bob.os's owner
  let G; // a guest without a node
  let open; // guests allowed
  let members; // no guests
  let tiny; // capacity 1, taken
  let occupant;

  async function browser(node) {
    const context = await launchChromium();
    if (node) await loginContext(context, node);
    await room.countJoinAttempts(context);
    // Fake timers that run in real time until a test jumps them ahead.
    await context.clock.install();
    return context;
  }

  const settings = (name, extra = {}) => ({
    name,
    capacity: 10,
    default_role: 'speaker',
    guests_allowed: true,
    guests_may_speak: false,
    ...extra,
  });

  before(async () => {
    dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: packageZip() });
    [alice, bob] = dn.nodes;
    open = await api(alice, 'CreateRoom', settings('Open'));
    members = await api(alice, 'CreateRoom', settings('Members', { guests_allowed: false }));
    tiny = await api(alice, 'CreateRoom', settings('Tiny', { capacity: 1 }));
    // Alice takes the one place of the tiny room over a socket of her own.
    occupant = new WebSocket(`${alice.url.replace('http', 'ws')}/${APP_ID}/ws`, { headers: { cookie: alice.cookie } });
    await new Promise((resolve, reject) => {
      occupant.once('error', reject);
      occupant.once('open', () => occupant.send(JSON.stringify({ v: 1, type: 'join', room: tiny.id, name: 'Alice', ref: 'join' })));
      occupant.on('message', (data) => JSON.parse(data.toString()).type === 'welcome' && resolve());
    });
    B = await browser(bob);
    G = await browser(null);
  });

  after(async () => {
    occupant?.close();
    for (const c of [B, G]) await c?.close();
    await dn?.stop();
  });

  /** The page left "Joining…", and a minute later it has still made only `expected` attempts. */
  async function assertStopped(page, expected = 1) {
    assert.equal(await page.getByText('Joining…').count(), 0, 'no "Joining…" left on the page');
    assert.equal(await page.getByTestId('room').count(), 0, 'no room view behind the notice');
    const before = await room.joinAttempts(page);
    assert.deepEqual(before, { sockets: expected, joins: expected }, 'attempts up to the refusal');
    await page.clock.runFor(AHEAD_MS);
    assert.deepEqual(await room.joinAttempts(page), before, `no further attempt in the next ${AHEAD_MS / 1000} s`);
    await page.getByTestId('join-refused').waitFor();
  }

  it('bad_invite: asks for an invite link, and the pasted link gets in', async () => {
    const page = await B.newPage();
    // The URL `cargo xtask run` printed for bob.os before it carried the invite.
    const refusal = await room.joinExpectingRefusal(page, appUrl(bob, `/room/${open.id}@alice.os`), { name: 'Bob' });
    assert.equal(refusal.code, 'bad_invite');
    assert.equal(refusal.nextStep, 'Ask the host for an invite link and paste it here.');
    await assertStopped(page);
    // The guest link the host shares works here too: the page joins through bob.os with it.
    await page.getByLabel('invite link').fill(appUrl(alice, `/room/${open.id}?invite=${open.invite}`));
    await page.getByRole('button', { name: 'Join with this invite' }).click();
    await room.waitForLive(page);
    await room.waitForParticipant(page, 'Bob');
    assert.deepEqual(await room.joinAttempts(page), { sockets: 2, joins: 2 });
    await page.close();
  });

  it('room_not_found: says the room is not there', async () => {
    const page = await B.newPage();
    const refusal = await room.joinExpectingRefusal(page, appUrl(bob, '/room/no-such-room@alice.os'), { name: 'Bob' });
    assert.equal(refusal.code, 'room_not_found');
    assert.equal(refusal.title, 'This room is not available');
    assert.match(refusal.nextStep, /Check the link with the host/);
    await assertStopped(page);
    await page.close();
  });

  it('guests_not_allowed: sends a guest to a node of their own', async () => {
    const page = await G.newPage();
    const refusal = await room.joinExpectingRefusal(page, appUrl(alice, `/room/${members.id}?invite=${members.invite}`), { name: 'Gus' });
    assert.equal(refusal.code, 'guests_not_allowed');
    assert.match(refusal.nextStep, /Join from your own Hyperware node, or ask the host to allow guests/);
    await assertStopped(page);
    await page.close();
  });

  it('room_full: says so, offers to try again, and does not retry by itself', async () => {
    const page = await B.newPage();
    const refusal = await room.joinExpectingRefusal(page, appUrl(bob, `/room/${tiny.id}@alice.os?invite=${tiny.invite}`), { name: 'Bob' });
    assert.equal(refusal.code, 'room_full');
    assert.equal(refusal.title, 'The room is full');
    assert.match(refusal.nextStep, /Try again when someone leaves/);
    await assertStopped(page);
    assert.equal(await page.getByRole('button', { name: 'Try again' }).count(), 1);
    await page.close();
  });

  it('host_unreachable: after the peer retries, says the host node does not answer', async () => {
    await faults.offline(dn, 'alice.os');
    try {
      const page = await B.newPage();
      const refusal = await room.joinExpectingRefusal(page, appUrl(bob, `/room/${open.id}@alice.os?invite=${open.invite}`), { name: 'Bob2' });
      assert.equal(refusal.code, 'host_unreachable');
      assert.equal(refusal.title, 'The node hosting this room does not answer');
      assert.match(refusal.nextStep, /check that their node is running/);
      await assertStopped(page);
      await page.close();
    } finally {
      await faults.online(dn, 'alice.os');
    }
  });
});
