// The app's real audio pipeline in Debian's chromium, with generated WAVs as the microphone:
// a 440 Hz tone must be heard at the output (frequency and energy), mute must silence it, the
// sender's headers must be right, loss must be concealed; prints the client's own share of
// mouth-to-ear latency. Run: npm run e2e:audio-smoke (node's test runner).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './lib/browser.mjs';
import { serveDirectory } from './lib/staticServer.mjs';
import { toneWav } from './lib/wav.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const out = join(here, 'out');
const TONE_HZ = 440;
const AMPLITUDE = 16000;
const INPUT_RMS = (AMPLITUDE / 32768) * Math.SQRT1_2;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const db = (ratio) => 20 * Math.log10(ratio);

let server;

before(() => {
  mkdirSync(out, { recursive: true });
  // --mode test-hooks: the page reads window.__voiceChat, which only test builds install.
  execFileSync('npx', ['vite', 'build', '--mode', 'test-hooks', '--config', join(here, 'vite.smoke.config.ts')], {
    stdio: ['ignore', 'ignore', 'inherit'],
    cwd: join(here, '..'),
  });
});

before(async () => {
  server = await serveDirectory(join(out, 'audio-smoke'));
});

after(async () => {
  await server?.close();
});

async function openSmoke(browser, query) {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.log(`[page ${m.type()}] ${m.text()}`);
  });
  await page.goto(`${server.url}?${query}`);
  await page.waitForFunction(() => window.__smoke?.ready || window.__smoke?.error, null, { timeout: 15_000 });
  const error = await page.evaluate(() => window.__smoke.error);
  assert.equal(error, null, `page failed to start: ${error}`);
  return page;
}

async function measure(page) {
  return page.evaluate(() => {
    const stats = window.__voiceChat.stats();
    return {
      rms: window.__voiceChat.recentOutputRms(1000),
      freq: window.__voiceChat.dominantFrequency(),
      speaker: stats.speakers[7] ?? null,
      forwarded: window.__smoke.forwarded,
      micLevel: window.__smoke.micLevel(),
      sender: window.__smoke.senderStats(),
    };
  });
}

function describeMeasure(m) {
  const s = m.speaker ?? {};
  return (
    `forwarded ${m.forwarded} frames; played ${s.played}, concealed ${s.concealed}, late ${s.late}, ` +
    `jitter ${s.jitterMs?.toFixed(1)} ms, target ${s.targetMs} ms; sender mic level -${m.micLevel} dBov; ` +
    `output ${m.freq?.toFixed(1)} Hz, RMS ${m.rms.toFixed(3)}`
  );
}

