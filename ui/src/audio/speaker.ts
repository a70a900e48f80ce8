// One remote speaker on the main thread: its Opus decoder. Frames are decoded the moment they
// arrive and posted, with their sequence number and timestamp, to the mixer worklet, where the
// speaker's one receive buffer (playout.ts) puts them in order, steers the delay and conceals.

import type { AudioFrame } from '../protocol/frame';
import { levelToLinear } from './level';
import { firstLoud, wallMs } from './onset';
import type { ReceiveTrace, TraceRing } from './trace';

export const SAMPLE_RATE = 48000;
export const FRAME_SAMPLES = 960;
export const OPUS_DECODER_CONFIG: AudioDecoderConfig = { codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1 };

export interface DecoderStats {
  decodeErrors: number;
  /** Time from decode() to the decoded PCM, smoothed. */
  decodeMs: number;
  /** Linear loudness of the newest frame's header level, for speaking rings. */
  loudness: number;
  lastFrameAtMs: number;
}

/** Where decoded PCM goes: the mixer worklet's port. */
/** `traced`: a sound starts in this frame (its receive trace was just noted). */
export type PcmSink = (stream: number, sequence: number, timestamp: number, samples: Float32Array, traced: boolean) => void;

interface Pending {
  sequence: number;
  timestamp: number;
  receivedAtMs: number;
}

export class Speaker {
  private decoder: AudioDecoder;
  /** Frames handed to the decoder, in order: its outputs come back in the same order. */
  private readonly pending: Pending[] = [];
  private decodeErrors = 0;
  private decodeMs = 0;
  private loudness = 0;
  private lastFrameAtMs = 0;
  private wasLoud = false;

  constructor(
    readonly stream: number,
    private readonly sink: PcmSink,
    private readonly traces: TraceRing<ReceiveTrace>,
  ) {
    this.decoder = this.createDecoder();
  }

  private createDecoder(): AudioDecoder {
    const decoder = new AudioDecoder({
      output: (data) => this.decoded(data),
      error: (e) => {
        this.decodeErrors++;
        console.warn(`decoder for stream ${this.stream} failed`, e);
        // A closed decoder decodes nothing more: start a fresh one for the next frames. What it
        // still held is concealed by the playout buffer.
        queueMicrotask(() => {
          if (this.decoder.state === 'closed') {
            this.pending.length = 0;
            this.decoder = this.createDecoder();
          }
        });
      },
    });
    decoder.configure(OPUS_DECODER_CONFIG);
    return decoder;
  }

  /** From the network, any time: decoded at once. */
  receive(frame: AudioFrame, nowMs: number): void {
    this.loudness = levelToLinear(frame.level);
    this.lastFrameAtMs = nowMs;
    if (frame.payload.length === 0) {
      // An empty payload is DTX silence by the protocol; nothing to decode.
      this.sink(this.stream, frame.sequence, frame.timestamp, new Float32Array(FRAME_SAMPLES), false);
      return;
    }
    if (this.decoder.state !== 'configured') return;
    this.pending.push({ sequence: frame.sequence, timestamp: frame.timestamp, receivedAtMs: wallMs() });
    try {
      this.decoder.decode(
        new EncodedAudioChunk({ type: 'key', timestamp: (frame.timestamp * 1e6) / SAMPLE_RATE, data: frame.payload }),
      );
    } catch {
      this.decodeErrors++;
      this.pending.pop();
    }
  }

  private decoded(data: AudioData): void {
    const samples = new Float32Array(data.numberOfFrames);
    data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
    data.close();
    const info = this.pending.shift();
    if (!info) return;
    const now = wallMs();
    this.decodeMs += (now - info.receivedAtMs - this.decodeMs) / 16;
    const loud = firstLoud(samples) >= 0;
    const onset = loud && !this.wasLoud;
    if (onset) {
      this.traces.push({ stream: this.stream, sequence: info.sequence, receivedAtMs: info.receivedAtMs, decodedAtMs: now });
    }
    this.wasLoud = loud;
    this.sink(this.stream, info.sequence, info.timestamp, samples, onset);
  }

  stats(): DecoderStats {
    return { decodeErrors: this.decodeErrors, decodeMs: this.decodeMs, loudness: this.loudness, lastFrameAtMs: this.lastFrameAtMs };
  }

  close(): void {
    if (this.decoder.state !== 'closed') this.decoder.close();
  }
}
