// An end-to-end encrypted room across two devnode nodes with the real package (issue 13): the
// key travels only in the links' fragment. Bob (bob.os), who pastes the room address with its key
// into his own node's "Join a room" form, hears Alice's tone; both pages show the lock and the
// same safety code; a link without the key gets a clear page, never noise; a raw WebSocket
// client with the invite but no key receives frames whose payloads do not decode to the tone;
// the chat the owner reads over ChatHistory is ciphertext; after the Host kicks a guest the key
// rotates: Alice and Bob keep talking (at most one concealed frame at the switch) and the guest,
// back in with the old link, can no longer hear or read the room and is told so.
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { devnodeBinary, packageZip, screenshotDir } from './lib/artifacts.mjs';
import { api, appUrl, bootDevnode } from './lib/devnode.mjs';
import * as room from './lib/roomPage.mjs';
import { roomBrowser } from './lib/roomBrowser.mjs';
import { toneWav } from './lib/wav.mjs';

const TONE_HZ = 440;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shots = screenshotDir();

/** A fresh room key as a link carries it: `<epoch>.<base64url of 32 random bytes>`. */
function newKeyText() {
  return `0.${Buffer.from(webcrypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`;
}

async function safetyCode(page, { not, timeoutMs = 15_000 } = {}) {
  const start = Date.now();
  let code = null;
  while (Date.now() - start < timeoutMs) {
    const badge = page.getByTestId('safety-code');
    code = (await badge.count()) > 0 ? (await badge.locator('code').innerText()).trim() : null;
    if (code && code !== not) return code;
    await sleep(200);
  }
  throw new Error(`no safety code${not ? ` other than ${not}` : ''} within ${timeoutMs} ms (last ${code})`);
}

/** Concealed frames B has played for every speaker so far. */
async function concealed(page) {
  return page.evaluate(() => Object.values(window.__voiceChat.stats().speakers).reduce((n, s) => n + s.concealed, 0));
}

