// npm run e2e:audio-smoke — the app's real audio pipeline in Debian's chromium, with a 440 Hz
// tone as the microphone: asserts the tone is heard at the output (frequency and energy), that
// muting silences it and unmuting brings it back. Prints the numbers it measured.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './lib/browser.mjs';
import { serveDirectory } from './lib/staticServer.mjs';
import { toneWav } from './lib/wav.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const out = join(here, 'out');
mkdirSync(out, { recursive: true });

const TONE_HZ = 440;
const AMPLITUDE = 16000;
const INPUT_RMS = (AMPLITUDE / 32768) * Math.SQRT1_2;
let passed = 0;
const failures = [];
function check(name, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
  if (ok) passed++;
  else failures.push(name);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const db = (ratio) => 20 * Math.log10(ratio);

execFileSync('npx', ['vite', 'build', '--config', join(here, 'vite.smoke.config.ts')], { stdio: 'inherit', cwd: join(here, '..') });
const wav = toneWav(join(out, 'tone-440.wav'), { frequency: TONE_HZ, seconds: 4, amplitude: AMPLITUDE });
const server = await serveDirectory(join(out, 'audio-smoke'));
const browser = await launchChromium({ fakeMicWav: wav });

async function open(query) {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if ((m.type() === 'error' || m.type() === 'warning') && !m.text().includes('favicon')) console.log(`[page ${m.type()}] ${m.text()}`);
  });
  page.on('requestfailed', (r) => console.log(`[page] request failed ${r.url()}`));
  await page.goto(`${server.url}?${query}`);
  await page.waitForFunction(() => window.__smoke?.ready || window.__smoke?.error, null, { timeout: 15_000 });
  const error = await page.evaluate(() => window.__smoke.error);
  if (error) throw new Error(`page failed to start: ${error}`);
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

function describe(m) {
  const s = m.speaker ?? {};
  return (
    `forwarded ${m.forwarded} frames; played ${s.played}, concealed ${s.concealed}, late ${s.late}, ` +
    `jitter ${s.jitterMs?.toFixed(1)} ms, target ${s.targetMs} ms; sender mic level -${m.micLevel} dBov; ` +
    `output ${m.freq?.toFixed(1)} Hz, RMS ${m.rms.toFixed(3)}`
  );
}

