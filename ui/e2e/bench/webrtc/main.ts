// Chromium's own WebRTC audio path, as the anchor of the mouth-to-ear bench: one page is the
// sender (a tone burst injected into an RTCPeerConnection's track, Opus), the other the receiver
// (the remote track into a probe worklet that times onsets exactly as the app's mixer does). The
// bench signals them itself; media goes only through the TURN relay on 127.0.0.1.
import { type ClockedTick, firstLoudOnAudioClock, wallMs } from '../../../src/audio/onset';
import { audioContextOptions } from '../../../src/audio/contextOptions';
import probeUrl from './probe.worklet.ts?worker&url';

interface Anchor {
  ready: boolean;
  error: string | null;
  offer(): Promise<RTCSessionDescriptionInit>;
  answer(offer: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit>;
  accept(answer: RTCSessionDescriptionInit): Promise<void>;
  state(): string;
  injectTone(frequency: number, durationMs: number, amplitude?: number): number;
  firstLoudAfter(sinceMs: number): number | null;
  outputLatencyMs(): number;
  inbound(): Promise<Record<string, number> | null>;
  candidates(): Promise<string[]>;
}

declare global {
  interface Window {
    __anchor: Anchor;
  }
}

const params = new URLSearchParams(location.search);
const turn = params.get('turn') ?? 'turn:127.0.0.1:3478?transport=udp';
const log = document.getElementById('log')!;
// The app's own output settings (`?buffer=default` as the app's "lowest delay" off): both systems
// play out through the same kind of device buffer.
const context = new AudioContext(audioContextOptions(params.get('buffer') !== 'default'));
const pc = new RTCPeerConnection({
  iceServers: [{ urls: turn, username: 'u', credential: 'p' }],
  // Relay only: the only candidates are the TURN server's on 127.0.0.1 (tests stay on loopback).
  iceTransportPolicy: 'relay',
});
const history: ClockedTick[] = [];
let destination: MediaStreamAudioDestinationNode | null = null;

async function gathered(): Promise<RTCSessionDescriptionInit> {
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    });
  }
  return pc.localDescription!.toJSON();
}

async function listen(stream: MediaStream): Promise<void> {
  // Chromium's WebAudio may stay silent on a remote track unless a media element plays it too.
  const element = new Audio();
  element.srcObject = stream;
  element.muted = true;
  await element.play().catch(() => {});
  await context.audioWorklet.addModule(probeUrl);
  const probe = new AudioWorkletNode(context, 'webrtc-probe', { numberOfInputs: 1, numberOfOutputs: 0 });
  probe.port.onmessage = (event: MessageEvent<{ rms: number; loudForMs: number | null; endFrame: number }>) => {
    // Timed on the audio clock, as the app's mixer ticks are (onset.ts firstLoudOnAudioClock).
    history.push({ audioMs: (event.data.endFrame * 1000) / context.sampleRate, arrivedMs: wallMs(), loudForMs: event.data.loudForMs });
    if (history.length > 500) history.shift();
  };
  context.createMediaStreamSource(stream).connect(probe);
}

pc.ontrack = (event) => {
  listen(event.streams[0] ?? new MediaStream([event.track])).catch((e) => (window.__anchor.error = String(e)));
};

window.__anchor = {
  ready: false,
  error: null,
  async offer() {
    destination = context.createMediaStreamDestination();
    // A constant silent source keeps the track producing frames between bursts.
    const silence = new ConstantSourceNode(context, { offset: 0 });
    silence.connect(destination);
    silence.start();
    pc.addTrack(destination.stream.getAudioTracks()[0], destination.stream);
    await pc.setLocalDescription(await pc.createOffer());
    return gathered();
  },
  async answer(offer) {
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    return gathered();
  },
  async accept(answer) {
    await pc.setRemoteDescription(answer);
  },
  state: () => pc.connectionState,
  injectTone(frequency, durationMs, amplitude = 0.5) {
    if (!destination) throw new Error('not the sender');
    const oscillator = new OscillatorNode(context, { frequency });
    const gain = new GainNode(context, { gain: amplitude });
    oscillator.connect(gain).connect(destination);
    const startedAt = wallMs();
    oscillator.start();
    oscillator.stop(context.currentTime + durationMs / 1000);
    oscillator.onended = () => gain.disconnect();
    return startedAt;
  },
  firstLoudAfter(sinceMs) {
    const loudAt = firstLoudOnAudioClock(history, sinceMs);
    return loudAt === null ? null : loudAt + this.outputLatencyMs();
  },
  outputLatencyMs() {
    const c = context as AudioContext & { outputLatency?: number };
    return ((c.baseLatency ?? 0) + (c.outputLatency ?? 0)) * 1000;
  },
  async inbound() {
    const report = await pc.getStats();
    let found: Record<string, number> | null = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        found = {
          packetsReceived: s.packetsReceived ?? 0,
          packetsLost: s.packetsLost ?? 0,
          packetsDiscarded: s.packetsDiscarded ?? 0,
          concealedSamples: s.concealedSamples ?? 0,
          totalSamplesReceived: s.totalSamplesReceived ?? 0,
          jitterBufferDelay: s.jitterBufferDelay ?? 0,
          jitterBufferEmittedCount: s.jitterBufferEmittedCount ?? 0,
          jitter: s.jitter ?? 0,
        };
      }
    });
    return found;
  },
  async candidates() {
    const report = await pc.getStats();
    const out: string[] = [];
    report.forEach((s) => {
      if (s.type === 'local-candidate' || s.type === 'remote-candidate') out.push(`${s.type} ${s.candidateType} ${s.address ?? s.ip}:${s.port}`);
    });
    return out;
  },
};

context
  .resume()
  .then(() => {
    window.__anchor.ready = true;
    log.textContent = 'ready';
  })
  .catch((e) => (window.__anchor.error = String(e)));