describe('an end-to-end encrypted room', () => {
  let dn;
  let alice;
  let bob;
  let A;
  let B;
  let C;
  let created;
  let key;


  before(async () => {
    dn = await bootDevnode({ devnode: devnodeBinary(), packageZip: packageZip() });
    [alice, bob] = dn.nodes;
    const out = join(shots, '..');
    A = await roomBrowser(alice, toneWav(join(out, 'tone-440.wav'), { frequency: TONE_HZ, seconds: 4 }));
    B = await roomBrowser(bob, toneWav(join(out, 'silence.wav'), { seconds: 4, amplitude: 0 }));
    C = await roomBrowser(null, join(out, 'silence.wav'));
    created = await api(alice, 'CreateRoom', {
      name: 'Sealed',
      capacity: 20,
      default_role: 'speaker',
      guests_allowed: true,
      guests_may_speak: false,
      e2ee: true,
    });
    key = newKeyText();
  });

  after(async () => {
    for (const b of [A, B, C]) await b?.context.close();
    await dn?.stop();
  });

  it('says so, plainly, when a link without the key is opened', async () => {
    await C.page.goto(appUrl(alice, `/room/${created.id}?invite=${created.invite}`));
    const form = C.page.getByTestId('join-form');
    await form.waitFor({ timeout: 20_000 });
    await form.locator('input').fill('Cleo');
    await C.page.getByTestId('join').click();
    const notice = C.page.getByTestId('e2ee-missing-key');
    await notice.waitFor({ timeout: 20_000 });
    assert.match(await notice.innerText(), /this room is end-to-end encrypted; ask for a full invite link/i);
    await C.page.screenshot({ path: join(shots, 'e2ee-missing-key.png') });
    // It left: nobody sits in the room unable to hear it.
    await room.openRoom(A.page, appUrl(alice, `/room/${created.id}#k=${key}`), { name: 'Alice' });
    await room.waitForParticipant(A.page, 'Alice', { role: 'host' });
    await room.waitForParticipantGone(A.page, 'Cleo');
  });

  it("plays A's tone in B across nodes; both show the lock and the same safety code", async () => {
    // Bob pastes the room address with its key into his own node's "Join a room" form.
    await B.page.goto(appUrl(bob, '/'));
    await B.page.getByTestId('join-remote').locator('input').fill(`${created.id}@alice.os?invite=${created.invite}#k=${key}`);
    await B.page.getByTestId('join-remote').getByRole('button', { name: 'Join' }).click();
    const form = B.page.getByTestId('join-form');
    await form.waitFor({ timeout: 15_000 });
    assert.ok(B.page.url().endsWith(`#k=${key}`), `the key stays in the fragment: ${B.page.url()}`);
    await form.locator('input').fill('Bob');
    await B.page.getByTestId('join').click();
    await room.waitForLive(B.page);
    await room.waitForParticipant(A.page, 'Bob');
    const heard = await room.waitForTone(B.page, { frequency: TONE_HZ, minRms: 0.1 });
    console.log(`B hears ${heard.frequency.toFixed(1)} Hz at RMS ${heard.rms.toFixed(3)} in the encrypted room`);
    const [codeA, codeB] = [await safetyCode(A.page), await safetyCode(B.page)];
    assert.equal(codeA, codeB, 'same safety code on both pages');
    for (const page of [A.page, B.page]) assert.match(await page.getByTestId('e2ee-badge').innerText(), /End-to-end encrypted/);
    await B.page.screenshot({ path: join(shots, 'e2ee-bob-hears-alice.png') });
  });

  it('gives a raw client with the invite but no key frames that do not decode to the tone', async () => {
    const payloads = await rawGuestPayloads(alice, created, 60);
    assert.equal(payloads.length, 60);
    // SFrame: a config byte, KID and CTR, the ciphertext, an 8-byte tag (≥ 14 bytes more than Opus).
    for (const p of payloads) assert.ok(p.length >= 15, `payload of ${p.length} bytes`);
    const decoded = await A.page.evaluate(decodeAndMeasure, { payloads: payloads.map((p) => Array.from(p)), frequency: TONE_HZ });
    console.log(`raw client: ${JSON.stringify(decoded)}`);
    assert.ok(
      decoded.samples === 0 || decoded.toneShare < 0.5,
      `the encrypted payloads must not decode to ${TONE_HZ} Hz: ${JSON.stringify(decoded)}`,
    );
  });

  it('stores chat as ciphertext: ChatHistory over HTTP never holds the text', async () => {
    const secret = 'the eagle lands at noon';
    await room.sendChat(A.page, secret);
    await room.waitForChat(B.page, secret);
    await room.sendChat(B.page, 'copy that, from bob.os');
    await room.waitForChat(A.page, 'copy that, from bob.os');
    const history = await api(alice, 'ChatHistory', created.id);
    const texts = (Array.isArray(history) ? history : history.messages ?? history.chat).map((m) => m.text);
    assert.ok(texts.length >= 2, `history: ${JSON.stringify(history)}`);
    for (const text of texts) {
      assert.match(text, /^e1\.[A-Za-z0-9_-]+$/, 'each message is sealed');
      assert.ok(!text.includes('eagle') && !text.includes('bob.os'), 'no plaintext in what the node stores');
    }
  });

  it('rotates the key when the Host kicks: A and B keep talking, the kicked guest is locked out', async () => {
    // Cleo's tab still shows the page for the link without a key: start from a fresh page.
    await C.page.goto('about:blank');
    await room.openRoom(C.page, appUrl(alice, `/room/${created.id}?invite=${created.invite}#k=${key}`), { name: 'Cleo' });
    await room.waitForParticipant(A.page, 'Cleo', { role: 'viewer' });
    await room.waitForTone(C.page, { frequency: TONE_HZ, minRms: 0.1 });
    const before = await safetyCode(A.page);
    assert.equal(await safetyCode(B.page), before, 'B and A agree before the kick');
    const concealedAtKick = await concealed(B.page);

    await room.kick(A.page, 'Cleo');
    // The kick is confirmed in the page (a confirm() dialog used to stop A's main thread, and
    // with it A's sending, while it was open). A sends under the new key only 500 ms after it
    // rotates, once Cleo is gone, so what is concealed from here on is the switch's.
    await sleep(250);
    const concealedBefore = await concealed(B.page);
    console.log(`B concealed ${concealedBefore - concealedAtKick} frame(s) while A kicked`);
    assert.equal(await room.noticeTitle(C.page), 'You were removed from this room');
    const rotated = await safetyCode(A.page, { not: before });
    assert.equal(await safetyCode(B.page, { not: before }), rotated, 'B has the new key and agrees with A');
    // Through the switch (B decrypts both keys; A moves to the new one half a second later).
    await sleep(2000);
    await room.waitForTone(B.page, { frequency: TONE_HZ, minRms: 0.1 });
    const concealedAtSwitch = (await concealed(B.page)) - concealedBefore;
    console.log(`B concealed ${concealedAtSwitch} frame(s) across the key switch`);
    assert.ok(concealedAtSwitch <= 1, `at most one concealed frame at the switch, got ${concealedAtSwitch}`);

    // Cleo still has the old link (and the invite still works: a kick is not a ban). She gets in,
    // but the key was not shared with her: her page says so and plays nothing.
    await C.page.goto('about:blank');
    await room.openRoom(C.page, appUrl(alice, `/room/${created.id}?invite=${created.invite}#k=${key}`), { name: 'Cleo' });
    await room.waitForParticipant(A.page, 'Cleo');
    const banner = C.page.getByTestId('e2ee-key-changed');
    await banner.waitFor({ timeout: 15_000 });
    assert.match(await banner.innerText(), /key changed and was not shared with you/);
    const heard = await room.listen(C.page, 1000);
    assert.ok(
      heard.rms < 0.02 || heard.frequency === null || Math.abs(heard.frequency - TONE_HZ) > 15,
      `the kicked guest must not hear the tone: ${JSON.stringify({ rms: heard.rms, frequency: heard.frequency })}`,
    );
    await C.page.screenshot({ path: join(shots, 'e2ee-kicked-guest-locked-out.png') });
    // And A and B still talk.
    await room.waitForTone(B.page, { frequency: TONE_HZ, minRms: 0.1 });
  });
});

