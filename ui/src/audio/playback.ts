// Everything heard: one Speaker (decoder) per remote stream on the main thread, its playout
// buffer and the mix in the mixer worklet, with an analyser on the mixed output for the level
// meter and the end-to-end tests' probe.

import type { AudioFrame } from '../protocol/frame';
import { type ClockedTick, firstLoudOnAudioClock, wallMs } from './onset';
import type { PlayoutStats } from './playout';
import { dominantFrequency } from './spectrum';
import { Speaker, type DecoderStats } from './speaker';
import { TraceRing, type ReceiveTrace } from './trace';
import { mixerWorkletUrl } from './worklets/urls';

export type SpeakerStats = DecoderStats & PlayoutStats;

const NO_PLAYOUT: PlayoutStats = {
  received: 0,
  played: 0,
  late: 0,
  duplicate: 0,
  concealed: 0,
  lost: 0,
  underrun: 0,
  burstDropped: 0,
  trims: 0,
  resets: 0,
  playedMs: 0,
  concealedMs: 0,
  trimmedMs: 0,
  recoveredMs: 0,
  jitterMs: 0,
  spreadMs: 0,
  targetMs: 0,
  depthMs: 0,
  playoutDelayMs: 0,
  playing: false,
};

/** Silence for this long and a speaker's decoder is let go; it comes back on its next frame. */
const IDLE_SPEAKER_MS = 30_000;
const RMS_HISTORY = 250; // 5 s of 20 ms ticks

/** One 20 ms tick of mixed output, stamped with wall-clock time (onset.ts wallMs) for cross-browser timing. */
export interface OutputTick {
  atMs: number;
  rms: number;
  /** Wall-clock time at which the output first went loud within this tick, if it did. */
  loudAtMs: number | null;
}

export interface PlaybackStats {
  speakers: Record<number, SpeakerStats>;
  ticks: number;
}

export class Playback {
  private readonly speakers = new Map<number, Speaker>();
  private readonly gains = new Map<number, number>();
  private readonly analyser: AnalyserNode;
  private readonly history: OutputTick[] = [];
  private playout: Record<number, PlayoutStats> = {};
  private readonly traces = new TraceRing<ReceiveTrace>();
  private ticks = 0;
  /** The same ticks, with where the audio clock stood, for onset timing. */
  private readonly clocked: ClockedTick[] = [];

  private constructor(
    private readonly context: AudioContext,
    private readonly mixer: AudioWorkletNode,
  ) {
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 4096;
    this.analyser.smoothingTimeConstant = 0;
    mixer.connect(this.analyser);
    mixer.connect(context.destination);
    mixer.port.onmessage = (event) => {
      if (event.data?.type === 'hold') {
        const { id, sequence, holdMs } = event.data;
        const trace = this.traces.find((t) => t.stream === id && t.sequence === sequence);
        if (trace && holdMs !== null) trace.holdMs = holdMs;
        return;
      }
      if (event.data?.type !== 'tick') return;
      if (event.data.stats) this.playout = event.data.stats;
      this.tick(event.data.rms, event.data.loudForMs, event.data.endFrame);
    };
  }

  static async create(context: AudioContext): Promise<Playback> {
    await context.audioWorklet.addModule(mixerWorkletUrl);
    const mixer = new AudioWorkletNode(context, 'voice-mixer', {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
    });
    return new Playback(context, mixer);
  }

  receive(frame: AudioFrame): void {
    let speaker = this.speakers.get(frame.streamId);
    if (!speaker) {
      const stream = frame.streamId;
      speaker = new Speaker(
        stream,
        (id, sequence, timestamp, samples, traced) =>
          this.mixer.port.postMessage({ type: 'pcm', id, sequence, timestamp, samples, traced }, [samples.buffer]),
        this.traces,
      );
      this.speakers.set(stream, speaker);
      const gain = this.gains.get(stream);
      if (gain !== undefined) this.mixer.port.postMessage({ type: 'gain', id: stream, gain });
    }
    speaker.receive(frame, performance.now());
  }

