// "Mute for me" through the real UI and process (issue 12): Alice on alice.os plays a tone; Bob
// and Cat, two users of bob.os, listen. Bob clicks "Mute for me" on Alice: his socket is
// unsubscribed from her audio topic and no more of her frames arrive at his page, counted in
// his stats (window.__voiceChat), while Cat, on the same node, still gets every one; "Unmute
// for me" brings her frames back. (Applying it again after a welcome is tested in
// src/net/roomConnection.test.ts.)
//
// "Nothing arrived" is shown with positive markers: over the same stretch Cat receives a
// hundred more of Alice's frames and Bob a hundred more of Cat's (her fake microphone is silent,
// but an unmuted speaker sends a frame every 20 ms).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { devnodeBinary, packageZip, screenshotDir } from './lib/artifacts.mjs';
import { api, appUrl, bootDevnode } from './lib/devnode.mjs';
import * as room from './lib/roomPage.mjs';
import { roomBrowser } from './lib/roomBrowser.mjs';
import { toneWav } from './lib/wav.mjs';

const TONE_HZ = 440;
const MARKER_FRAMES = 100; // 2 s of audio
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shots = screenshotDir();

/** Frames of `stream` this page has received so far (its playback's count), 0 before the first. */
function framesFrom(page, stream) {
  return page.evaluate((s) => window.__voiceChat.stats().speakers[s]?.received ?? 0, stream);
}

async function streamOf(page, name) {
  return Number(await room.participant(page, name).getAttribute('data-stream'));
}

/** Waits until `page` has received at least `more` frames of `stream` beyond `from`. */
async function waitForFrames(page, stream, from, more, timeoutMs = 15_000) {
  const start = Date.now();
  let now = from;
  while (Date.now() - start < timeoutMs) {
    now = await framesFrom(page, stream);
    if (now >= from + more) return now;
    await sleep(100);
  }
  throw new Error(`stream ${stream}: ${now - from} frames within ${timeoutMs} ms, wanted ${more}`);
}

/**
 * Waits until the count of `stream` at `page` stops moving (frames sent before the server's
 * `unsubscribed` answer may still be in flight or being decoded) and returns it.
 */
async function settledFrames(page, stream, timeoutMs = 10_000) {
  const start = Date.now();
  let last = await framesFrom(page, stream);
  while (Date.now() - start < timeoutMs) {
    await sleep(500);
    const now = await framesFrom(page, stream);
    if (now === last) return now;
    last = now;
  }
  throw new Error(`frames of stream ${stream} still arriving after ${timeoutMs} ms (${last})`);
}

function mutedForMe(page, name) {
  return room.participant(page, name).getAttribute('data-muted-for-me');
}

async function waitForMutedForMe(page, name, value, timeoutMs = 15_000) {
  await page.locator(`[data-testid=participant][data-name="${name}"][data-muted-for-me="${value}"]`).waitFor({ timeout: timeoutMs });
}

describe('mute for me', () => {
  let dn;
  let A;
  let B;
  let C;
  let alice;
  let bob;
  let aliceAtB;
  let catAtB;
  let aliceAtC;


  before(async () => {
    dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: packageZip() });
    [alice, bob] = dn.nodes;
    const out = join(shots, '..');
    const silence = toneWav(join(out, 'silence.wav'), { seconds: 4, amplitude: 0 });
    A = await roomBrowser(alice, toneWav(join(out, 'tone-440.wav'), { frequency: TONE_HZ, seconds: 4 }));
    B = await roomBrowser(bob, silence);
    C = await roomBrowser(bob, silence);
    const created = await api(alice, 'CreateRoom', {
      name: 'Mute for me',
      capacity: 10,
      default_role: 'speaker',
      guests_allowed: false,
      guests_may_speak: false,
    });
    const remote = appUrl(bob, `/room/${created.id}@alice.os?invite=${created.invite}`);
    await room.openRoom(A.page, appUrl(alice, `/room/${created.id}`), { name: 'Alice' });
    await room.openRoom(B.page, remote, { name: 'Bob' });
    await room.openRoom(C.page, remote, { name: 'Cat' });
    for (const page of [A.page, B.page, C.page]) {
      for (const name of ['Alice', 'Bob', 'Cat']) await room.waitForParticipant(page, name);
    }
    aliceAtB = await streamOf(B.page, 'Alice');
    catAtB = await streamOf(B.page, 'Cat');
    aliceAtC = await streamOf(C.page, 'Alice');
    assert.equal(aliceAtB, aliceAtC, "one stream id for Alice on both pages");
  });

  after(async () => {
    for (const b of [A, B, C]) await b?.context.close();
    await dn?.stop();
  });

  it('starts with Bob and Cat hearing Alice, and Bob hearing Cat', async () => {
    await room.waitForTone(B.page, { frequency: TONE_HZ, minRms: 0.1 });
    await room.waitForTone(C.page, { frequency: TONE_HZ, minRms: 0.1 });
    await waitForFrames(B.page, catAtB, 0, 10);
    assert.equal(await mutedForMe(B.page, 'Alice'), 'false');
    // Only for others: no such button on one's own tile.
    assert.equal(await room.participant(B.page, 'Bob').getByTestId('mute-for-me').count(), 0);
  });

  it("stops Alice's frames at Bob's page when he mutes her for himself, not at Cat's", async () => {
    const button = room.participant(B.page, 'Alice').getByTestId('mute-for-me');
    assert.equal(await button.innerText(), 'Mute for me');
    await button.click();
    // Confirmed by the server's `unsubscribed`: after it, none of her frames is sent to Bob.
    await waitForMutedForMe(B.page, 'Alice', 'true');
    assert.equal(await button.innerText(), 'Unmute for me');
    await room.participant(B.page, 'Alice').getByTestId('muted-for-you').waitFor();
    const bobHadOfAlice = await settledFrames(B.page, aliceAtB);
    const catHadOfAlice = await framesFrom(C.page, aliceAtC);
    const bobHadOfCat = await framesFrom(B.page, catAtB);
    await waitForFrames(C.page, aliceAtC, catHadOfAlice, MARKER_FRAMES);
    await waitForFrames(B.page, catAtB, bobHadOfCat, MARKER_FRAMES);
    assert.equal(await framesFrom(B.page, aliceAtB), bobHadOfAlice, "no frame of Alice's reached Bob while muted for him");
    await room.waitForSilence(B.page);
    await room.waitForTone(C.page, { frequency: TONE_HZ, minRms: 0.1 });
    // Nobody else's view changed.
    assert.equal(await mutedForMe(C.page, 'Alice'), 'false');
    await B.page.screenshot({ path: join(shots, 'mute-for-me.png') });
  });

  it('brings her frames and her tone back with "Unmute for me"', async () => {
    const button = room.participant(B.page, 'Alice').getByTestId('mute-for-me');
    const had = await framesFrom(B.page, aliceAtB);
    await button.click();
    await waitForMutedForMe(B.page, 'Alice', 'false');
    assert.equal(await button.innerText(), 'Mute for me');
    assert.equal(await room.participant(B.page, 'Alice').getByTestId('muted-for-you').count(), 0);
    await waitForFrames(B.page, aliceAtB, had, MARKER_FRAMES);
    await room.waitForTone(B.page, { frequency: TONE_HZ, minRms: 0.1 });
  });
});