/** Joins as a guest over a raw socket (invite, no key) and collects the payloads of `count` frames. */
async function rawGuestPayloads(node, created, count) {
  const ws = new WebSocket(`${node.url.replace('http', 'ws')}/voice-chat:voice-chat:template.os/guest-ws`);
  const payloads = [];
  let received = 0;
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${payloads.length} frames in 20 s`)), 20_000);
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ v: 1, type: 'join', room: created.id, name: 'Eve', invite: created.invite, ref: 'join' })));
      ws.on('message', (data, binary) => {
        if (!binary) {
          const msg = JSON.parse(data.toString());
          if (msg.type === 'error') reject(new Error(`raw client refused: ${msg.code}`));
          return;
        }
        // Frames may come several to a message; each is 16 header bytes and its payload length.
        let at = 0;
        while (at + 16 <= data.length && payloads.length < count) {
          const length = data.readUInt16BE(at + 14);
          payloads.push(new Uint8Array(data.subarray(at + 16, at + 16 + length)));
          at += 16 + length;
          received++;
        }
        // Acknowledge, so flow control keeps sending (kind 0x02, total received).
        const ack = Buffer.alloc(5);
        ack[0] = 2;
        ack.writeUInt32BE(received >>> 0, 1);
        ws.send(ack);
        if (payloads.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    ws.send(JSON.stringify({ v: 1, type: 'leave' }));
    ws.close();
  }
  return payloads;
}

/**
 * Runs in a page: feeds payloads to WebCodecs' Opus decoder and measures how much of what comes
 * out is the tone (Goertzel power at `frequency` over total power). Ciphertext either fails to
 * decode or decodes to something that is not the tone.
 */
async function decodeAndMeasure({ payloads, frequency }) {
  const out = [];
  let errors = 0;
  const decoder = new AudioDecoder({
    output: (data) => {
      const samples = new Float32Array(data.numberOfFrames);
      data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
      out.push(samples);
      data.close();
    },
    error: () => errors++,
  });
  decoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1 });
  payloads.forEach((p, i) => {
    try {
      if (decoder.state === 'configured') decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: i * 20_000, data: new Uint8Array(p) }));
    } catch {
      errors++;
    }
  });
  try {
    if (decoder.state === 'configured') await decoder.flush();
  } catch {
    errors++;
  }
  const all = new Float32Array(out.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of out) {
    all.set(s, at);
    at += s.length;
  }
  let total = 0;
  for (const x of all) total += x * x;
  const w = (2 * Math.PI * frequency) / 48000;
  let s1 = 0;
  let s2 = 0;
  for (const x of all) {
    const s0 = x + 2 * Math.cos(w) * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const tonePower = ((s1 * s1 + s2 * s2 - 2 * Math.cos(w) * s1 * s2) * 2) / Math.max(1, all.length);
  return { samples: all.length, errors, rms: Math.sqrt(total / Math.max(1, all.length)), toneShare: total > 0 ? tonePower / total : 0 };
}
