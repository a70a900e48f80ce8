// Mic PCM frames → Opus (WebCodecs) → protocol frames with level and VOICE/MARKER flags.

import { encodeAudioFrame, FLAG_MARKER, FLAG_VOICE } from '../protocol/frame';
import { audioLevel, isVoice } from './level';
import { wallMs } from './onset';
import { TraceRing, type SendTrace } from './trace';

export const OPUS_ENCODER_CONFIG: AudioEncoderConfig = {
  codec: 'opus',
  sampleRate: 48000,
  numberOfChannels: 1,
  bitrate: 32000,
  // 20 ms frames as the protocol fixes. No in-band FEC: WebCodecs gives the receiver no way to
  // decode it, so its bits would be wasted.
  opus: { frameDuration: 20000 },
} as AudioEncoderConfig;

export interface EncodedFrameSink {
  (bytes: Uint8Array<ArrayBuffer>): void;
}

interface Pending {
  level: number;
  timestamp: number;
  marker: boolean;
  /** A sound starts in this frame: trace it (wall-clock ms it reached the main thread). */
  onsetAtMs: number | null;
}

export class VoiceEncoder {
  private encoder: AudioEncoder;
  private sending = false;
  private markerDue = true;
  private sequence = 0;
  private streamId = 0;
  /**
   * Captured frames awaiting their encoded chunk. Each 960-sample input gives exactly one
   * 20 ms packet, in order; the chunk's own timestamp cannot be used to match, since Chromium
   * renumbers it from its own counter after a pause and rounds it by a microsecond.
   */
  private readonly pending: Pending[] = [];
  private lastLevel = 127;
  readonly traces = new TraceRing<SendTrace>();
  encoded = 0;
  errors = 0;
  /** Chunks that arrived with no captured frame waiting (their level is estimated). */
  unmatched = 0;

  constructor(private readonly sink: EncodedFrameSink) {
    this.encoder = this.create();
  }

  private create(): AudioEncoder {
    const encoder = new AudioEncoder({
      output: (chunk) => this.output(chunk),
      error: (e) => {
        this.errors++;
        console.warn('Opus encoder failed; starting a new one', e);
        queueMicrotask(() => {
          if (this.encoder.state === 'closed') {
            this.pending.length = 0;
            this.encoder = this.create();
          }
        });
      },
    });
    encoder.configure(OPUS_ENCODER_CONFIG);
    return encoder;
  }

  setStreamId(id: number): void {
    this.streamId = id;
  }

  /** Mute and push-to-talk: when false, nothing is encoded or sent. */
  setSending(sending: boolean): void {
    if (sending && !this.sending) this.markerDue = true;
    this.sending = sending;
  }

  get isSending(): boolean {
    return this.sending;
  }

  /** The mic level of the last captured frame, sent or not (for the local meter). */
  get level(): number {
    return this.lastLevel;
  }

  /**
   * One 20 ms mono frame at 48 kHz; `start` is its first sample on the capture clock; `onset`
   * marks a frame in which a sound starts (traced for the latency budget).
   */
  push(samples: Float32Array<ArrayBuffer>, start: number, onset = false): void {
    const arrivedAtMs = onset ? wallMs() : null;
    const level = audioLevel(samples);
    this.lastLevel = level;
    if (!this.sending || this.encoder.state !== 'configured') return;
    // Drop rather than queue when the encoder falls behind: late audio is worthless.
    if (this.encoder.encodeQueueSize > 3) return;
    const timestampUs = Math.round((start * 1e6) / 48000);
    this.pending.push({ level, timestamp: start >>> 0, marker: this.markerDue, onsetAtMs: arrivedAtMs });
    this.markerDue = false;
    const data = new AudioData({
      format: 'f32-planar',
      sampleRate: 48000,
      numberOfFrames: samples.length,
      numberOfChannels: 1,
      timestamp: timestampUs,
      data: samples,
    });
    this.encoder.encode(data);
    data.close();
  }

  private output(chunk: EncodedAudioChunk): void {
    const info = this.pending.shift();
    if (!info) this.unmatched++;
    const payload = new Uint8Array(chunk.byteLength);
    chunk.copyTo(payload);
    const level = info?.level ?? this.lastLevel;
    let flags = isVoice(level) ? FLAG_VOICE : 0;
    if (info?.marker) flags |= FLAG_MARKER;
    const frame = encodeAudioFrame({
      flags,
      streamId: this.streamId,
      sequence: this.sequence,
      timestamp: info?.timestamp ?? Math.round((chunk.timestamp * 48000) / 1e6) >>> 0,
      level,
      payload,
    });
    const sequence = this.sequence;
    this.sequence = (this.sequence + 1) >>> 0;
    this.encoded++;
    const encodedAtMs = info?.onsetAtMs != null ? wallMs() : 0;
    this.sink(frame);
    if (info?.onsetAtMs != null) {
      this.traces.push({ sequence, frameAtMs: info.onsetAtMs, encodedAtMs, sentAtMs: wallMs() });
    }
  }

  close(): void {
    if (this.encoder.state !== 'closed') this.encoder.close();
  }
}