describe('tone through the pipeline, voice processing off', () => {
  let browser;
  let page;
  let heard;
  let mutedAt;
  let unmutedAt;

  before(async () => {
    const wav = toneWav(join(out, 'tone-440.wav'), { frequency: TONE_HZ, seconds: 4, amplitude: AMPLITUDE });
    browser = await launchChromium({ fakeMicWav: wav });
    page = await openSmoke(browser, 'jitter=30&processing=off');
    await sleep(3000);
    heard = await measure(page);
    console.log(`processing off: ${describeMeasure(heard)}`);
  });

  after(async () => {
    await browser?.close();
  });

  it('hears the tone at its frequency', () => {
    assert.ok(heard.freq !== null && Math.abs(heard.freq - TONE_HZ) < 10, `${heard.freq} Hz`);
  });

  it('hears it at the level it was captured (within 3 dB)', () => {
    assert.ok(Math.abs(db(heard.rms / INPUT_RMS)) < 3, `RMS ${heard.rms} vs ${INPUT_RMS}`);
  });

  it('forwards 50 frames a second with almost no late frames at 30 ms jitter', () => {
    assert.ok(heard.forwarded > 120, `${heard.forwarded} frames in ~3 s`);
    assert.ok((heard.speaker?.late ?? Infinity) <= 3, `${heard.speaker?.late} late`);
  });

  it('matches every encoded chunk to its captured frame', () => {
    assert.equal(heard.sender.errors, 0);
    assert.equal(heard.sender.unmatched, 0);
    assert.ok(heard.sender.encoded > 100);
  });

  it('goes silent on mute and comes back on unmute', async () => {
    // Polled rather than slept: on a loaded machine the audio threads may take a moment.
    const settle = async (ok, timeoutMs = 10_000) => {
      const start = Date.now();
      let rms;
      do {
        await sleep(250);
        rms = await page.evaluate(() => window.__voiceChat.recentOutputRms(500));
      } while (!ok(rms) && Date.now() - start < timeoutMs);
      return rms;
    };
    mutedAt = await page.evaluate(() => (window.__smoke.setSending(false), performance.now()));
    const muted = await settle((rms) => rms < 0.005);
    assert.ok(muted < 0.005, `RMS ${muted} over 0.5 s after mute`);
    unmutedAt = await page.evaluate(() => (window.__smoke.setSending(true), performance.now()));
    const back = await settle((rms) => Math.abs(db(rms / INPUT_RMS)) < 3);
    assert.ok(Math.abs(db(back / INPUT_RMS)) < 3, `RMS ${back} over 0.5 s after unmute`);
  });

  it('writes the headers right: sequence, capture-clock timestamps, MARKER, VOICE, level', async () => {
    const headers = await page.evaluate(() => window.__smoke.headers);
    const markers = headers.map((h, i) => (h.flags & 2 ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(markers.length, 2, `markers at ${markers}`);
    assert.equal(markers[0], 0);
    for (let i = 1; i < headers.length; i++) {
      assert.equal(headers[i].sequence, headers[i - 1].sequence + 1, `sequence at ${i}`);
      if (i !== markers[1]) assert.equal(headers[i].timestamp - headers[i - 1].timestamp, 960, `timestamp at ${i}`);
    }
    // Across the mute the timestamp jumps by the time the mic kept running unsent.
    const gapMs = (headers[markers[1]].timestamp - headers[markers[1] - 1].timestamp) / 48;
    const mutedMs = unmutedAt - mutedAt;
    assert.ok(Math.abs(gapMs - mutedMs) < 60, `timestamp jump ${gapMs} ms over a ${mutedMs.toFixed(0)} ms mute`);
    const voiced = headers.filter((h) => h.flags & 1).length;
    assert.ok(voiced >= headers.length - 2, `${voiced}/${headers.length} voiced`);
    // The fake device loops the WAV; a frame straddling the loop point may read a little lower.
    const levels = headers.slice(5).map((h) => h.level);
    const exact = levels.filter((l) => l === 9).length;
    assert.ok(exact >= 0.95 * levels.length, `level 9 (−9 dBov) in ${exact}/${levels.length}`);
    assert.ok(levels.every((l) => l >= 6 && l <= 15), `levels ${[...new Set(levels)]}`);
    await page.screenshot({ path: join(out, 'audio-smoke.png') });
  });
});

describe('tone through the pipeline, voice processing on, 2% loss', () => {
  let browser;
  let processed;

  before(async () => {
    const wav = toneWav(join(out, 'tone-440.wav'), { frequency: TONE_HZ, seconds: 4, amplitude: AMPLITUDE });
    browser = await launchChromium({ fakeMicWav: wav });
    const page = await openSmoke(browser, 'jitter=30&loss=0.02');
    await sleep(3000);
    processed = await measure(page);
    console.log(`processing on, 2% loss: ${describeMeasure(processed)}`);
  });

  after(async () => {
    await browser?.close();
  });

  it('still hears the processed tone at 440 Hz', () => {
    assert.ok(processed.freq !== null && Math.abs(processed.freq - TONE_HZ) < 10, `${processed.freq} Hz`);
  });

  it('plays it at the level the sender captured (within 6 dB)', () => {
    const micRms = 10 ** (-processed.micLevel / 20);
    assert.ok(processed.micLevel < 127 && Math.abs(db(processed.rms / micRms)) < 6, `${db(processed.rms / micRms)} dB`);
  });

  it('conceals the lost frames', () => {
    assert.ok((processed.speaker?.concealed ?? 0) > 0, `${processed.speaker?.concealed} concealed`);
  });
});

describe('client pipeline latency', () => {
  let browser;
  const latencies = [];

  before(async () => {
    // Silent mic, tone bursts injected at the capture worklet, timed where the mixer first plays
    // them plus the context's output latency. The loopback adds 0–30 ms of random delay.
    const silent = toneWav(join(out, 'silence.wav'), { seconds: 4, amplitude: 0 });
    browser = await launchChromium({ fakeMicWav: silent });
    const page = await openSmoke(browser, 'jitter=30&processing=off');
    await sleep(1000);
    for (let i = 0; i < 10; i++) {
      const started = await page.evaluate(() => window.__smoke.injectTone(1000, 200));
      await sleep(700);
      const heardAt = await page.evaluate((t) => window.__voiceChat.firstLoudAfter(t), started);
      if (heardAt !== null) latencies.push(heardAt - started);
    }
    latencies.sort((a, b) => a - b);
    const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
    console.log(
      `client pipeline latency over ${latencies.length} bursts: p50 ${pct(50)?.toFixed(0)} ms, ` +
        `p95 ${pct(95)?.toFixed(0)} ms (min ${latencies[0]?.toFixed(0)}, max ${latencies.at(-1)?.toFixed(0)})`,
    );
  });

  after(async () => {
    await browser?.close();
  });

  it('hears every tone burst', () => {
    assert.equal(latencies.length, 10);
  });
});