try {
  // 1. Voice processing off: the output must be the input, level for level.
  const raw = await open('jitter=30&processing=off');
  await sleep(3000);
  const heard = await measure(raw);
  console.log(`processing off: ${describe(heard)}`);
  check('tone frequency at the output', heard.freq !== null && Math.abs(heard.freq - TONE_HZ) < 10, `${heard.freq?.toFixed(1)} Hz`);
  check(
    'tone energy at the output matches the input',
    Math.abs(db(heard.rms / INPUT_RMS)) < 3,
    `RMS ${heard.rms.toFixed(3)} vs ${INPUT_RMS.toFixed(3)} in (${db(heard.rms / INPUT_RMS).toFixed(1)} dB)`,
  );
  check('frames flowed at 50/s', heard.forwarded > 120, `${heard.forwarded} frames in ~3 s`);
  check('no late frames at 30 ms jitter', (heard.speaker?.late ?? 1) <= 3, `${heard.speaker?.late} late`);
  check(
    'every encoded chunk matched its captured frame (true level and timestamp)',
    heard.sender.errors === 0 && heard.sender.unmatched === 0 && heard.sender.encoded > 100,
    JSON.stringify(heard.sender),
  );

  await raw.evaluate(() => window.__smoke.setSending(false));
  await sleep(1500);
  const muted = await raw.evaluate(() => window.__voiceChat.recentOutputRms(500));
  check('mute silences the output', muted < 0.005, `RMS ${muted.toFixed(4)} over 0.5 s after mute`);

  await raw.evaluate(() => window.__smoke.setSending(true));
  await sleep(1500);
  const back = await raw.evaluate(() => window.__voiceChat.recentOutputRms(500));
  check('unmute brings it back', Math.abs(db(back / INPUT_RMS)) < 3, `RMS ${back.toFixed(3)}`);

  // The headers the sender wrote: sequence +1 per frame, timestamp on the capture clock,
  // MARKER on the first frame of each talk spurt, VOICE and the true level for the tone.
  const headers = await raw.evaluate(() => window.__smoke.headers);
  const markers = headers.map((h, i) => (h.flags & 2 ? i : -1)).filter((i) => i >= 0);
  const sequential = headers.every((h, i) => i === 0 || h.sequence === headers[i - 1].sequence + 1);
  const spurtStart = markers[1] ?? headers.length;
  const clocked = headers.every((h, i) => i === 0 || i === spurtStart || h.timestamp - headers[i - 1].timestamp === 960);
  const pausedGap = markers[1] !== undefined ? headers[markers[1]].timestamp - headers[markers[1] - 1].timestamp : 0;
  const voiced = headers.filter((h) => h.flags & 1).length;
  const levels = headers.slice(5).map((h) => h.level);
  check('sequence numbers are consecutive', sequential, `${headers.length} frames`);
  check('MARKER starts each talk spurt only', markers.length === 2 && markers[0] === 0, `markers at ${markers.join(', ')}`);
  check(
    'timestamps follow the capture clock, across the mute too',
    clocked && pausedGap >= 1.2 * 48000,
    `+960 per frame; ${(pausedGap / 48).toFixed(0)} ms jump over the mute`,
  );
  // The fake device loops the WAV; a frame straddling the loop point may read a little lower.
  const exact = levels.filter((l) => l === 9).length;
  check(
    'VOICE set and level true for the tone',
    voiced >= headers.length - 2 && exact >= 0.95 * levels.length && levels.every((l) => l >= 6 && l <= 15),
    `${voiced}/${headers.length} voiced; level 9 (−9 dBov) in ${exact}/${levels.length}, all ${[...new Set(levels)].join(',')}`,
  );
  await raw.close();

  // 2. The product default (echo cancellation, noise suppression, AGC on): the tone is
  // processed, but what the far end hears must match what the sender's mic produced.
  const voice = await open('jitter=30&loss=0.02');
  await sleep(3000);
  const processed = await measure(voice);
  console.log(`processing on, 2% loss: ${describe(processed)}`);
  const micRms = 10 ** (-processed.micLevel / 20);
  check('processed tone still heard at 440 Hz', processed.freq !== null && Math.abs(processed.freq - TONE_HZ) < 10, `${processed.freq?.toFixed(1)} Hz`);
  check(
    'output level follows the sender level',
    processed.micLevel < 127 && Math.abs(db(processed.rms / micRms)) < 6,
    `${db(processed.rms / micRms).toFixed(1)} dB from the sender's level`,
  );
  check('loss was concealed', (processed.speaker?.concealed ?? 0) > 0, `${processed.speaker?.concealed} concealed`);
  await voice.screenshot({ path: join(out, 'audio-smoke.png') });
} finally {
  await browser.close();
}

// 3. Pipeline latency: a silent mic, tone bursts injected at the capture worklet, timed where
// the mixer first plays them (plus the context's output latency). No network in between but
// the loopback's 0–30 ms random delay, so this is the client's own share of mouth-to-ear.
const silent = toneWav(join(out, 'silence.wav'), { seconds: 4, amplitude: 0 });
const quiet = await launchChromium({ fakeMicWav: silent });
try {
  const page = await quiet.newPage();
  await page.goto(`${server.url}?jitter=30&processing=off`);
  await page.waitForFunction(() => window.__smoke?.ready || window.__smoke?.error, null, { timeout: 15_000 });
  await sleep(1000);
  const latencies = [];
  for (let i = 0; i < 10; i++) {
    const started = await page.evaluate(() => window.__smoke.injectTone(1000, 200));
    await sleep(700);
    const heardAt = await page.evaluate((t) => window.__voiceChat.firstLoudAfter(t), started);
    if (heardAt !== null) latencies.push(heardAt - started);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  console.log(
    `client pipeline latency over ${latencies.length} bursts: p50 ${pct(50)?.toFixed(0)} ms, p95 ${pct(95)?.toFixed(0)} ms ` +
      `(min ${latencies[0]?.toFixed(0)}, max ${latencies[latencies.length - 1]?.toFixed(0)})`,
  );
  check('every tone burst was heard', latencies.length === 10, `${latencies.length}/10`);
} finally {
  await quiet.close();
  await server.close();
}

console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
