// Two browsers on two devnode nodes in one room, through the real UI and the real process:
// a tone from A's fake microphone is heard in B and stops when A mutes; the Host promotes and
// kicks from the page; chat crosses nodes; a reload of the /room deep link rejoins; a guest
// with the invite link joins; the app restarting on the host node is survived; closing the
// room shows everyone a clear page. Screenshots go to e2e/out/screenshots/.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { devnodeBinary, packageZip, screenshotDir } from './lib/artifacts.mjs';
import { api, appUrl, bootDevnode, faults } from './lib/devnode.mjs';
import * as room from './lib/roomPage.mjs';
import { roomBrowser } from './lib/roomBrowser.mjs';
import { toneWav } from './lib/wav.mjs';

const TONE_HZ = 440;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shots = screenshotDir();

describe('a room across two nodes', () => {
  let dn;
  let alice;
  let bob;
  let A;
  let B;
  let G;
  let created;


  before(async () => {
    dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: packageZip() });
    [alice, bob] = dn.nodes;
    const out = join(shots, '..');
    A = await roomBrowser(alice, toneWav(join(out, 'tone-440.wav'), { frequency: TONE_HZ, seconds: 4 }));
    B = await roomBrowser(bob, toneWav(join(out, 'silence.wav'), { seconds: 4, amplitude: 0 }));
    G = await roomBrowser(null, join(out, 'silence.wav'));
    created = await api(alice, 'CreateRoom', {
      name: 'Two nodes',
      capacity: 20,
      default_role: 'speaker',
      guests_allowed: true,
      guests_may_speak: false,
    });
  });

  after(async () => {
    for (const b of [A, B, G]) await b?.context.close();
    await dn?.stop();
  });

  it('lets the host join her own room from the room page', async () => {
    await room.openRoom(A.page, appUrl(alice, `/room/${created.id}`), { name: 'Alice' });
    await room.waitForParticipant(A.page, 'Alice', { role: 'host' });
  });

  it('lets a user of another node join room@node from his own node', async () => {
    await room.openRoom(B.page, appUrl(bob, `/room/${created.id}@alice.os?invite=${created.invite}`), { name: 'Bob' });
    await room.waitForParticipant(B.page, 'Alice');
    await room.waitForParticipant(A.page, 'Bob');
    const bobTile = room.participant(A.page, 'Bob');
    assert.match(await bobTile.innerText(), /bob\.os/, 'remote-node marker on the host page');
  });

  it("plays A's tone in B", async () => {
    const heard = await room.waitForTone(B.page, { frequency: TONE_HZ, minRms: 0.1 });
    console.log(`B hears ${heard.frequency.toFixed(1)} Hz at RMS ${heard.rms.toFixed(3)}`);
    await B.page.screenshot({ path: join(shots, 'bob-hears-alice.png') });
  });

  it('goes quiet in B when A mutes, and comes back when A unmutes', async () => {
    await room.toggleSelfMute(A.page);
    await room.waitForSilence(B.page);
    await room.waitForParticipant(B.page, 'Alice');
    assert.equal(await room.participant(B.page, 'Alice').getAttribute('data-muted'), 'true');
    await room.toggleSelfMute(A.page);
    await room.waitForTone(B.page, { frequency: TONE_HZ, minRms: 0.1 });
  });

  it('carries chat both ways across nodes', async () => {
    await room.sendChat(B.page, 'hello from bob.os');
    await room.waitForChat(A.page, 'hello from bob.os');
    await room.sendChat(A.page, 'hello from alice.os');
    await room.waitForChat(B.page, 'hello from alice.os');
  });

  it('promotes from the host page, live on the other node', async () => {
    await room.setRole(A.page, 'Bob', 'moderator');
    await room.waitForParticipant(B.page, 'Bob', { role: 'moderator' });
    await B.page.getByTestId('host-panel').waitFor();
  });

  it('admits a guest with the invite link, as a viewer who can raise a hand', async () => {
    await room.openRoom(G.page, appUrl(alice, `/room/${created.id}?invite=${created.invite}`), { name: 'Gus' });
    await room.waitForParticipant(A.page, 'Gus', { role: 'viewer' });
    await G.page.getByTestId('hand').click();
    await A.page.getByTestId('hands').getByText('Gus').waitFor();
    await A.page.screenshot({ path: join(shots, 'host-page.png') });
  });

  it('kicks from the host page: the guest sees why, everyone sees them gone', async () => {
    await room.kick(A.page, 'Gus');
    assert.equal(await room.noticeTitle(G.page), 'You were removed from this room');
    await room.waitForParticipantGone(A.page, 'Gus');
    await room.waitForParticipantGone(B.page, 'Gus');
  });

  it('rejoins on a reload of the /room deep link', async () => {
    await B.page.reload();
    await room.waitForLive(B.page);
    await room.waitForParticipant(B.page, 'Alice');
    await room.waitForTone(B.page, { frequency: TONE_HZ, minRms: 0.1 });
    const names = await room.participantNames(A.page);
    assert.equal(names.filter((n) => n === 'Bob').length, 1, `one Bob after the reload: ${names}`);
  });

  it('comes back as it was after the app restarts on the host node, missed chat filled in', async () => {
    await faults.restartApp(dn, 'alice.os');
    // Sent while alice's browser is cut off from the restarted process.
    await sleep(500);
    await room.sendChat(B.page, 'sent during the restart');
    await room.waitForChat(A.page, 'sent during the restart', 30_000);
    await room.waitForLive(A.page, 30_000);
    await room.waitForParticipant(A.page, 'Bob', { role: 'moderator' });
    await room.waitForParticipant(B.page, 'Alice', { role: 'host' });
    await room.waitForTone(B.page, { frequency: TONE_HZ, minRms: 0.1, timeoutMs: 30_000 });
  });

  it('shows everyone a clear page when the host closes the room, and on its old link', async () => {
    await room.confirmed(A.page.getByTestId('host-panel'), 'Close room');
    assert.equal(await room.noticeTitle(A.page), 'The room was closed');
    assert.equal(await room.noticeTitle(B.page), 'The room was closed');
    await A.page.goto(appUrl(alice, `/room/${created.id}`));
    assert.equal(await room.noticeTitle(A.page), 'This room is not available');
    await A.page.screenshot({ path: join(shots, 'closed-room.png') });
  });
});