  private tick(rms: number, loudForMs: number | null, endFrame: number): void {
    this.ticks++;
    const atMs = wallMs();
    this.clocked.push({ audioMs: (endFrame * 1000) / this.context.sampleRate, arrivedMs: atMs, loudForMs });
    if (this.clocked.length > RMS_HISTORY) this.clocked.shift();
    this.history.push({ atMs, rms, loudAtMs: loudForMs === null ? null : atMs - loudForMs });
    if (this.history.length > RMS_HISTORY) this.history.shift();
    const now = performance.now();
    for (const [stream, speaker] of this.speakers) {
      if (now - speaker.stats().lastFrameAtMs > IDLE_SPEAKER_MS) {
        speaker.close();
        this.speakers.delete(stream);
        this.mixer.port.postMessage({ type: 'remove', id: stream });
      }
    }
  }

  /** Per-participant volume, 0..2 (1 = as sent). */
  setVolume(stream: number, gain: number): void {
    this.gains.set(stream, gain);
    this.mixer.port.postMessage({ type: 'gain', id: stream, gain });
  }

  setMasterVolume(gain: number): void {
    this.mixer.port.postMessage({ type: 'master', gain });
  }

  removeStream(stream: number): void {
    this.speakers.get(stream)?.close();
    this.speakers.delete(stream);
    this.mixer.port.postMessage({ type: 'remove', id: stream });
  }

  /** Linear loudness of a stream's newest frame, or 0 when it has gone quiet. */
  loudness(stream: number): number {
    const stats = this.speakers.get(stream)?.stats();
    if (!stats || performance.now() - stats.lastFrameAtMs > 300) return 0;
    return stats.loudness;
  }

  stats(): PlaybackStats {
    const speakers: Record<number, SpeakerStats> = {};
    for (const [stream, speaker] of this.speakers) speakers[stream] = { ...(this.playout[stream] ?? NO_PLAYOUT), ...speaker.stats() };
    return { speakers, ticks: this.ticks };
  }

  /** The largest current playout delay among speakers that are playing, or null if none is. */
  playoutDelayMs(): number | null {
    const playing = Object.values(this.playout).filter((s) => s.playing);
    return playing.length ? Math.max(...playing.map((s) => s.playoutDelayMs)) : null;
  }

  /** Onsets seen in decoded frames (for the latency budget). */
  receiveTraces(): ReceiveTrace[] {
    return this.traces.list();
  }

  /** RMS of the mixed output over the last `ms` (20 ms resolution). */
  recentOutputRms(ms = 500): number {
    const n = Math.max(1, Math.min(this.history.length, Math.round(ms / 20)));
    const slice = this.history.slice(-n);
    if (slice.length === 0) return 0;
    return Math.sqrt(slice.reduce((sum, t) => sum + t.rms * t.rms, 0) / slice.length);
  }

  /** The last few seconds of output ticks. */
  outputTicks(): OutputTick[] {
    return this.history.slice();
  }

  /**
   * Wall-clock time the mixer first played a loud sample at or after `sinceMs`, timed on the
   * audio clock (onset.ts firstLoudOnAudioClock; known 200 ms of ticks later), plus the
   * context's own output latency (what is still between the mixer and the speaker); null if
   * it has not (yet).
   */
  firstLoudAfter(sinceMs: number): number | null {
    const loudAt = firstLoudOnAudioClock(this.clocked, sinceMs);
    return loudAt === null ? null : loudAt + this.outputLatencyMs();
  }

  outputLatencyMs(): number {
    const context = this.context as AudioContext & { outputLatency?: number };
    return ((context.baseLatency ?? 0) + (context.outputLatency ?? 0)) * 1000;
  }

  dominantFrequency(): number | null {
    const spectrum = new Float32Array(this.analyser.frequencyBinCount);
    this.analyser.getFloatFrequencyData(spectrum);
    return dominantFrequency(spectrum, this.context.sampleRate, this.analyser.fftSize);
  }

  close(): void {
    for (const speaker of this.speakers.values()) speaker.close();
    this.speakers.clear();
    this.mixer.disconnect();
    this.analyser.disconnect();
  }
}
