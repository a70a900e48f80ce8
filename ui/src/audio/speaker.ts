// One remote speaker: its jitter buffer, its Opus decoder, and concealment, producing 20 ms of
// PCM per playout tick in order (decoding is asynchronous, concealment is not, so each tick
// takes a slot and slots are released to the mixer strictly in order).

import type { AudioFrame } from '../protocol/frame';
import { concealFrame } from './conceal';
import { JitterBuffer, type JitterStats } from './jitterBuffer';
import { levelToLinear } from './level';

export const SAMPLE_RATE = 48000;
export const FRAME_SAMPLES = 960;
export const OPUS_DECODER_CONFIG: AudioDecoderConfig = { codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1 };

type Slot = { kind: 'pending' } | { kind: 'pcm'; samples: Float32Array } | { kind: 'conceal'; n: number };

export interface SpeakerStats extends JitterStats {
  decodeErrors: number;
  /** Linear loudness of the newest frame's header level, for speaking rings. */
  loudness: number;
  lastFrameAtMs: number;
}

export class Speaker {
  private readonly jitter = new JitterBuffer<AudioFrame>();
  private decoder: AudioDecoder;
  private readonly slots: Slot[] = [];
  private lastPcm: Float32Array | null = null;
  private concealRun = 0;
  private decodeErrors = 0;
  private loudness = 0;
  private lastFrameAtMs = 0;

  constructor(
    readonly stream: number,
    private readonly emit: (samples: Float32Array) => void,
  ) {
    this.decoder = this.createDecoder();
  }

  private createDecoder(): AudioDecoder {
    const decoder = new AudioDecoder({
      output: (data) => this.decoded(data),
      error: (e) => {
        this.decodeErrors++;
        console.warn(`decoder for stream ${this.stream} failed`, e);
        // A closed decoder decodes nothing more: start a fresh one for the next frames.
        queueMicrotask(() => {
          if (this.decoder.state === 'closed') {
            this.decoder = this.createDecoder();
            this.failPending();
          }
        });
      },
    });
    decoder.configure(OPUS_DECODER_CONFIG);
    return decoder;
  }

  /** From the network, any time. */
  receive(frame: AudioFrame, nowMs: number): void {
    this.jitter.push(frame, nowMs);
    this.loudness = levelToLinear(frame.level);
    this.lastFrameAtMs = nowMs;
  }

  /** One playout tick: 20 ms of audio clock has passed. */
  tick(nowMs: number): void {
    const next = this.jitter.pop(nowMs);
    if (next.kind === 'idle') {
      this.concealRun = 0;
      return;
    }
    if (next.kind === 'conceal') {
      this.concealRun++;
      this.slots.push({ kind: 'conceal', n: this.concealRun });
      this.flush();
      return;
    }
    this.concealRun = 0;
    const frame = next.frame;
    if (frame.payload.length === 0) {
      // An empty payload is DTX silence by the protocol; nothing to decode.
      this.slots.push({ kind: 'pcm', samples: new Float32Array(FRAME_SAMPLES) });
      this.flush();
      return;
    }
    this.slots.push({ kind: 'pending' });
    try {
      this.decoder.decode(
        new EncodedAudioChunk({ type: 'key', timestamp: (frame.timestamp * 1e6) / SAMPLE_RATE, data: frame.payload }),
      );
    } catch (e) {
      this.decodeErrors++;
      this.failPending();
    }
  }

  private decoded(data: AudioData): void {
    const samples = new Float32Array(data.numberOfFrames);
    data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
    data.close();
    const index = this.slots.findIndex((s) => s.kind === 'pending');
    if (index < 0) return;
    this.slots[index] = { kind: 'pcm', samples };
    this.flush();
  }

  /** Turns every undecodable slot into concealment so the queue keeps moving. */
  private failPending(): void {
    for (let i = 0; i < this.slots.length; i++) {
      if (this.slots[i].kind === 'pending') this.slots[i] = { kind: 'conceal', n: 1 };
    }
    this.flush();
  }

  private flush(): void {
    while (this.slots.length && this.slots[0].kind !== 'pending') {
      const slot = this.slots.shift()!;
      if (slot.kind === 'pcm') {
        this.lastPcm = slot.samples;
        this.emit(slot.samples);
      } else if (slot.kind === 'conceal') {
        this.emit(concealFrame(this.lastPcm, slot.n, FRAME_SAMPLES));
      }
    }
  }

  stats(): SpeakerStats {
    return { ...this.jitter.stats(), decodeErrors: this.decodeErrors, loudness: this.loudness, lastFrameAtMs: this.lastFrameAtMs };
  }

  close(): void {
    if (this.decoder.state !== 'closed') this.decoder.close();
  }
}
