// The audio side of a room, apart from any view: capture → encoder → network, and
// network → playback. Also installs the debug hook the end-to-end tests read.

import type { AudioFrame } from '../protocol/frame';
import { Capture } from './capture';
import { audioContextOptions } from './contextOptions';
import type { EncodedFrameSink } from './encoder';
import { Playback, type OutputTick, type PlaybackStats } from './playback';
import type { ReceiveTrace, SendTrace } from './trace';

export interface VoiceChatDebug {
  stats(): PlaybackStats & {
    sent: number;
    sending: boolean;
    micLevel: number;
    contextState: string;
    sender: { encoded: number; errors: number; unmatched: number };
    /** The largest playout delay among playing speakers (ms), or null. */
    playoutDelayMs: number | null;
    /** What the context says is between the mixer and the speaker (ms). */
    outputLatencyMs: number;
  };
  /** Onset traces for the latency budget: frames sent here, frames received here. */
  traces(): { sent: SendTrace[]; received: ReceiveTrace[] };
  recentOutputRms(ms?: number): number;
  dominantFrequency(): number | null;
  /** Last ~5 s of mixed output, one entry per 20 ms, with wall-clock times (onset.ts wallMs). */
  outputTicks(): OutputTick[];
  /** When the output first went loud at or after a wall-clock time (output latency included). */
  firstLoudAfter(sinceMs: number): number | null;
  /** Adds a tone to the mic for `durationMs`; returns its wall-clock start, or null with no mic. */
  injectTone(frequency: number, durationMs: number, amplitude?: number): number | null;
}

declare global {
  interface Window {
    __voiceChat?: VoiceChatDebug;
  }
}

type SinkableContext = AudioContext & { setSinkId?: (id: string) => Promise<void> };


export class AudioEngine {
  private capture: Capture | null = null;
  private sending = false;
  private streamId: number | null = null;
  /** The open mic went away; the owner decides whether to reopen another. */
  onMicLost: (() => void) | null = null;

  private constructor(
    readonly context: AudioContext,
    readonly playback: Playback,
    private readonly sink: EncodedFrameSink,
  ) {}

  /** `lowestLatency`: the smallest device buffer the browser allows (contextOptions.ts). */
  static async create(sink: EncodedFrameSink, lowestLatency = true): Promise<AudioEngine> {
    if (typeof AudioEncoder === 'undefined' || typeof AudioDecoder === 'undefined') {
      throw new Error('This browser has no WebCodecs audio support; use a current Chromium, Chrome, Edge or Safari.');
    }
    const support = await AudioEncoder.isConfigSupported({ codec: 'opus', sampleRate: 48000, numberOfChannels: 1 });
    if (!support.supported) throw new Error('This browser cannot encode Opus with WebCodecs.');
    const context = new AudioContext(audioContextOptions(lowestLatency));
    const playback = await Playback.create(context);
    const engine = new AudioEngine(context, playback, sink);
    engine.installDebugHook();
    return engine;
  }

  private installDebugHook(): void {
    if (import.meta.env.MODE !== 'test-hooks') return; // test builds only (`vite build --mode test-hooks`)
    window.__voiceChat = {
      stats: () => ({
        ...this.playback.stats(),
        sent: this.capture?.encoder.encoded ?? 0,
        sending: this.sending,
        micLevel: this.capture?.encoder.level ?? 127,
        contextState: this.context.state,
        sender: this.senderStats(),
        playoutDelayMs: this.playback.playoutDelayMs(),
        outputLatencyMs: this.playback.outputLatencyMs(),
      }),
      traces: () => ({ sent: this.capture?.encoder.traces.list() ?? [], received: this.playback.receiveTraces() }),
      recentOutputRms: (ms) => this.playback.recentOutputRms(ms),
      dominantFrequency: () => this.playback.dominantFrequency(),
      outputTicks: () => this.playback.outputTicks(),
      firstLoudAfter: (sinceMs) => this.playback.firstLoudAfter(sinceMs),
      injectTone: (frequency, durationMs, amplitude) => this.injectTone(frequency, durationMs, amplitude),
    };
  }

  /** Browsers start an AudioContext suspended until a user gesture. */
  async resume(): Promise<void> {
    if (this.context.state !== 'running') await this.context.resume();
  }

  get suspended(): boolean {
    return this.context.state !== 'running';
  }

  async startMic(deviceId?: string, voiceProcessing = true): Promise<void> {
    this.capture?.stop();
    this.capture = null;
    this.capture = await Capture.start(this.context, this.sink, deviceId, voiceProcessing);
    this.capture.onLost = () => {
      this.stopMic();
      this.onMicLost?.();
    };
    if (this.streamId !== null) this.capture.encoder.setStreamId(this.streamId);
    this.capture.encoder.setSending(this.sending);
  }

  injectTone(frequency: number, durationMs: number, amplitude?: number): number | null {
    return this.capture ? this.capture.injectTone(frequency, durationMs, amplitude) : null;
  }

  stopMic(): void {
    this.capture?.stop();
    this.capture = null;
  }

  get micOpen(): boolean {
    return this.capture !== null;
  }

  /** Sender-side numbers: frames encoded, encoder errors, chunks not matched to their input. */
  senderStats(): { encoded: number; errors: number; unmatched: number } {
    const e = this.capture?.encoder;
    return { encoded: e?.encoded ?? 0, errors: e?.errors ?? 0, unmatched: e?.unmatched ?? 0 };
  }

  get micLevel(): number {
    return this.capture?.encoder.level ?? 127;
  }

  setStreamId(id: number): void {
    this.streamId = id;
    this.capture?.encoder.setStreamId(id);
  }

  /** Mute, push-to-talk and role all end here: false means no frame leaves. */
  setSending(sending: boolean): void {
    this.sending = sending;
    this.capture?.encoder.setSending(sending);
  }

  receive(frame: AudioFrame): void {
    // Mix-minus is the server's job, but never play our own stream back should one arrive.
    if (frame.streamId === this.streamId) return;
    this.playback.receive(frame);
  }

  async setOutputDevice(deviceId: string): Promise<boolean> {
    const context = this.context as SinkableContext;
    if (!context.setSinkId) return false;
    await context.setSinkId(deviceId);
    return true;
  }

  static canChooseOutput(): boolean {
    return 'setSinkId' in AudioContext.prototype;
  }

  async close(): Promise<void> {
    this.stopMic();
    this.playback.close();
    if (import.meta.env.MODE === 'test-hooks') delete window.__voiceChat;
    await this.context.close();
  }
}
