// The whole audio path of the app in one page, with the network replaced by a loopback that
// re-encodes each frame as the server would (stream id overwritten), drops every n-th frame for
// a given loss rate, and delivers the rest after a random delay: mic → capture worklet → Opus encoder → frame codec → jitter buffer → Opus
// decoder → mixer worklet → output probe.

import { AudioEngine } from '../../src/audio/engine';
import { decodeAudioFrame, encodeAudioFrame } from '../../src/protocol/frame';

const params = new URLSearchParams(location.search);
const jitterMs = Number(params.get('jitter') ?? '30');
const loss = Number(params.get('loss') ?? '0');
// Loss is spread evenly (every n-th frame) rather than drawn at random, so a short run always
// loses some frames and the concealment check cannot pass or fail by luck.
const dropEvery = loss > 0 ? Math.round(1 / loss) : 0;
const voiceProcessing = params.get('processing') !== 'off';
const log = document.getElementById('log')!;

interface Header {
  flags: number;
  sequence: number;
  timestamp: number;
  level: number;
}

interface Smoke {
  headers: Header[];
  ready: boolean;
  error: string | null;
  forwarded: number;
  setSending(sending: boolean): void;
  micLevel(): number;
  injectTone(frequency: number, durationMs: number): number | null;
  senderStats(): { encoded: number; errors: number; unmatched: number } | null;
}

declare global {
  interface Window {
    __smoke: Smoke;
  }
}

window.__smoke = { headers: [], ready: false, error: null, forwarded: 0, setSending: () => {}, micLevel: () => 127, injectTone: () => null, senderStats: () => null };

async function main(): Promise<void> {
  let receiver: AudioEngine | null = null;
  const sender = await AudioEngine.create((bytes) => {
    const frame = decodeAudioFrame(bytes);
    const { flags, sequence, timestamp, level } = frame;
    window.__smoke.headers.push({ flags, sequence, timestamp, level });
    const forwarded = encodeAudioFrame({ ...frame, streamId: 7 });
    if (dropEvery > 0 && frame.sequence % dropEvery === dropEvery - 1) return;
    window.__smoke.forwarded++;
    setTimeout(() => receiver?.receive(decodeAudioFrame(forwarded)), Math.random() * jitterMs);
  });
  // Created second, so the debug hook reads the receiving side, as in a real room.
  receiver = await AudioEngine.create(() => {});
  sender.setStreamId(3);
  receiver.setStreamId(4);
  await sender.startMic(undefined, voiceProcessing);
  sender.setSending(true);
  await sender.resume();
  await receiver.resume();
  window.__smoke.setSending = (sending) => sender.setSending(sending);
  window.__smoke.micLevel = () => sender.micLevel;
  window.__smoke.injectTone = (frequency, durationMs) => sender.injectTone(frequency, durationMs);
  window.__smoke.senderStats = () => sender.senderStats();
  window.__smoke.ready = true;
  log.textContent = 'running';
}

main().catch((e) => {
  window.__smoke.error = String(e?.stack ?? e);
  log.textContent = window.__smoke.error;
});
