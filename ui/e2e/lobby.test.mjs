// The owner's live lobby (issue 12): alice.os's home page lists its rooms from the `node.rooms`
// topic on the owner's socket, without joining a room. A room created over the HTTP API after
// the page loaded appears; its count goes 0 -> 1 -> 2 as Alice (alice.os, a 440 Hz tone as her
// microphone) and Bob (a user of bob.os, silent) join; a speaking ring shows while Alice's
// microphone plays and goes when she mutes herself; closing the room removes it. No reload:
// the page's navigation count is checked at the end.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { devnodeBinary, packageZip, screenshotDir } from './lib/artifacts.mjs';
import { api, appUrl, bootDevnode } from './lib/devnode.mjs';
import * as room from './lib/roomPage.mjs';
import { roomBrowser } from './lib/roomBrowser.mjs';
import { toneWav } from './lib/wav.mjs';

const shots = screenshotDir();

function lobbyRoom(page, id, attrs = '') {
  return page.locator(`[data-testid=lobby-room][data-room="${id}"]${attrs}`);
}

describe('lobby', () => {
  let dn;
  let L;
  let A;
  let B;
  let alice;
  let bob;
  let created;
  let navigations = 0;


  before(async () => {
    dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: packageZip() });
    [alice, bob] = dn.nodes;
    const out = join(shots, '..');
    const silence = toneWav(join(out, 'silence.wav'), { seconds: 4, amplitude: 0 });
    L = await roomBrowser(alice, silence);
    A = await roomBrowser(alice, toneWav(join(out, 'tone-440.wav'), { frequency: 440, seconds: 4 }));
    B = await roomBrowser(bob, silence);
    L.page.on('framenavigated', (frame) => {
      if (frame === L.page.mainFrame()) navigations++;
    });
    await L.page.goto(appUrl(alice, '/'));
    await L.page.locator('[data-testid=lobby-status][data-status=live]').waitFor({ timeout: 20_000 });
  });

  after(async () => {
    for (const b of [L, A, B]) await b?.context.close();
    await dn?.stop();
  });

  it('shows a room created elsewhere, with nobody in it', async () => {
    created = await api(alice, 'CreateRoom', {
      name: 'Lobby',
      capacity: 10,
      default_role: 'speaker',
      guests_allowed: false,
      guests_may_speak: false,
    });
    await lobbyRoom(L.page, created.id, '[data-participants="0"][data-speaking=false]').waitFor({ timeout: 15_000 });
  });

  it('counts 1 and then 2 as two browsers join', async () => {
    await room.openRoom(A.page, appUrl(alice, `/room/${created.id}`), { name: 'Alice' });
    await lobbyRoom(L.page, created.id, '[data-participants="1"]').waitFor({ timeout: 15_000 });
    await room.openRoom(B.page, appUrl(bob, `/room/${created.id}@alice.os?invite=${created.invite}`), { name: 'Bob' });
    await lobbyRoom(L.page, created.id, '[data-participants="2"]').waitFor({ timeout: 15_000 });
  });

  it("shows a speaking ring while Alice's microphone plays, and none once she mutes herself", async () => {
    await lobbyRoom(L.page, created.id, '[data-speaking=true]').waitFor({ timeout: 15_000 });
    assert.match(await lobbyRoom(L.page, created.id).locator('.lobby-ring').getAttribute('aria-label'), /Speaking: Alice/);
    await L.page.screenshot({ path: join(shots, 'lobby-speaking.png') });
    await room.toggleSelfMute(A.page);
    await lobbyRoom(L.page, created.id, '[data-speaking=false][data-participants="2"]').waitFor({ timeout: 15_000 });
  });

  it('drops the room when it is closed, without a reload', async () => {
    await api(alice, 'CloseRoom', created.id);
    await lobbyRoom(L.page, created.id).waitFor({ state: 'detached', timeout: 15_000 });
    assert.equal(navigations, 1, 'the home page was loaded once');
  });
});
