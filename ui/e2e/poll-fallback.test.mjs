// HTTP long polling when no socket can be had (issue 12), through the real UI and process: a
// guest whose browser cannot open a WebSocket (an init script points the page's guest-ws
// sockets at a closed port, as a proxy that strips upgrades would; HTTP is untouched) gets into
// the room over POST /guest-api, sees "Listening is unavailable; chat only", reads the chat
// Alice (on a socket) writes, and writes chat Alice reads. Once a socket is possible again the
// page moves back to it by itself (resuming the same participant) and the notice goes away.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { devnodeBinary, packageZip } from './lib/artifacts.mjs';
import { launchChromium } from './lib/browser.mjs';
import { api, appUrl, bootDevnode, loginContext } from './lib/devnode.mjs';
import * as room from './lib/roomPage.mjs';

/** Makes the page's guest sockets fail before they open while `window.__blockSockets` is true. */
async function blockGuestSockets(context) {
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    window.__blockSockets = true;
    window.__socketTries = { blocked: 0, passed: 0 };
    window.WebSocket = class extends Native {
      constructor(url, protocols) {
        const blocked = window.__blockSockets && String(url).includes('/guest-ws');
        // Port 9 (discard) refuses the connection: error and close before open, as behind a proxy.
        super(blocked ? 'ws://127.0.0.1:9/blocked' : url, protocols);
        window.__socketTries[blocked ? 'blocked' : 'passed']++;
      }
    };
  });
}

describe('polling fallback', () => {
  let dn;
  let alice;
  let A; // alice.os's owner, on a socket
  let G; // a guest whose sockets cannot open
  let created;

  before(async () => {
    dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: packageZip(), nodes: ['alice.os'] });
    [alice] = dn.nodes;
    created = await api(alice, 'CreateRoom', {
      name: 'Behind a proxy',
      capacity: 10,
      default_role: 'speaker',
      guests_allowed: true,
      guests_may_speak: true,
    });
    A = await launchChromium();
    await loginContext(A, alice);
    G = await launchChromium();
    await blockGuestSockets(G);
    // Real time until the test jumps ahead to the page's next socket try.
    await G.clock.install();
    for (const c of [A, G]) c.on('page', (p) => p.on('pageerror', (e) => console.log(`[pageerror] ${e.message}`)));
  });

  after(async () => {
    for (const c of [A, G]) await c?.close();
    await dn?.stop();
  });

  it('a guest without sockets chats over HTTP with the "chat only" notice, and is back on a socket when one opens', async () => {
    const alicePage = await A.newPage();
    await room.openRoom(alicePage, appUrl(alice, `/room/${created.id}`), { name: 'Alice' });

    const gus = await G.newPage();
    const polled = [];
    gus.on('request', (r) => r.url().endsWith('/guest-api') && polled.push(JSON.parse(r.postData() ?? '{}')));
    await room.openRoom(gus, appUrl(alice, `/room/${created.id}?invite=${created.invite}`), { name: 'Gus' });

    const notice = gus.getByTestId('chat-only');
    await notice.waitFor();
    assert.match(await notice.innerText(), /Listening is unavailable; chat only/);
    const tries = await gus.evaluate(() => ({ ...window.__socketTries }));
    assert.ok(tries.blocked >= 2 && tries.passed === 0, `only blocked sockets so far: ${JSON.stringify(tries)}`);
    assert.ok(polled.some((b) => 'PollJoin' in b), 'joined with PollJoin on /guest-api');
    // No mic over HTTP: the controls for it are not offered.
    assert.equal(await gus.getByTestId('mute').count(), 0, 'no mute button while polling');

    // The participant list both ways.
    await room.waitForParticipant(gus, 'Alice');
    await room.waitForParticipant(alicePage, 'Gus');
    // Chat both ways.
    await room.sendChat(alicePage, 'hello from Alice on a socket');
    await room.waitForChat(gus, 'hello from Alice on a socket');
    await room.sendChat(gus, 'hello from Gus over HTTP');
    await room.waitForChat(alicePage, 'hello from Gus over HTTP');
    assert.ok(polled.some((b) => 'PollSend' in b && b.PollSend[1]?.type === 'chat'), 'the chat went out with PollSend');

    // Sockets become possible: the next try (15-20 s on the page's clock) takes the room back.
    const left = gus.waitForRequest((r) => r.url().endsWith('/guest-api') && /"PollLeave"/.test(r.postData() ?? ''), { timeout: 20_000 });
    await gus.evaluate(() => (window.__blockSockets = false));
    await gus.clock.fastForward(31_000);
    await notice.waitFor({ state: 'detached', timeout: 20_000 });
    await room.waitForLive(gus);
    assert.ok((await gus.evaluate(() => window.__socketTries.passed)) >= 1, 'a socket opened');
    // Left only after the socket's welcome (leaving first would take Gus out of the room).
    await left;
    await gus.getByTestId('mute').waitFor();
    // Resumed: still one Gus in Alice's list, and chat goes on over the socket.
    await room.sendChat(alicePage, 'still here after the switch');
    await room.waitForChat(gus, 'still here after the switch');
    assert.deepEqual((await room.participantNames(alicePage)).filter((n) => n === 'Gus'), ['Gus']);
  });
});
